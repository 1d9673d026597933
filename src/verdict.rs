//! The one verdict every engine gives and every report shows; the CLI maps it to the exit code.
//!
//! Each engine has one rule for reaching it (`check`: [`crate::check::verdict`]; `load`:
//! [`crate::load::threshold::verdict`]); the exit code is decided from it alone, in the CLI, so a
//! report and the exit code can never disagree.

use serde::{Deserialize, Serialize};

/// How a run (or one spec of a `check` run) ended, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything counted held.
    Pass,
    /// Nothing counted failed or errored, but something counted did not run (a skipped case).
    Incomplete,
    /// A counted case or a threshold failed.
    Fail,
    /// The run could not judge the target: a spec or scenario error, an unreachable target, a
    /// counted case that could not run.
    Error,
    /// Stopped by SIGINT or SIGTERM; what ran is still reported.
    Interrupted,
}

impl Verdict {
    /// Every verdict, best first.
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Incomplete,
        Verdict::Fail,
        Verdict::Error,
        Verdict::Interrupted,
    ];

    /// The name in machine-readable reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Incomplete => "incomplete",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Interrupted => "interrupted",
        }
    }

    /// Words for a spec with this verdict (`conforms`, `does not conform`, ...).
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Pass => "conforms",
            Verdict::Incomplete => "incomplete",
            Verdict::Fail => "does not conform",
            Verdict::Error => "error",
            Verdict::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_order_by_severity() {
        for pair in Verdict::ALL.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
    }

    #[test]
    fn names_round_trip_through_json() {
        for v in Verdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
        }
    }
}
