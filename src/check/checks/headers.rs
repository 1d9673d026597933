//! `header:NAME…`: response header rules. Names are compared case-insensitively.
//!
//! - `equals`, `matches`, `present`/`absent`;
//! - `contains`: list elements of a comma-separated header (RFC 9110 §5.6.1), case-insensitive;
//! - `media_type`: type/subtype (RFC 9110 §8.3.1); for `application/vnd.api+json` only the `ext` and
//!   `profile` parameters are allowed (JSON:API 1.1 Content Negotiation);
//! - `etag`: entity-tag syntax (RFC 9110 §8.8.3), strong or weak;
//! - `http_date`: an IMF-fixdate (RFC 9110 §5.6.7).

use super::{compile_pattern, fail, pass, verdict, CheckResult, CheckResultExt};
use crate::http::ResponseData;
use crate::spec::EtagKind;

/// The JSON:API media type.
pub const JSONAPI_MEDIA_TYPE: &str = "application/vnd.api+json";

fn id(name: &str, rule: &str) -> String {
    let name = name.to_ascii_lowercase();
    if rule.is_empty() {
        format!("header:{name}")
    } else {
        format!("header:{name}.{rule}")
    }
}

/// What a result shows for an absent header.
pub(super) fn missing(name: &str) -> String {
    format!("no `{}` header", name.to_ascii_lowercase())
}

