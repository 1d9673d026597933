//! The checks: small pure functions of (request, response, expectation) → [`CheckResult`], one file
//! per family, each named after the rule it enforces.
//!
//! A check fills `check`, `passed`, `expected`, `actual`, and `pointer` (a JSON pointer into the
//! response body) when the difference is inside the body. Where the rule is a standard one (ETag
//! syntax, HTTP-date, JSON:API document shape), the check names it in `rule`; the engine replaces
//! it with the case's `rule` when the case has one, and adds the spec `location` of the expectation.

pub mod body;
pub mod captured;
pub mod headers;
pub mod jsonapi;
pub mod jwt;
pub mod rfc9110;
pub mod same_as;
pub mod security;
pub mod status;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::check::outcome::CheckResult;
use crate::http::ResponseData;

/// Longest `expected`/`actual` text kept in a result (values are cut with `…` past it).
pub const MAX_SHOWN: usize = 240;

/// A verdict without location or rule (the engine adds them).
pub fn verdict(
    check: impl Into<String>,
    passed: bool,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> CheckResult {
    CheckResult {
        check: check.into(),
        rule: None,
        passed,
        expected: shorten(&expected.into()),
        actual: shorten(&actual.into()),
        pointer: None,
        location: None,
    }
}

/// A passing verdict.
pub fn pass(
    check: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> CheckResult {
    verdict(check, true, expected, actual)
}

/// A failing verdict.
pub fn fail(
    check: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> CheckResult {
    verdict(check, false, expected, actual)
}

/// Builder-style additions to a [`CheckResult`].
pub trait CheckResultExt {
    /// Sets the JSON pointer of the difference (`""`, the whole body, sets none).
    fn at_pointer(self, pointer: impl Into<String>) -> Self;
    /// Sets the rule the check enforces.
    fn with_rule(self, rule: impl Into<String>) -> Self;
}

impl CheckResultExt for CheckResult {
    fn at_pointer(mut self, pointer: impl Into<String>) -> Self {
        let pointer = pointer.into();
        self.pointer = (!pointer.is_empty()).then_some(pointer);
        self
    }

    fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }
}

/// One line of at most [`MAX_SHOWN`] characters: control characters become spaces.
pub fn shorten(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN + 3));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// Why the body cannot be checked because it was cut at `--max-body`, if it was.
pub fn truncated_reason(resp: &ResponseData) -> Option<String> {
    resp.truncated.then(|| {
        format!(
            "a body larger than --max-body ({} bytes read); it was cut and is not checked",
            resp.body.len()
        )
    })
}

/// A spec's regular expression compiled, or why it cannot be (the last line of the regex error).
/// Each pattern is compiled once per process: the same spec pattern is checked on every response.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    type Compiled = HashMap<String, Result<regex::Regex, String>>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let compile = || {
        regex::Regex::new(pattern).map_err(|e| {
            let msg = e.to_string();
            let last = msg.lines().last().unwrap_or("invalid");
            format!("an invalid regular expression in the spec ({last})")
        })
    };
    // A poisoned lock only means another thread panicked mid-insert: compile without the cache.
    let Ok(mut compiled) = COMPILED.get_or_init(Default::default).lock() else {
        return compile();
    };
    compiled
        .entry(pattern.to_owned())
        .or_insert_with(compile)
        .clone()
}

/// The body as JSON, parsed once per response for every body check, or why the body checks
/// cannot look at it (cut at `--max-body`, empty, or not JSON).
pub fn body_json(resp: &ResponseData) -> Result<serde_json::Value, String> {
    match truncated_reason(resp) {
        Some(why) => Err(why),
        None => resp.json(),
    }
}

/// A JSON value in one line, shortened.
pub fn show_json(value: &serde_json::Value) -> String {
    shorten(&value.to_string())
}

/// Escapes one JSON pointer token (RFC 6901): the spec loader's, so that check pointers and spec
/// locations are escaped alike.
pub(crate) use crate::spec::pointer_token;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_and_flattens() {
        assert_eq!(shorten("a\nb"), "a b");
        let long = "x".repeat(MAX_SHOWN + 10);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), MAX_SHOWN + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }

    #[test]
    fn truncated_bodies_have_a_reason() {
        let resp = ResponseData {
            status: 200,
            body: vec![b'x'; 10],
            truncated: true,
            ..ResponseData::default()
        };
        assert!(truncated_reason(&resp).is_some_and(|r| r.contains("10 bytes")));
        let whole = ResponseData::default();
        assert_eq!(truncated_reason(&whole), None);
    }
}
