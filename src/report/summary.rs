//! Counts and verdicts computed from a [`RunOutcome`]: the numbers every report prints.
//!
//! Verdict rules (the same in every format):
//! - a case *counts* when it is `must`, or `should` in a `--strict` run;
//! - a spec is `error` when it has a spec-level error or a counted case errored, else `fail` when a
//!   counted case failed, else `incomplete` when a counted case was skipped, else `pass`;
//! - the run takes the worst spec verdict (`error` > `fail` > `incomplete` > `pass`), and is at best
//!   `incomplete` when it was interrupted.

use serde::{Deserialize, Serialize};

use crate::check::outcome::{CaseOutcome, CaseStatus, RunOutcome, SpecOutcome};
use crate::spec::Level;

/// The verdict of a spec or of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every counted case passed.
    Pass,
    /// Nothing counted failed or errored, but some counted cases were not run (interrupted).
    Incomplete,
    /// A counted case failed.
    Fail,
    /// The spec could not be checked, or a counted case could not run.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Incomplete => "incomplete",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }

    /// Words for a spec with this verdict (`conforms`, `does not conform`, ...).
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Pass => "conforms",
            Verdict::Incomplete => "incomplete",
            Verdict::Fail => "does not conform",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Whether a case of this level decides the verdict.
pub fn counts(level: Level, strict: bool) -> bool {
    level == Level::Must || strict
}

/// Whether this case failed or errored without counting (a `should` case outside `--strict`).
pub fn is_uncounted_failure(case: &CaseOutcome, strict: bool) -> bool {
    !counts(case.level, strict) && matches!(case.status, CaseStatus::Failed | CaseStatus::Errored)
}

/// The verdict of one spec.
pub fn spec_verdict(spec: &SpecOutcome, strict: bool) -> Verdict {
    if spec.error.is_some() {
        return Verdict::Error;
    }
    let counted = || spec.cases.iter().filter(|c| counts(c.level, strict));
    if counted().any(|c| c.status == CaseStatus::Errored) {
        Verdict::Error
    } else if counted().any(|c| c.status == CaseStatus::Failed) {
        Verdict::Fail
    } else if counted().any(|c| c.status == CaseStatus::Skipped) {
        Verdict::Incomplete
    } else {
        Verdict::Pass
    }
}

/// Counts and verdicts of a whole run.
pub fn summarize(run: &RunOutcome) -> Summary {
    let mut total = Counts::default();
    let mut verdict = if run.interrupted {
        Verdict::Incomplete
    } else {
        Verdict::Pass
    };
    let specs = run
        .specs
        .iter()
        .map(|s| {
            let counts = Counts::of(&s.cases);
            total.merge(&counts);
            let v = spec_verdict(s, run.strict);
            verdict = verdict.max(v);
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
        verdict,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(840), "840ms");
        assert_eq!(format_duration(1240), "1.24s");
        assert_eq!(format_duration(125_000), "2m05s");
    }

    #[test]
    fn verdicts_order_by_severity() {
        assert!(Verdict::Error > Verdict::Fail);
        assert!(Verdict::Fail > Verdict::Incomplete);
        assert!(Verdict::Incomplete > Verdict::Pass);
    }
}