/// Every value of the header, combined as one list value (RFC 9110 §5.3), or `None` when absent.
pub fn combined(resp: &ResponseData, name: &str) -> Option<String> {
    let values: Vec<&str> = resp.header_all(name).collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// How a result shows a header value.
pub(super) fn quoted(v: &str) -> String {
    format!("`{v}`")
}

/// `header:NAME`: the header's value is exactly `expected` (already rendered).
pub fn equals(resp: &ResponseData, name: &str, expected: &str) -> CheckResult {
    match combined(resp, name) {
        Some(v) => verdict(id(name, ""), v == expected, quoted(expected), quoted(&v)),
        None => fail(id(name, ""), quoted(expected), missing(name)),
    }
}

/// `header:NAME.matches`: the header's value matches the regular expression `pattern`.
pub fn matches(resp: &ResponseData, name: &str, pattern: &str) -> CheckResult {
    let expected = format!("a value matching /{pattern}/");
    let re = match compile_pattern(pattern) {
        Ok(re) => re,
        Err(why) => return fail(id(name, "matches"), expected, why),
    };
    match combined(resp, name) {
        Some(v) => verdict(id(name, "matches"), re.is_match(&v), expected, quoted(&v)),
        None => fail(id(name, "matches"), expected, missing(name)),
    }
}

/// `header:NAME.present` / `header:NAME.absent`.
pub fn presence(resp: &ResponseData, name: &str, present: bool) -> CheckResult {
    let value = combined(resp, name);
    let (rule, expected) = if present {
        (
            "present",
            format!("a `{}` header", name.to_ascii_lowercase()),
        )
    } else {
        ("absent", missing(name))
    };
    let actual = match &value {
        Some(v) => quoted(v),
        None => missing(name),
    };
    verdict(id(name, rule), value.is_some() == present, expected, actual)
}

/// Splits a comma-separated list value into trimmed elements, keeping quoted strings whole.
pub fn list_elements(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in value.chars() {
        if in_quotes {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c == ',' {
            out.push(std::mem::take(&mut current));
        } else {
            if c == '"' {
                in_quotes = true;
            }
            current.push(c);
        }
    }
    out.push(current);
    out.into_iter()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect()
}

/// `header:NAME.contains`: the list header has every one of `elements` (case-insensitive).
pub fn list_contains(resp: &ResponseData, name: &str, elements: &[String]) -> CheckResult {
    let expected = format!(
        "a list containing {}",
        elements
            .iter()
            .map(|e| quoted(e))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Some(value) = combined(resp, name) else {
        return fail(id(name, "contains"), expected, missing(name));
    };
    let have = list_elements(&value);
    let absent: Vec<&String> = elements
        .iter()
        .filter(|want| !have.iter().any(|h| h.eq_ignore_ascii_case(want.trim())))
        .collect();
    if absent.is_empty() {
        pass(id(name, "contains"), expected, quoted(&value))
    } else {
        let names: Vec<String> = absent.iter().map(|e| quoted(e)).collect();
        fail(
            id(name, "contains"),
            expected,
            format!("{} (without {})", quoted(&value), names.join(", ")),
        )
    }
}

/// A parsed media type: lowercase `type/subtype` and its parameters (names lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub params: Vec<(String, String)>,
}

/// Parses `type/subtype *(; name=value)` (RFC 9110 §8.3.1), or `None` when it is not one.
pub fn parse_media_type(value: &str) -> Option<MediaType> {
    let mut parts = split_params(value).into_iter();
    let essence = parts.next()?.trim().to_ascii_lowercase();
    let (ty, sub) = essence.split_once('/')?;
    if !is_token(ty) || !is_token(sub) {
        return None;
    }
    let mut params = Vec::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (n, v) = p.split_once('=')?;
        let n = n.trim();
        if !is_token(n) {
            return None;
        }
        params.push((
            n.to_ascii_lowercase(),
            v.trim().trim_matches('"').to_owned(),
        ));
    }
    Some(MediaType { essence, params })
}

fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for c in value.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            ';' if !in_quotes => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

/// An RFC 9110 `token` (§5.6.2).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `header:NAME.media_type`: the media type is `expected` (type/subtype, case-insensitive); for the
/// JSON:API media type, parameters other than `ext`/`profile` fail (JSON:API 1.1).
pub fn media_type(resp: &ResponseData, name: &str, expected: &str) -> CheckResult {
    let check = id(name, "media_type");
    let want = expected.trim().to_ascii_lowercase();
    let jsonapi = want == JSONAPI_MEDIA_TYPE;
    let expected_text = if jsonapi {
        format!("`{want}` (parameters ext/profile only)")
    } else {
        quoted(&want)
    };
    let values: Vec<&str> = resp.header_all(name).collect();
    let result = match values.as_slice() {
        [] => fail(check, expected_text, missing(name)),
        [value] => match parse_media_type(value) {
            None => fail(
                check,
                expected_text,
                format!("{} (not a media type)", quoted(value)),
            ),
            Some(mt) if mt.essence != want => fail(check, expected_text, quoted(value)),
            Some(mt) => {
                let bad: Vec<&str> = mt
                    .params
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .filter(|n| *n != "ext" && *n != "profile")
                    .collect();
                if jsonapi && !bad.is_empty() {
                    return fail(
                        check,
                        expected_text,
                        format!(
                            "{} (parameter `{}` not allowed)",
                            quoted(value),
                            bad.join("`, `")
                        ),
                    )
                    .with_rule("JSON:API 1.1 Content Negotiation");
                }
                pass(check, expected_text, quoted(value))
            }
        },
        several => fail(
            check,
            expected_text,
            format!("{} `{}` headers", several.len(), name.to_ascii_lowercase()),
        ),
    };
    if jsonapi {
        result.with_rule("JSON:API 1.1 Content Negotiation")
    } else {
        result
    }
}

/// Why `value` is not an entity-tag of the wanted kind (RFC 9110 §8.8.3), or `None` when it is.
pub fn etag_problem(value: &str, kind: EtagKind) -> Option<String> {
    let (weak, opaque) = match value.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let inner = match opaque
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) if opaque.len() >= 2 => inner,
        _ => return Some("not a quoted entity-tag".into()),
    };
    if let Some(bad) = inner
        .bytes()
        .find(|b| !(*b == 0x21 || (0x23..=0x7e).contains(b) || *b >= 0x80))
    {
        return Some(format!(
            "byte 0x{bad:02x} is not allowed inside an entity-tag"
        ));
    }
    match (kind, weak) {
        (EtagKind::Strong, true) => Some("a weak entity-tag".into()),
        (EtagKind::Weak, false) => Some("a strong entity-tag".into()),
        _ => None,
    }
}

