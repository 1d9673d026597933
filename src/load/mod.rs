//! Load runs: builds goose scenarios from `scenarios/*.json`, runs a `GooseAttack` configured
//! from code (never from argv), collects metrics and evaluates thresholds.
//!
//! Data flows one way: [`scenario`] (file → checked scenario) → [`compile`] (→ request plans)
//! → [`runner`] (goose) → [`results`] (plain data) → [`threshold`] (verdict) → [`report`].
//! See `docs/load.md`.

pub mod cli;
pub mod compile;
pub mod control;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenario;
mod semantic;
pub mod threshold;

pub use results::{LoadResults, Verdict};
pub use scenario::{lint_scenario_file, load_scenario, LoadedScenario, Scenario, ScenarioError};
pub use threshold::{Threshold, ThresholdError};
