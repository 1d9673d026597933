//! What a `load` run does, as plain data: the scenario, the target, the shape of the load, the
//! thresholds. Built by the CLI from its arguments, or directly by tests and other callers.

use std::collections::HashMap;
use std::time::Duration;

use indexmap::IndexMap;

use super::arrival::{Schedule, Stage};
use super::scenario::LoadedScenario;
use super::threshold::Threshold;
pub use crate::target::Target;
use crate::tls::ClientTls;

/// Users started when neither the command line nor the scenario says.
pub use super::scenario::DEFAULT_USERS;

/// Timeout of one request unless the plan sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The open model of a run: iterations start at the times of one shared arrival schedule, served
/// by the plan's users as a pool (k6's `maxVUs`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenModel {
    /// The arrival rate's stages, warm-up included; the run lasts as long as they do.
    pub stages: Vec<Stage>,
    /// The first part of the schedule, not measured.
    pub warmup: Duration,
    /// Whether dropped arrivals (no free user) are allowed; else they fail the run.
    pub allow_dropped: bool,
}

impl OpenModel {
    /// The schedule of arrivals.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            stages: self.stages.clone(),
        }
    }
}

/// How long a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Whole seconds of the measured window (goose counts whole seconds); with `iterations`, a
    /// watchdog that ends the run when they have not.
    pub run_time: Option<u64>,
    /// Flow iterations per user.
    pub iterations: Option<usize>,
}

/// A whole load run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub scenario: LoadedScenario,
    pub target: Target,
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    pub bounds: Bounds,
    /// `None`: the closed model (each user starts its next iteration when the last ended).
    pub open: Option<OpenModel>,
    /// The scenario's thresholds and the command line's, already checked against the scenario.
    pub thresholds: Vec<Threshold>,
    /// `--var NAME=VALUE` overrides.
    pub vars: IndexMap<String, String>,
    /// Environment values the spec variables' `env` names read (the CLI fills it).
    pub env: HashMap<String, String>,
    /// Timeout of one request; also bounds the probe, and the run ends at most this long (plus
    /// 2 s) after ramp-up and the measured window.
    pub timeout: Duration,
    /// With no threshold of the scenario's or the command line's, judge the run by the
    /// default gate ([`super::threshold::default_gate`]).
    pub default_gate: bool,
    /// TLS settings of the users' client (and the probe's).
    pub tls: ClientTls,
    /// An outside target's Prometheus page and login counter (`URL`, `NAME`), read before and
    /// after the run to compare the server's count of logins with ours. Embedded runs always
    /// compare with the reference server's own counters.
    pub server_metrics: Option<(String, String)>,
    /// A distributed run's shard, account rows and common start (`load::shard`); empty for a
    /// run on its own. `users` is then this shard's share.
    pub distribution: super::shard::Distribution,
}

impl LoadPlan {
    /// A plan of `users` users for `run_time` seconds against `target`, at the scenario's hatch
    /// rate (or all users at once), with the scenario's thresholds; no overrides.
    pub fn new(
        scenario: LoadedScenario,
        target: Target,
        users: usize,
        run_time: u64,
    ) -> Result<LoadPlan, super::threshold::ThresholdError> {
        let thresholds =
            super::threshold::parse_all(&scenario.scenario.thresholds, &scenario.request_names())
                .map_err(|mut es| es.remove(0))?;
        Ok(LoadPlan {
            hatch_rate: scenario.scenario.hatch_rate.unwrap_or(users.max(1) as f64),
            scenario,
            target,
            users,
            bounds: Bounds {
                run_time: Some(run_time),
                iterations: None,
            },
            open: None,
            thresholds,
            vars: IndexMap::new(),
            env: HashMap::new(),
            timeout: DEFAULT_TIMEOUT,
            default_gate: true,
            tls: ClientTls::default(),
            server_metrics: None,
            distribution: super::shard::Distribution::default(),
        })
    }

    /// Seconds goose takes to start every user (`users / hatch_rate`, rounded up).
    pub fn ramp_up_secs(&self) -> u64 {
        if self.hatch_rate > 0.0 {
            (self.users as f64 / self.hatch_rate).ceil() as u64
        } else {
            0
        }
    }

    /// How long the run is planned to last: ramp-up and the measured window (`None` when only
    /// iterations bound it).
    pub fn planned(&self) -> Option<Duration> {
        self.bounds
            .run_time
            .map(|secs| Duration::from_secs(self.ramp_up_secs() + secs))
    }

    /// No request is sent, and none is waited for, past this long after the attack starts: the
    /// planned time plus one request timeout for the requests still in flight.
    pub fn deadline(&self) -> Option<Duration> {
        self.planned().map(|p| p + self.timeout)
    }

    /// The longest the run may take whatever the target does: the deadline and 2 s to stop.
    pub fn bound(&self) -> Option<Duration> {
        self.deadline().map(|d| d + Duration::from_secs(2))
    }

    /// The environment variable names the spec's variables read.
    pub fn env_names(&self) -> Vec<String> {
        self.scenario
            .spec
            .spec
            .variables
            .values()
            .filter_map(|v| v.env.clone())
            .collect()
    }
}
