//! `same_as:STEP.PART`: this response equals an earlier named step's in one part (`status`, `body`,
//! `header:NAME`) — e.g. the hygiene rule "an unknown user and a wrong password get one answer"
//! (OWASP ASVS 5.0 V6.3.8), which stops user enumeration.

use super::body::{difference, Mode};
use super::headers::{combined, missing, quoted};
use super::{fail, shorten, verdict, CheckResult, CheckResultExt};
use crate::http::ResponseData;

fn id(step: &str, part: &str) -> String {
    format!("same_as:{step}.{part}")
}

/// Compares `part` of `current` with the response of the earlier step `step` (`None` when that
/// step has no response: it failed to run or does not exist).
pub fn same_part(
    current: &ResponseData,
    earlier: Option<&ResponseData>,
    step: &str,
    part: &str,
) -> CheckResult {
    let check = id(step, &part.to_ascii_lowercase());
    let Some(earlier) = earlier else {
        return fail(
            check,
            format!("the {part} of step `{step}`"),
            format!("no response of an earlier step `{step}` to compare with"),
        );
    };
    if part == "status" {
        return verdict(
            check,
            current.status == earlier.status,
            earlier.status.to_string(),
            current.status.to_string(),
        );
    }
    if part == "body" {
        return same_body(check, current, earlier);
    }
    if let Some(name) = part.strip_prefix("header:") {
        let show = |v: Option<String>| v.map_or_else(|| missing(name), |v| quoted(&v));
        let (e, a) = (combined(earlier, name), combined(current, name));
        return verdict(check, e == a, show(e), show(a));
    }
    fail(
        check,
        "a part among `status`, `body`, `header:NAME`",
        format!("unknown part `{part}` in the spec"),
    )
}

fn same_body(check: String, current: &ResponseData, earlier: &ResponseData) -> CheckResult {
    if current.truncated || earlier.truncated {
        return fail(
            check,
            "the same body",
            "a body cut at --max-body; bodies are not compared",
        );
    }
    if current.body == earlier.body {
        return verdict(
            check,
            true,
            "the same body",
            format!("the same {} bytes", current.body.len()),
        );
    }
    // Point at the first difference when both are JSON.
    if let (Ok(e), Ok(a)) = (earlier.json(), current.json()) {
        if let Some(d) = difference(&e, &a, String::new(), Mode::Exact) {
            return fail(check, d.expected, d.actual).at_pointer(d.pointer);
        }
    }
    let at = current
        .body
        .iter()
        .zip(earlier.body.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(current.body.len().min(earlier.body.len()));
    fail(
        check,
        shorten(&earlier.text()),
        format!(
            "{} (different from byte {at}; {} vs {} bytes)",
            shorten(&current.text()),
            current.body.len(),
            earlier.body.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> ResponseData {
        ResponseData {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn one_answer_for_unknown_user_and_wrong_password() {
        let wrong = resp(
            401,
            &[("content-type", "application/json")],
            r#"{"message":"Invalid credentials"}"#,
        );
        let unknown = wrong.clone();
        for part in [
            "status",
            "body",
            "header:Content-Type",
            "header:www-authenticate",
        ] {
            let r = same_part(&unknown, Some(&wrong), "wrong-password", part);
            assert!(r.passed, "{part}: {r:?}");
        }
    }

    #[test]
    fn enumeration_is_caught() {
        let wrong = resp(
            401,
            &[("content-type", "application/json")],
            r#"{"message":"Invalid credentials"}"#,
        );
        let unknown = resp(
            404,
            &[("content-type", "text/plain")],
            r#"{"message":"No such user"}"#,
        );
        let r = same_part(&unknown, Some(&wrong), "wrong-password", "status");
        assert!(!r.passed);
        assert_eq!((r.expected.as_str(), r.actual.as_str()), ("401", "404"));
        assert_eq!(r.check, "same_as:wrong-password.status");
        let r = same_part(&unknown, Some(&wrong), "wrong-password", "body");
        assert!(!r.passed);
        assert_eq!(r.pointer.as_deref(), Some("/message"));
        let r = same_part(
            &unknown,
            Some(&wrong),
            "wrong-password",
            "header:content-type",
        );
        assert!(!r.passed);
        let text = resp(401, &[], "abc");
        let r = same_part(&text, Some(&resp(401, &[], "abd")), "w", "body");
        assert!(r.actual.contains("from byte 2"), "{}", r.actual);
    }

    #[test]
    fn missing_step_or_unknown_part_fail() {
        let r = resp(401, &[], "");
        assert!(!same_part(&r, None, "nope", "status").passed);
        assert!(!same_part(&r, Some(&r), "w", "cookies").passed);
    }
}
