//! Counts and verdicts computed from a [`RunOutcome`]: the numbers every report prints. The
//! verdict rule itself is the check engine's ([`crate::check::verdict`]).

use serde::{Deserialize, Serialize};

use crate::check::outcome::{CaseOutcome, CaseStatus, RunOutcome};
use crate::check::verdict::run_verdict;
pub use crate::check::verdict::{counts, is_uncounted_failure, spec_verdict};
use crate::spec::Level;
pub use crate::verdict::Verdict;

/// Case counts: by status (all cases) and passed/total by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    pub must_passed: usize,
    pub must_total: usize,
    pub should_passed: usize,
    pub should_total: usize,
}

impl Counts {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseOutcome>) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            c.add(case);
        }
        c
    }

    fn add(&mut self, case: &CaseOutcome) {
        let passed = case.status == CaseStatus::Passed;
        self.total += 1;
        match case.status {
            CaseStatus::Passed => self.passed += 1,
            CaseStatus::Failed => self.failed += 1,
            CaseStatus::Errored => self.errored += 1,
            CaseStatus::Skipped => self.skipped += 1,
        }
        match case.level {
            Level::Must => {
                self.must_total += 1;
                self.must_passed += usize::from(passed);
            }
            Level::Should => {
                self.should_total += 1;
                self.should_passed += usize::from(passed);
            }
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.total += o.total;
        self.passed += o.passed;
        self.failed += o.failed;
        self.errored += o.errored;
        self.skipped += o.skipped;
        self.must_passed += o.must_passed;
        self.must_total += o.must_total;
        self.should_passed += o.should_passed;
        self.should_total += o.should_total;
    }
}

/// One spec's line of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecSummary {
    pub name: String,
    pub counts: Counts,
    pub verdict: Verdict,
}

/// The computed summary of a run (the `summary` member of the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub specs: Vec<SpecSummary>,
    pub total: Counts,
    /// `should` cases that failed or errored but were not counted (no `--strict`).
    pub uncounted_should_failures: usize,
    pub verdict: Verdict,
}

/// Counts and verdicts of a whole run.
pub fn summarize(run: &RunOutcome) -> Summary {
    let mut total = Counts::default();
    let specs = run
        .specs
        .iter()
        .map(|s| {
            let counts = Counts::of(&s.cases);
            total.merge(&counts);
            let v = spec_verdict(s, run.strict);
            SpecSummary {
                name: s.name.clone(),
                counts,
                verdict: v,
            }
        })
        .collect();
    let uncounted_should_failures = run
        .specs
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| is_uncounted_failure(c, run.strict))
        .count();
    Summary {
        specs,
        total,
        uncounted_should_failures,
        verdict: run_verdict(run),
    }
}

/// `840ms`, `1.24s`, `2m05s`.
pub fn format_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{:02}s", ms / 1000, (ms % 1000) / 10)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `1 case`, `2 cases`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The steps of a case that were not sent because their `when` was false, with the spec's
/// reason, as one line each (`step 4 (user_sessions) skipped: …`): every report shows them, a
/// skipped step is never a silent pass.
pub fn skipped_steps(case: &CaseOutcome) -> Vec<String> {
    case.steps
        .iter()
        .filter_map(|s| {
            s.skipped
                .as_ref()
                .map(|why| format!("step {} ({}) skipped: {why}", s.index + 1, s.call))
        })
        .collect()
}

/// How many steps of the run were skipped by their `when`.
pub fn skipped_step_count(run: &RunOutcome) -> usize {
    run.specs
        .iter()
        .flat_map(|s| &s.cases)
        .flat_map(|c| &c.steps)
        .filter(|s| s.skipped.is_some())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(840), "840ms");
        assert_eq!(format_duration(1240), "1.24s");
        assert_eq!(format_duration(125_000), "2m05s");
    }
}
