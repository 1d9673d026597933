//! The conformance engine: runs spec cases against a target and produces [`outcome`]s.
//!
//! [`plan::CheckPlan`] (what to run) → [`runner::run`] (cases concurrently, steps in order,
//! each response judged by the pure functions of [`checks`]) → [`outcome::RunOutcome`] (redacted
//! data, the input of every report writer) → [`verdict`] (the one rule every report and the exit
//! code follow).

pub mod attack;
pub mod case;
pub mod checks;
pub mod client;
pub mod evaluate;
pub mod finalize;
pub mod outcome;
pub mod plan;
pub mod repro;
pub mod runner;
pub mod verdict;

pub use crate::stop::{stop_channel, Stop, StopHandle, StopReason};
pub use client::{probe, HttpClient};
pub use plan::{CheckPlan, RunOptions, Target};
pub use runner::{run, run_specs, Progress, Quiet};
