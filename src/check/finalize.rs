//! Turns raw case results into report data: every secret masked (requests, curl lines, response
//! headers and bodies, check messages, errors), bodies trimmed for reports, times in milliseconds.

use std::time::Duration;

use super::case::{RawCase, RawStep};
use super::client::with_wire_defaults;
use super::outcome::{CaseOutcome, CheckResult, ResponseSummary, StepError, StepOutcome};
use crate::http::ResponseData;
use crate::redact::Redactor;
use crate::spec::LoadedSpec;

/// Most body bytes kept in a [`ResponseSummary`].
pub const SUMMARY_BODY_BYTES: usize = 4 * 1024;

/// Milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The report form of a case, masked with `redactor`.
pub fn case_outcome(loaded: &LoadedSpec, raw: &RawCase, redactor: &Redactor) -> CaseOutcome {
    let case = &loaded.spec.cases[raw.index];
    CaseOutcome {
        id: case.id.clone(),
        title: case.title.clone(),
        level: case.level,
        doc: case.doc.clone(),
        rule: case.rule.clone(),
        tags: case.tags.clone(),
        location: loaded.locate(&format!("/cases/{}", raw.index)),
        status: raw.status,
        skip_reason: raw.skip_reason.clone(),
        duration_ms: millis(raw.duration),
        steps: raw
            .steps
            .iter()
            .map(|s| step_outcome(s, redactor))
            .collect(),
        reproduction: None,
    }
}

fn step_outcome(raw: &RawStep, redactor: &Redactor) -> StepOutcome {
    StepOutcome {
        index: raw.index,
        call: raw.call.clone(),
        name: raw.name.clone(),
        // The request as it went on the wire; curl adds the same default `Accept` itself.
        request: raw
            .request
            .as_ref()
            .map(|r| with_wire_defaults(r.clone()).redacted(redactor)),
        curl: raw.request.as_ref().map(|r| r.to_curl(redactor)),
        response: raw.response.as_ref().map(|r| summary(r, redactor)),
        checks: raw
            .checks
            .iter()
            .map(|c| redact_check(c, redactor))
            .collect(),
        error: raw.error.as_ref().map(|e| StepError {
            kind: e.kind,
            message: redactor.redact(&e.message),
        }),
        skipped: raw.skipped.clone(),
        duration_ms: millis(raw.duration),
    }
}

fn redact_check(c: &CheckResult, redactor: &Redactor) -> CheckResult {
    CheckResult {
        expected: redactor.redact(&c.expected),
        actual: redactor.redact(&c.actual),
        ..c.clone()
    }
}

/// A response trimmed for reports: masked first, then cut to [`SUMMARY_BODY_BYTES`].
pub fn summary(resp: &ResponseData, redactor: &Redactor) -> ResponseSummary {
    let mut body = redactor.redact(&resp.text());
    if body.len() > SUMMARY_BODY_BYTES {
        let mut end = SUMMARY_BODY_BYTES;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push('…');
    }
    ResponseSummary {
        status: resp.status,
        headers: resp
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), redactor.redact(v)))
            .collect(),
        body,
        body_len: resp.body.len(),
        truncated: resp.truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_masks_then_cuts() {
        let mut r = Redactor::new();
        r.add("s3cret-token");
        let resp = ResponseData {
            status: 200,
            headers: vec![("set-cookie".into(), "sid=s3cret-token; HttpOnly".into())],
            body: format!(
                "{{\"t\":\"s3cret-token\",\"pad\":\"{}\"}}",
                "é".repeat(4000)
            )
            .into_bytes(),
            truncated: false,
        };
        let s = summary(&resp, &r);
        assert_eq!(s.headers[0].1, "sid=***; HttpOnly");
        assert!(s.body.starts_with("{\"t\":\"***\""));
        assert!(s.body.len() <= SUMMARY_BODY_BYTES + '…'.len_utf8());
        assert!(s.body.ends_with('…'));
        assert_eq!(s.body_len, resp.body.len());
    }
}
