//! The conformance engine: runs spec cases against a target and produces [`outcome`]s.
//!
//! [`plan::CheckPlan`] (what to run) → [`runner::run_specs`] (cases concurrently, steps in order,
//! each response judged by the pure functions of [`checks`]) → [`outcome::RunOutcome`] (redacted
//! data, the input of every report writer). [`cli`] is the `sessionspec check` command on top.

pub mod case;
pub mod checks;
pub mod cli;
pub mod client;
pub mod evaluate;
pub mod finalize;
pub mod outcome;
pub mod plan;
pub mod runner;
pub mod stop;

pub use client::{probe, HttpClient};
pub use plan::{CheckPlan, RunOptions, Target};
pub use runner::{run_specs, run_specs_with, Progress, Quiet};
pub use stop::{stop_channel, Stop, StopHandle};
