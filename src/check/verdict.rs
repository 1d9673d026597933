//! The one rule that turns a `check` outcome into a [`Verdict`] (every report and the exit code
//! read it from here):
//! - a case *counts* when it is `must`, or `should` in a `--strict` run;
//! - a case a target profile marks as not applicable (`skip_reason`) does not count, but a spec
//!   whose every counted case is such is `incomplete`, never `pass`;
//! - a spec is `error` when it has a spec-level error or a counted case errored, else `fail` when a
//!   counted case failed, else `incomplete` when a counted case was skipped, else `pass`;
//! - the run is `interrupted` when a signal stopped it, `error` when it could not start (an
//!   unreachable target), else the worst spec verdict (`error` > `fail` > `incomplete` > `pass`).

use super::outcome::{CaseOutcome, CaseStatus, RunOutcome, SpecOutcome};
use crate::spec::Level;
use crate::verdict::Verdict;

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
    let all_counted = || spec.cases.iter().filter(|c| counts(c.level, strict));
    let counted = || all_counted().filter(|c| c.skip_reason.is_none());
    if all_counted().next().is_some() && counted().next().is_none() {
        return Verdict::Incomplete;
    }
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

/// The verdict of a whole run.
pub fn run_verdict(run: &RunOutcome) -> Verdict {
    if run.interrupted {
        return Verdict::Interrupted;
    }
    if run.error.is_some() {
        return Verdict::Error;
    }
    run.specs
        .iter()
        .map(|s| spec_verdict(s, run.strict))
        .max()
        .unwrap_or(Verdict::Pass)
}

impl SpecOutcome {
    /// Whether this spec conforms (no spec error, every must case, and should cases if `strict`):
    /// its verdict is `pass`.
    pub fn conforms(&self, strict: bool) -> bool {
        spec_verdict(self, strict) == Verdict::Pass
    }
}

impl RunOutcome {
    /// The run's verdict.
    pub fn verdict(&self) -> Verdict {
        run_verdict(self)
    }

    /// Whether the whole run conforms: its verdict is `pass`.
    pub fn conforms(&self) -> bool {
        self.verdict() == Verdict::Pass
    }
}
