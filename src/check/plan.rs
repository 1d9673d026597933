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
    /// Only the cases whose id matches one of these (`*` matches any run of characters); empty:
    /// every case.
    pub cases: Vec<String>,
    /// Only the cases carrying one of these tags (`--tag owasp`); empty: every case. A case
    /// tagged `intrusive` runs against an outside target only when this names `intrusive`.
    pub tags: Vec<String>,
    /// Stop at the first counted case that fails or errors; the cases not started are skipped.
    pub fail_fast: bool,
    /// After this many cases in a row end on a transport error (refused, reset, timeout) without
    /// any response, the rest of that spec's cases are not run and the spec is an error
    /// ("target stopped answering"); 0 turns it off.
    pub max_transport_errors: usize,
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
            cases: Vec::new(),
            tags: Vec::new(),
            fail_fast: false,
            max_transport_errors: 3,
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

/// Whether case `id` matches `pattern` (`*` matches any run of characters, nothing else is special).
pub fn case_matches(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == id;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !id.starts_with(first) || !id[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &id[first.len()..id.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

impl RunOptions {
    /// Whether case `id` is selected by [`RunOptions::cases`].
    pub fn selects(&self, id: &str) -> bool {
        self.cases.is_empty() || self.cases.iter().any(|p| case_matches(p, id))
    }

    /// Whether the case is selected by [`RunOptions::cases`] and [`RunOptions::tags`].
    pub fn selects_case(&self, case: &crate::spec::Case) -> bool {
        self.selects(&case.id)
            && (self.tags.is_empty() || case.tags.iter().any(|t| self.tags.contains(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_ids() {
        assert!(case_matches("login-ok", "login-ok"));
        assert!(!case_matches("login-ok", "login-ok-jwt"));
        assert!(case_matches("login-*", "login-ok-jwt"));
        assert!(case_matches("*-403", "delete-other-session-403"));
        assert!(case_matches("*if-match*", "user-list-if-match"));
        assert!(case_matches("a*b*c", "axxbyyc"));
        assert!(!case_matches("a*b*c", "axxcyyb"));
        assert!(!case_matches("ab*ba", "aba"));
        let o = RunOptions::default();
        assert!(o.selects("anything"));
    }
}
