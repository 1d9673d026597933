//! What a `check` run does, as plain data: which specs, against what, with which settings.
//! Built by the CLI from its arguments, or directly by tests and other callers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use crate::server::{Fault, HashCost};
use crate::spec::LoadedSpec;

/// Where the cases are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An API under test, by base URL (every spec runs against it).
    Url(String),
    /// Per spec, a reference server of the spec's dialect started in-process on a free port.
    Embedded {
        faults: Vec<Fault>,
        hash_cost: HashCost,
    },
}

impl Target {
    /// The embedded reference servers without faults, at the low hash cost.
    pub fn embedded() -> Target {
        Target::Embedded {
            faults: Vec::new(),
            hash_cost: HashCost::Low,
        }
    }
}

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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(10),
            concurrency: 8,
            max_body: 4 * 1024 * 1024,
            strict: false,
        }
    }
}

/// A whole run: specs in report order, the target, variable overrides and settings.
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
        }
    }

    /// Fills [`CheckPlan::env`] from the process environment, for the `env` names the specs use.
    pub fn read_process_env(&mut self) {
        for loaded in &self.specs {
            for var in loaded.spec.variables.values() {
                if let Some(name) = &var.env {
                    if let Ok(value) = std::env::var(name) {
                        self.env.insert(name.clone(), value);
                    }
                }
            }
        }
    }

    /// The fault names of an embedded target (for reports).
    pub fn fault_names(&self) -> Vec<String> {
        match &self.target {
            Target::Embedded { faults, .. } => {
                faults.iter().map(|f| f.as_str().to_owned()).collect()
            }
            Target::Url(_) => Vec::new(),
        }
    }
}
