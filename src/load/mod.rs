//! Load runs: builds goose scenarios from `scenarios/*.json`, runs a `GooseAttack` configured
//! from code (never from argv), collects metrics and evaluates thresholds.
//!
//! Data flows one way: [`scenario`] (file → checked scenario) → [`plan`] (what to run) →
//! [`run`] (the engine: [`compile`] → [`runner`] (goose) → [`results`] (plain data) →
//! [`threshold`] (verdict)) → [`report`]. See `docs/load.md`.

pub mod accounts;
pub mod arrival;
pub mod capacity;
pub mod capacity_report;
pub mod compile;
pub mod html;
pub mod junit;
pub mod loader;
mod logger;
pub mod merge;
pub mod plan;
pub mod record;
pub mod report;
pub mod results;
pub mod run;
pub mod runner;
pub mod scenario;
mod semantic;
pub mod server_count;
pub mod shard;
pub mod threshold;

pub use loader::{lint_scenario_file, load_scenario, load_scenario_named, ScenarioError};
pub use plan::{Bounds, LoadPlan, OpenModel};
pub use results::{LoadResults, Verdict};
pub use run::{run, LoadError, LoadOutcome, Observer, Silent};
pub use scenario::{LoadedScenario, Scenario};
pub use threshold::{Threshold, ThresholdError};
