//! `status`: the response status is the documented one (or one of several).

use super::{verdict, CheckResult};
use crate::http::ResponseData;
use crate::spec::StatusExpect;

/// The status the expectation allows, as text (`401`, `one of 200, 201`).
pub fn describe(expect: &StatusExpect) -> String {
    match expect {
        StatusExpect::One(s) => s.to_string(),
        StatusExpect::AnyOf(v) => {
            let list: Vec<String> = v.iter().map(u16::to_string).collect();
            format!("one of {}", list.join(", "))
        }
    }
}

/// `status`: the response status is allowed by the expectation.
pub fn documented_status(resp: &ResponseData, expect: &StatusExpect) -> CheckResult {
    verdict(
        "status",
        expect.allows(resp.status),
        describe(expect),
        resp.status.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16) -> ResponseData {
        ResponseData {
            status,
            ..ResponseData::default()
        }
    }

    #[test]
    fn one_status() {
        let r = documented_status(&resp(401), &StatusExpect::One(401));
        assert!(r.passed);
        let r = documented_status(&resp(200), &StatusExpect::One(401));
        assert!(!r.passed);
        assert_eq!(r.message(), "status: expected 401, got 200");
    }

    #[test]
    fn any_of() {
        let expect = StatusExpect::AnyOf(vec![200, 204]);
        assert!(documented_status(&resp(204), &expect).passed);
        let r = documented_status(&resp(201), &expect);
        assert!(!r.passed);
        assert_eq!(r.expected, "one of 200, 204");
    }
}
