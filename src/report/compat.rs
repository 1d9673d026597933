//! The vendors' view: which documented APIs a target is compatible with.
//!
//! One row per spec. `compatible (strict)` means every `must` and every `should` case passed;
//! `compatible` means every counted case passed (`must`, plus `should` under `--strict`, in which
//! case every case passed and the row says `compatible (strict)`).

use serde::{Deserialize, Serialize};

use super::summary::{spec_verdict, Counts, Verdict};
use crate::check::outcome::RunOutcome;

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompatVerdict {
    /// Every `must` and every `should` case passed.
    #[serde(rename = "compatible (strict)")]
    CompatibleStrict,
    /// Every counted case passed; some uncounted `should` cases did not.
    #[serde(rename = "compatible")]
    Compatible,
    /// A counted case failed.
    #[serde(rename = "not compatible")]
    NotCompatible,
    /// The run was interrupted before every counted case ran.
    #[serde(rename = "incomplete")]
    Incomplete,
    /// The spec could not be checked, or a counted case could not run.
    #[serde(rename = "error")]
    Error,
}

impl CompatVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CompatVerdict::CompatibleStrict => "compatible (strict)",
            CompatVerdict::Compatible => "compatible",
            CompatVerdict::NotCompatible => "not compatible",
            CompatVerdict::Incomplete => "incomplete",
            CompatVerdict::Error => "error",
        }
    }

    /// The spec verdict this row derives from.
    pub fn verdict(self) -> Verdict {
        match self {
            CompatVerdict::CompatibleStrict | CompatVerdict::Compatible => Verdict::Pass,
            CompatVerdict::NotCompatible => Verdict::Fail,
            CompatVerdict::Incomplete => Verdict::Incomplete,
            CompatVerdict::Error => Verdict::Error,
        }
    }
}

impl std::fmt::Display for CompatVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One spec's compatibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompatRow {
    /// Spec name (the documented API).
    pub spec: String,
    pub title: String,
    pub must_passed: usize,
    pub must_total: usize,
    pub should_passed: usize,
    pub should_total: usize,
    pub verdict: CompatVerdict,
}

/// The compatibility table of a run, in spec order.
pub fn compatibility_table(run: &RunOutcome) -> Vec<CompatRow> {
    run.specs
        .iter()
        .map(|s| {
            let c = Counts::of(&s.cases);
            let verdict = match spec_verdict(s, run.strict) {
                Verdict::Error => CompatVerdict::Error,
                Verdict::Fail => CompatVerdict::NotCompatible,
                Verdict::Incomplete | Verdict::Interrupted => CompatVerdict::Incomplete,
                Verdict::Pass if c.should_passed == c.should_total => {
                    CompatVerdict::CompatibleStrict
                }
                Verdict::Pass => CompatVerdict::Compatible,
            };
            CompatRow {
                spec: s.name.clone(),
                title: s.title.clone(),
                must_passed: c.must_passed,
                must_total: c.must_total,
                should_passed: c.should_passed,
                should_total: c.should_total,
                verdict,
            }
        })
        .collect()
}

/// Whether the terminal shows the compatibility table: a `--target` was checked against several specs.
pub fn shows_compatibility(run: &RunOutcome) -> bool {
    run.target.is_some() && run.specs.len() > 1
}
