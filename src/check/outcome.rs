//! Outcomes of a conformance run: pure data, the single input of every report writer.
//! Everything in here is already redacted.

use serde::{Deserialize, Serialize};

use crate::http::RequestData;
use crate::spec::{Level, Location};

/// Version of the JSON report format (`reports/schema/check-report.schema.json`).
/// 2: typed step errors (`{kind, message}`), a run-level `error`, the `interrupted` verdict.
pub const REPORT_FORMAT_VERSION: u32 = 2;

/// A whole `check` run: one or more specs against one target (or the embedded servers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub format_version: u32,
    pub tool: String,
    /// RFC 3339 start time.
    pub started_at: String,
    pub duration_ms: u64,
    /// `--target`, or `None` when each spec ran against its embedded reference server.
    pub target: Option<String>,
    /// Fault switches given to the embedded servers.
    pub faults: Vec<String>,
    pub strict: bool,
    /// The run was stopped by SIGINT/SIGTERM; what ran is reported.
    pub interrupted: bool,
    /// Why no case could run at all (the target did not answer the probe), if so.
    #[serde(default)]
    pub error: Option<String>,
    /// The target profile applied, and what it changed.
    #[serde(default)]
    pub profile: Option<ProfileReport>,
    /// Why the run stopped before its last case (`--fail-fast`), if it did.
    #[serde(default)]
    pub halted: Option<String>,
    pub specs: Vec<SpecOutcome>,
}

/// A target profile as applied to a run (`--profile FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReport {
    /// The profile file.
    pub path: String,
    /// The spec it adapted.
    pub spec: String,
    /// Every override it made, one line each.
    pub overrides: Vec<String>,
}

/// One spec's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecOutcome {
    pub name: String,
    pub title: String,
    /// The source document.
    pub source: String,
    /// The spec file.
    pub file: String,
    /// The base URL the cases ran against (the embedded server's is normalised to `embedded:DIALECT`
    /// in snapshots by the tests, not here).
    pub target: String,
    pub embedded: bool,
    /// A spec-level error that stopped its cases (e.g. the target is unreachable).
    pub error: Option<String>,
    pub duration_ms: u64,
    pub cases: Vec<CaseOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    /// Every check of every step held.
    Passed,
    /// A check did not hold.
    Failed,
    /// A step could not be run (connection error, timeout, missing capture).
    Errored,
    /// Not run (the run was interrupted first).
    Skipped,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::Errored => "errored",
            CaseStatus::Skipped => "skipped",
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseOutcome {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub doc: String,
    pub rule: Option<String>,
    pub tags: Vec<String>,
    /// Where the case is in the spec file.
    pub location: Location,
    pub status: CaseStatus,
    /// Why a `skipped` case does not apply to this target (from the profile); `None` for a case
    /// that was not run because the run stopped or could not start.
    #[serde(default)]
    pub skip_reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepOutcome>,
    /// For a failed or errored case: the script that replays its steps (not in the JSON report;
    /// `check --repro-dir` writes it and sets `path`).
    #[serde(skip)]
    pub reproduction: Option<Reproduction>,
}

/// A runnable reproduction of a case ([`crate::check::repro`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reproduction {
    /// The POSIX `sh` script (secrets as environment references).
    pub script: String,
    /// Where it was written, if it was.
    pub path: Option<String>,
}

impl CaseOutcome {
    /// The first failing check or step error, for one-line summaries.
    pub fn first_failure(&self) -> Option<String> {
        for step in &self.steps {
            if let Some(e) = &step.error {
                return Some(e.message.clone());
            }
            if let Some(c) = step.checks.iter().find(|c| !c.passed) {
                return Some(c.message());
            }
        }
        None
    }
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// 0-based index in the case.
    pub index: usize,
    /// The operation called.
    pub call: String,
    pub name: Option<String>,
    /// The request sent (redacted).
    pub request: Option<RequestData>,
    /// A curl command reproducing the request (redacted).
    pub curl: Option<String>,
    /// What came back (redacted), if anything did.
    pub response: Option<ResponseSummary>,
    pub checks: Vec<CheckResult>,
    /// Why the step could not run or its response could not be read.
    pub error: Option<StepError>,
    /// Why the step was not sent: its `when` was false (the spec's reason). Never a silent pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub duration_ms: u64,
}

/// Why a step could not run, by kind (the JSON report's `kind`) with a one-line message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub kind: StepErrorKind,
    pub message: String,
}

impl StepError {
    pub fn new(kind: StepErrorKind, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: message.into(),
        }
    }
}

/// What kind of thing stopped a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepErrorKind {
    /// The step calls an operation the spec does not define.
    Operation,
    /// A template could not be rendered (a variable has no value).
    Template,
    /// A value an earlier step should have captured is missing.
    Capture,
    /// The exchange failed: refused, reset, closed, or not HTTP.
    Exchange,
    /// No complete response within `--timeout`.
    Timeout,
    /// The run was stopped while the step waited for its response.
    Interrupted,
}

impl StepErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepErrorKind::Operation => "operation",
            StepErrorKind::Template => "template",
            StepErrorKind::Capture => "capture",
            StepErrorKind::Exchange => "exchange",
            StepErrorKind::Timeout => "timeout",
            StepErrorKind::Interrupted => "interrupted",
        }
    }
}

/// A received response, trimmed for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSummary {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// At most 4 KiB of the body, as text.
    pub body: String,
    /// Full body length in bytes (as read, up to `--max-body`).
    pub body_len: usize,
    pub truncated: bool,
}

/// The verdict of one check: what it expected and what it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Which check: `status`, `header:etag`, `body.schema`, `body.equals`, `conditional.if_match_strong_comparison`, ...
    pub check: String,
    /// The normative rule it enforces (`RFC 9110 §13.1.1`), when not the document itself.
    pub rule: Option<String>,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
    /// JSON pointer into the response body the difference is at, if any.
    pub pointer: Option<String>,
    /// Where the expectation is in the spec file.
    pub location: Option<Location>,
}

impl CheckResult {
    /// `check: expected X, got Y` in one line.
    pub fn message(&self) -> String {
        let at = self
            .pointer
            .as_deref()
            .map(|p| format!(" at {p}"))
            .unwrap_or_default();
        format!(
            "{}{at}: expected {}, got {}",
            self.check, self.expected, self.actual
        )
    }
}
