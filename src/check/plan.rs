//! What a `check` run does, as plain data: which specs, against what, with which settings.
//! Built by the CLI from its arguments, or directly by tests and other callers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use crate::spec::profile::AppliedProfile;
use crate::spec::LoadedSpec;
use crate::tls::ClientTls;

pub use crate::target::Target;

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Timeout of one HTTP exchange (connect, headers and body).
    pub timeout: Duration,
    /// How many cases of one spec run at once (at least 1).
    pub concurrency: usize,
    /// Largest response body read, in bytes.
    pub max_body: usize,
    /// Count `should` cases as failures too.
    pub strict: bool,
    /// Probe a `Target::Url` once before the cases (`GET` of the base URL): when it does not
    /// answer, no case runs and the run's verdict is `error`.
    pub probe: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(10),
            concurrency: 8,
            max_body: 4 * 1024 * 1024,
            strict: false,
            probe: true,
        }
    }
}

/// A whole run: specs in report order, the target, variable overrides, settings and TLS.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub specs: Vec<Arc<LoadedSpec>>,
    pub target: Target,
    /// `--var NAME=VALUE` overrides (applied to every spec that has the variable).
    pub vars: IndexMap<String, String>,
    /// Environment values the spec variables' `env` names read (the CLI fills it from the process
    /// environment; tests pass their own so that runs are reproducible).
    pub env: HashMap<String, String>,
    pub options: RunOptions,
    /// How the client speaks TLS to a `Target::Url` (`--cacert`, `--insecure`, `--http1`,
    /// `--resolve`); the default verifies against the system's roots. Embedded targets speak
    /// plain HTTP, where only `resolve` and `http1_only` could matter.
    pub tls: ClientTls,
    /// The target profile applied to one of the specs (its skipped cases are not run).
    pub profile: Option<AppliedProfile>,
}

impl CheckPlan {
    /// A plan with no overrides, an empty environment and default options.
    pub fn new(specs: Vec<LoadedSpec>, target: Target) -> CheckPlan {
        CheckPlan {
            specs: specs.into_iter().map(Arc::new).collect(),
            target,
            vars: IndexMap::new(),
            env: HashMap::new(),
            options: RunOptions::default(),
            tls: ClientTls::default(),
            profile: None,
        }
    }

    /// The environment variable names the specs' variables read (`env`), for the caller to fill
    /// [`CheckPlan::env`] from.
    pub fn env_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .specs
            .iter()
            .flat_map(|l| l.spec.variables.values())
            .filter_map(|v| v.env.clone())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The fault names of an embedded target (for reports).
    pub fn fault_names(&self) -> Vec<String> {
        self.target.fault_names()
    }
}
