//! `body.*`: the response body against a JSON Schema, an exact JSON value, a JSON subset, or
//! emptiness. Differences name the JSON pointer of the body value at fault.

use jsonschema::Validator;
use serde_json::Value;

use super::{fail, pass, pointer_token, show_json, CheckResult, CheckResultExt};
use crate::http::ResponseData;

/// Most schema errors listed in one result.
const MAX_SCHEMA_ERRORS: usize = 3;

/// Compiles a JSON Schema (draft 2020-12 unless `$schema` says otherwise), or says why it cannot.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| format!("invalid JSON Schema in the spec: {e}"))
}

/// `body.schema`: the JSON body ([`body_json`](super::body_json)) is valid against the compiled
/// schema.
pub fn matches_schema(body: &Result<Value, String>, validator: &Validator) -> CheckResult {
    let expected = "a body valid against the schema";
    let body = match body {
        Ok(b) => b,
        Err(why) => return fail("body.schema", expected, why.clone()),
    };
    let errors: Vec<(String, String)> = validator
        .iter_errors(body)
        .take(MAX_SCHEMA_ERRORS + 1)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect();
    match errors.first() {
        None => pass("body.schema", expected, "a valid body"),
        Some((first_pointer, _)) => {
            let mut shown: Vec<String> = errors
                .iter()
                .take(MAX_SCHEMA_ERRORS)
                .map(|(p, msg)| {
                    let at = if p.is_empty() { "(root)" } else { p };
                    format!("{at}: {msg}")
                })
                .collect();
            if errors.len() > MAX_SCHEMA_ERRORS {
                shown.push("…".into());
            }
            fail("body.schema", expected, shown.join("; ")).at_pointer(first_pointer.clone())
        }
    }
}

/// `body.equals`: the JSON body equals `expected` exactly (strings already rendered).
pub fn equals(body: &Result<Value, String>, expected: &Value) -> CheckResult {
    let shown = show_json(expected);
    let body = match body {
        Ok(b) => b,
        Err(why) => return fail("body.equals", shown, why.clone()),
    };
    match difference(expected, body, String::new(), Mode::Exact) {
        None => pass("body.equals", shown, show_json(body)),
        Some(d) => fail("body.equals", d.expected, d.actual).at_pointer(d.pointer),
    }
}

/// `body.contains`: the JSON body contains `expected` — objects by subset, arrays element by element
/// (the body's array may be longer), scalars equal.
pub fn contains(body: &Result<Value, String>, expected: &Value) -> CheckResult {
    let shown = show_json(expected);
    let body = match body {
        Ok(b) => b,
        Err(why) => return fail("body.contains", shown, why.clone()),
    };
    match difference(expected, body, String::new(), Mode::Subset) {
        None => pass("body.contains", shown, "a body containing it"),
        Some(d) => fail("body.contains", d.expected, d.actual).at_pointer(d.pointer),
    }
}

/// The body as text, or why the text checks cannot look at it (cut at `--max-body`, not UTF-8).
fn body_text(resp: &ResponseData) -> Result<&str, String> {
    if let Some(why) = super::truncated_reason(resp) {
        return Err(why);
    }
    std::str::from_utf8(&resp.body).map_err(|e| {
        format!(
            "a body that is not UTF-8 text (invalid byte at offset {}); compare it with `bytes`",
            e.valid_up_to()
        )
    })
}

/// Quoted for a message: the text with a visible start and end.
fn quoted(text: &str) -> String {
    format!("`{text}`")
}

/// `body.text.equals`: the whole body is this text (already rendered).
pub fn text_equals(resp: &ResponseData, want: &str) -> CheckResult {
    let check = "body.text.equals";
    let text = match body_text(resp) {
        Ok(t) => t,
        Err(why) => return fail(check, quoted(want), why),
    };
    if text == want {
        return pass(check, quoted(want), quoted(text));
    }
    let at = text
        .chars()
        .zip(want.chars())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| text.chars().count().min(want.chars().count()));
    // Both sides from a little before the first difference, so that it is shown.
    let from = at.saturating_sub(20);
    let tail = |s: &str| {
        let cut: String = s.chars().skip(from).collect();
        if from > 0 {
            format!("…{cut}")
        } else {
            cut
        }
    };
    fail(
        check,
        quoted(&tail(want)),
        format!(
            "{} (first difference at character {}, {} characters in all)",
            quoted(&tail(text)),
            at + 1,
            text.chars().count()
        ),
    )
}

/// `body.text.matches`: the body, as text, matches the regular expression.
pub fn text_matches(resp: &ResponseData, pattern: &str) -> CheckResult {
    let check = "body.text.matches";
    let expected = format!("a body matching `{pattern}`");
    let re = match super::compile_pattern(pattern) {
        Ok(re) => re,
        Err(why) => return fail(check, expected, why),
    };
    match body_text(resp) {
        Ok(text) => super::verdict(check, re.is_match(text), expected, quoted(text)),
        Err(why) => fail(check, expected, why),
    }
}

