//! Automatic checks, applied to every step whatever the spec says.
//!
//! `rfc9110.no_content_body`: a 204 (No Content, RFC 9110 §15.3.5) or 304 (Not Modified, §15.4.5)
//! response has no content. Recorded only for those two statuses.

use super::{verdict, CheckResult, CheckResultExt};
use crate::http::ResponseData;

/// `rfc9110.no_content_body`, or `None` when the status is neither 204 nor 304.
pub fn no_content_body(resp: &ResponseData) -> Option<CheckResult> {
    let rule = match resp.status {
        204 => "RFC 9110 §15.3.5",
        304 => "RFC 9110 §15.4.5",
        _ => return None,
    };
    let actual = if resp.body.is_empty() {
        "no content".to_owned()
    } else {
        format!("{} bytes of content", resp.body.len())
    };
    Some(
        verdict(
            "rfc9110.no_content_body",
            resp.body.is_empty(),
            format!("no content in a {} response", resp.status),
            actual,
        )
        .with_rule(rule),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> ResponseData {
        ResponseData {
            status,
            body: body.as_bytes().to_vec(),
            ..ResponseData::default()
        }
    }

    #[test]
    fn only_for_204_and_304() {
        assert_eq!(no_content_body(&resp(200, "{}")), None);
        assert_eq!(no_content_body(&resp(201, "")), None);
        let ok = no_content_body(&resp(204, "")).unwrap();
        assert!(ok.passed);
        assert_eq!(ok.rule.as_deref(), Some("RFC 9110 §15.3.5"));
        let bad = no_content_body(&resp(304, "{}")).unwrap();
        assert!(!bad.passed);
        assert_eq!(bad.rule.as_deref(), Some("RFC 9110 §15.4.5"));
        assert_eq!(bad.actual, "2 bytes of content");
    }
}