/// `header:NAME.etag`: one entity-tag of the wanted kind (RFC 9110 §8.8.3).
pub fn etag_syntax(resp: &ResponseData, name: &str, kind: EtagKind) -> CheckResult {
    let check = id(name, "etag");
    let expected = match kind {
        EtagKind::Strong => "a strong entity-tag (`\"…\"`)",
        EtagKind::Weak => "a weak entity-tag (`W/\"…\"`)",
        EtagKind::Any => "an entity-tag (`\"…\"` or `W/\"…\"`)",
    };
    let values: Vec<&str> = resp.header_all(name).collect();
    let result = match values.as_slice() {
        [] => fail(check, expected, missing(name)),
        [value] => match etag_problem(value, kind) {
            None => pass(check, expected, quoted(value)),
            Some(why) => fail(check, expected, format!("{} ({why})", quoted(value))),
        },
        several => fail(check, expected, format!("{} values", several.len())),
    };
    result.with_rule("RFC 9110 §8.8.3")
}

/// Whether `value` is an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form a
/// sender may generate (RFC 9110 §5.6.7).
pub fn is_imf_fixdate(value: &str) -> bool {
    httpdate::parse_http_date(value).is_ok_and(|t| httpdate::fmt_http_date(t) == value)
}

/// `header:NAME.http_date`: the value is an IMF-fixdate (RFC 9110 §5.6.7).
pub fn http_date(resp: &ResponseData, name: &str) -> CheckResult {
    let check = id(name, "http_date");
    let expected = "an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`)";
    let result = match combined(resp, name) {
        None => fail(check, expected, missing(name)),
        Some(v) => verdict(check, is_imf_fixdate(&v), expected, quoted(&v)),
    };
    result.with_rule("RFC 9110 §5.6.7")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> ResponseData {
        ResponseData {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..ResponseData::default()
        }
    }

    #[test]
    fn equals_is_case_insensitive_on_names() {
        let r = resp(&[("x-frame-options", "SAMEORIGIN")]);
        let ok = equals(&r, "X-Frame-Options", "SAMEORIGIN");
        assert!(ok.passed);
        assert_eq!(ok.check, "header:x-frame-options");
        let bad = equals(&r, "X-Frame-Options", "DENY");
        assert!(!bad.passed);
        assert_eq!(bad.actual, "`SAMEORIGIN`");
        let none = equals(&r, "Referrer-Policy", "no-referrer");
        assert!(!none.passed);
        assert_eq!(none.actual, "no `referrer-policy` header");
    }

    #[test]
    fn matches_and_bad_regex() {
        let r = resp(&[("x-request-id", "3f1c")]);
        assert!(matches(&r, "X-Request-Id", "^[0-9a-f]+$").passed);
        assert!(!matches(&r, "X-Request-Id", "^[0-9]+$").passed);
        let bad = matches(&r, "X-Request-Id", "(");
        assert!(!bad.passed);
        assert!(bad.actual.contains("invalid regular expression"));
        assert!(!matches(&r, "X-Runtime", ".").passed);
    }

    #[test]
    fn present_and_absent() {
        let r = resp(&[("location", "/v1/sessions/1")]);
        assert!(presence(&r, "Location", true).passed);
        assert!(!presence(&r, "Location", false).passed);
        assert!(presence(&r, "ETag", false).passed);
        let miss = presence(&r, "ETag", true);
        assert!(!miss.passed);
        assert_eq!(miss.check, "header:etag.present");
    }

    #[test]
    fn list_contains_across_lines_and_case() {
        let r = resp(&[
            ("cache-control", "max-age=0, private"),
            ("cache-control", "No-Store"),
        ]);
        assert!(list_contains(&r, "Cache-Control", &["no-store".into()]).passed);
        let bad = list_contains(&r, "Cache-Control", &["no-store".into(), "no-cache".into()]);
        assert!(!bad.passed);
        assert!(bad.actual.contains("without `no-cache`"));
        assert_eq!(
            list_elements(r#"a, b="x, y", c"#),
            vec!["a", r#"b="x, y""#, "c"]
        );
        // `no-store` must be a whole element, not a substring.
        let r = resp(&[("cache-control", "no-store-please")]);
        assert!(!list_contains(&r, "Cache-Control", &["no-store".into()]).passed);
    }

    #[test]
    fn media_type_rules() {
        let r = resp(&[("content-type", "application/json; charset=utf-8")]);
        assert!(media_type(&r, "Content-Type", "application/json").passed);
        assert!(!media_type(&r, "Content-Type", "text/plain").passed);

        let ok = resp(&[(
            "content-type",
            "application/vnd.api+json; ext=\"https://x\"",
        )]);
        let r = media_type(&ok, "Content-Type", JSONAPI_MEDIA_TYPE);
        assert!(r.passed);
        assert_eq!(r.rule.as_deref(), Some("JSON:API 1.1 Content Negotiation"));

        let bad = resp(&[("content-type", "application/vnd.api+json; charset=utf-8")]);
        let r = media_type(&bad, "Content-Type", JSONAPI_MEDIA_TYPE);
        assert!(!r.passed);
        assert!(r.actual.contains("`charset` not allowed"));

        let garbage = resp(&[("content-type", "json")]);
        assert!(!media_type(&garbage, "Content-Type", "application/json").passed);
        let twice = resp(&[("content-type", "a/b"), ("content-type", "a/b")]);
        assert!(!media_type(&twice, "Content-Type", "a/b").passed);
    }

    #[test]
    fn etag_syntax_rules() {
        assert_eq!(etag_problem("\"abc\"", EtagKind::Strong), None);
        assert_eq!(etag_problem("W/\"abc\"", EtagKind::Weak), None);
        assert_eq!(etag_problem("\"\"", EtagKind::Any), None);
        assert!(etag_problem("W/\"abc\"", EtagKind::Strong).is_some());
        assert!(etag_problem("\"abc\"", EtagKind::Weak).is_some());
        assert!(etag_problem("abc", EtagKind::Any).is_some());
        assert!(etag_problem("\"", EtagKind::Any).is_some());
        assert!(etag_problem("\"a b\"", EtagKind::Any).is_some());
        assert!(etag_problem("\"a\"b\"", EtagKind::Any).is_some());
        let r = resp(&[("etag", "\"0123\"")]);
        let ok = etag_syntax(&r, "ETag", EtagKind::Strong);
        assert!(ok.passed);
        assert_eq!(ok.rule.as_deref(), Some("RFC 9110 §8.8.3"));
        assert!(!etag_syntax(&r, "ETag", EtagKind::Weak).passed);
        assert!(!etag_syntax(&resp(&[]), "ETag", EtagKind::Any).passed);
    }

    #[test]
    fn http_date_is_imf_fixdate_only() {
        assert!(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
        // RFC 850 and asctime forms are accepted by recipients but must not be generated.
        assert!(!is_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
        assert!(!is_imf_fixdate("Sun Nov  6 08:49:37 1994"));
        // Wrong day name.
        assert!(!is_imf_fixdate("Mon, 06 Nov 1994 08:49:37 GMT"));
        assert!(!is_imf_fixdate("yesterday"));
        let r = resp(&[("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert!(http_date(&r, "Last-Modified").passed);
        assert!(!http_date(&resp(&[("last-modified", "1994-11-06")]), "Last-Modified").passed);
    }
}