/// `body.bytes`: the body is exactly these bytes (written as base64 or hex in the spec).
pub fn bytes_equal(resp: &ResponseData, want: &crate::spec::BytesExpect) -> CheckResult {
    let check = "body.bytes";
    let want = match want.decode() {
        Ok(w) => w,
        Err(why) => return fail(check, "the bytes of the spec", why),
    };
    let expected = format!("{} bytes: {}", want.len(), hex_excerpt(&want, 0));
    if let Some(why) = super::truncated_reason(resp) {
        return fail(check, expected, why);
    }
    let got = &resp.body;
    if *got == want {
        return pass(check, expected, format!("{} equal bytes", got.len()));
    }
    let at = got
        .iter()
        .zip(&want)
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.len().min(want.len()));
    fail(
        check,
        format!("{} bytes: {}", want.len(), hex_excerpt(&want, at)),
        format!(
            "{} bytes: {} (first difference at byte {at})",
            got.len(),
            hex_excerpt(got, at)
        ),
    )
}

/// At most 32 bytes in hex from a little before `at`.
fn hex_excerpt(bytes: &[u8], at: usize) -> String {
    let from = at.saturating_sub(8).min(bytes.len());
    let shown: Vec<String> = bytes[from..]
        .iter()
        .take(32)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > from + 32 { " …" } else { "" };
    let lead = if from > 0 { "… " } else { "" };
    format!("{lead}{}{more}", shown.join(" "))
}

/// `body.empty`: no content (`true`) or some content (`false`).
pub fn empty(resp: &ResponseData, want_empty: bool) -> CheckResult {
    let actual = if resp.body.is_empty() {
        "no content".to_owned()
    } else if resp.truncated {
        format!("more than {} bytes (cut at --max-body)", resp.body.len())
    } else {
        format!("{} bytes", resp.body.len())
    };
    let expected = if want_empty {
        "no content"
    } else {
        "some content"
    };
    super::verdict(
        "body.empty",
        resp.body.is_empty() == want_empty,
        expected,
        actual,
    )
}

/// How [`difference`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Values are equal.
    Exact,
    /// `actual` contains `expected`: extra object members and trailing array elements are allowed.
    Subset,
}

/// The first place two JSON values differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// JSON pointer into the actual value (`""` for the root).
    pub pointer: String,
    pub expected: String,
    pub actual: String,
}

/// The first difference between `expected` and `actual` under `mode`, depth first in document
/// order, or `None` when they agree.
pub fn difference(expected: &Value, actual: &Value, at: String, mode: Mode) -> Option<Difference> {
    let differ = |at: String, e: String, a: String| {
        Some(Difference {
            pointer: at,
            expected: e,
            actual: a,
        })
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let here = format!("{at}/{}", pointer_token(k));
                match a.get(k) {
                    Some(av) => {
                        if let Some(d) = difference(ev, av, here, mode) {
                            return Some(d);
                        }
                    }
                    None => return differ(here, show_json(ev), "no such member".into()),
                }
            }
            if mode == Mode::Exact {
                if let Some((k, av)) = a.iter().find(|(k, _)| !e.contains_key(*k)) {
                    let here = format!("{at}/{}", pointer_token(k));
                    return differ(here, "no such member".into(), show_json(av));
                }
            }
            None
        }
        (Value::Array(e), Value::Array(a)) => {
            let length_ok = match mode {
                Mode::Exact => e.len() == a.len(),
                Mode::Subset => a.len() >= e.len(),
            };
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                if let Some(d) = difference(ev, av, format!("{at}/{i}"), mode) {
                    return Some(d);
                }
            }
            if length_ok {
                None
            } else {
                let want = match mode {
                    Mode::Exact => format!("an array of {} elements", e.len()),
                    Mode::Subset => format!("an array of at least {} elements", e.len()),
                };
                differ(at, want, format!("{} elements", a.len()))
            }
        }
        (e, a) if e == a => None,
        (e, a) => differ(at, show_json(e), show_json(a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json(body: &str) -> Result<Value, String> {
        super::super::body_json(&resp(body))
    }

    fn resp(body: &str) -> ResponseData {
        ResponseData {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..ResponseData::default()
        }
    }

    #[test]
    fn schema_pass_and_fail_with_pointer() {
        let v = compile(&json!({
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "object", "properties": {"id": {"type": "string"}}}}
        }))
        .unwrap();
        assert!(matches_schema(&json(r#"{"data":{"id":"x"}}"#), &v).passed);
        let r = matches_schema(&json(r#"{"data":{"id":7}}"#), &v);
        assert!(!r.passed);
        assert_eq!(r.pointer.as_deref(), Some("/data/id"));
        assert!(r.actual.contains("/data/id"), "{}", r.actual);
        let r = matches_schema(&json("not json"), &v);
        assert!(!r.passed);
        assert!(r.actual.contains("not JSON"));
        let r = matches_schema(&json(""), &v);
        assert!(r.actual.contains("empty"));
    }

    #[test]
    fn invalid_schema_is_an_error_not_a_panic() {
        assert!(compile(&json!({"type": 12})).is_err());
    }

    #[test]
    fn equals_exact() {
        let want = json!({"message": "Invalid credentials"});
        assert!(equals(&json(r#"{"message":"Invalid credentials"}"#), &want).passed);
        let r = equals(&json(r#"{"message":"nope"}"#), &want);
        assert!(!r.passed);
        assert_eq!(r.pointer.as_deref(), Some("/message"));
        assert_eq!(r.expected, "\"Invalid credentials\"");
        assert_eq!(r.actual, "\"nope\"");
        let r = equals(&json(r#"{"message":"Invalid credentials","x":1}"#), &want);
        assert!(!r.passed);
        assert_eq!(r.pointer.as_deref(), Some("/x"));
        assert!(!equals(&json("[]"), &json!({})).passed);
        assert!(equals(&json("{}"), &json!({})).passed);
    }

    #[test]
    fn contains_subset() {
        let want = json!({"errors": [{"status": "401", "code": "invalid_credentials"}]});
        let body =
            r#"{"errors":[{"status":"401","code":"invalid_credentials","title":"t"},{"x":1}]}"#;
        assert!(contains(&json(body), &want).passed);
        let r = contains(&json(r#"{"errors":[{"status":401}]}"#), &want);
        assert!(!r.passed);
        assert_eq!(r.pointer.as_deref(), Some("/errors/0/status"));
        let r = contains(&json(r#"{"errors":[]}"#), &want);
        assert_eq!(r.pointer.as_deref(), Some("/errors"));
        let r = contains(&json(r#"{"data":{}}"#), &want);
        assert_eq!(r.pointer.as_deref(), Some("/errors"));
        assert_eq!(r.actual, "no such member");
    }

    #[test]
    fn truncated_body_fails_body_checks() {
        let mut r = resp(r#"{"a":1"#);
        r.truncated = true;
        let c = contains(&super::super::body_json(&r), &json!({"a": 1}));
        assert!(!c.passed);
        assert!(c.actual.contains("--max-body"));
        assert!(!empty(&r, true).passed);
    }

    #[test]
    fn empty_body() {
        assert!(empty(&resp(""), true).passed);
        assert!(!empty(&resp("{}"), true).passed);
        assert!(empty(&resp("{}"), false).passed);
        assert_eq!(empty(&resp("{}"), true).actual, "2 bytes");
    }

    #[test]
    fn text_and_bytes_bodies() {
        let page = resp("<!doctype html><title>Sessions</title>");
        assert!(text_equals(&page, "<!doctype html><title>Sessions</title>").passed);
        let r = text_equals(&page, "<!doctype html><title>Session</title>");
        assert!(!r.passed);
        assert!(
            r.actual.contains("first difference at character 30"),
            "{}",
            r.actual
        );
        assert!(text_matches(&page, "^<!doctype html>").passed);
        assert!(!text_matches(&page, "^\\{").passed);
        let binary = ResponseData {
            body: vec![0xff, 0x00, 0x41],
            ..ResponseData::default()
        };
        let r = text_equals(&binary, "x");
        assert!(r.actual.contains("not UTF-8"), "{}", r.actual);
        let hex = |h: &str| crate::spec::BytesExpect {
            hex: Some(h.to_owned()),
            base64: None,
        };
        let b64 = |b: &str| crate::spec::BytesExpect {
            base64: Some(b.to_owned()),
            hex: None,
        };
        assert!(bytes_equal(&binary, &hex("ff0041")).passed);
        assert!(bytes_equal(&binary, &hex("FF:00:41")).passed);
        assert!(bytes_equal(&binary, &b64("/wBB")).passed);
        let r = bytes_equal(&binary, &hex("ff0042"));
        assert!(!r.passed);
        assert!(
            r.actual.contains("first difference at byte 2"),
            "{}",
            r.actual
        );
        assert!(!bytes_equal(&binary, &hex("ff00")).passed);
        assert!(hex("f").decode().is_err());
        assert!(hex("zz").decode().is_err());
        assert!(b64("*").decode().is_err());
    }

    #[test]
    fn pointer_escaping_in_differences() {
        let d = difference(
            &json!({"a/b": 1}),
            &json!({"a/b": 2}),
            String::new(),
            Mode::Exact,
        );
        assert_eq!(d.map(|d| d.pointer).as_deref(), Some("/a~1b"));
    }
}
