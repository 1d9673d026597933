//! `captured:NAME.*`: rules on values captured so far — e.g. the session-hygiene rule "a second
//! login issues a different token" (`not_equals` the first login's token), or `Location` equal to
//! the body's `links.self`. Secret values are masked by the engine afterwards.

use super::{compile_pattern, fail, verdict, CheckResult};
use crate::spec::ValueExpect;

fn id(name: &str, rule: &str) -> String {
    format!("captured:{name}.{rule}")
}

fn shown(v: &str) -> String {
    format!("`{v}`")
}

/// Each rule of `expect` (values already rendered) on the value captured as `name`;
/// `value` is the value or why there is none.
pub fn captured_value(
    name: &str,
    value: Result<&str, &str>,
    expect: &ValueExpect,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let actual = match value {
        Ok(v) => shown(v),
        Err(why) => format!("nothing captured ({why})"),
    };
    if let Some(want) = &expect.equals {
        let ok = value == Ok(want.as_str());
        out.push(verdict(id(name, "equals"), ok, shown(want), actual.clone()));
    }
    if let Some(other) = &expect.not_equals {
        let ok = matches!(value, Ok(v) if v != other);
        out.push(verdict(
            id(name, "not_equals"),
            ok,
            format!("a value other than {}", shown(other)),
            actual.clone(),
        ));
    }
    if let Some(pattern) = &expect.matches {
        let expected = format!("a value matching /{pattern}/");
        match compile_pattern(pattern) {
            Err(why) => out.push(fail(id(name, "matches"), expected, why)),
            Ok(re) => {
                let ok = matches!(value, Ok(v) if re.is_match(v));
                out.push(verdict(id(name, "matches"), ok, expected, actual.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(equals: Option<&str>, not_equals: Option<&str>, matches: Option<&str>) -> ValueExpect {
        ValueExpect {
            equals: equals.map(str::to_owned),
            not_equals: not_equals.map(str::to_owned),
            matches: matches.map(str::to_owned),
        }
    }

    #[test]
    fn second_login_issues_a_different_token() {
        let r = captured_value("token", Ok("t2"), &rule(None, Some("t1"), None));
        assert!(r[0].passed);
        assert_eq!(r[0].check, "captured:token.not_equals");
        let r = captured_value("token", Ok("t1"), &rule(None, Some("t1"), None));
        assert!(!r[0].passed);
    }

    #[test]
    fn equals_and_matches() {
        let r = captured_value(
            "location",
            Ok("/v1/sessions/abc"),
            &rule(Some("/v1/sessions/abc"), None, Some("^/v1/sessions/")),
        );
        assert!(r.iter().all(|c| c.passed));
        let r = captured_value("location", Ok("/x"), &rule(Some("/y"), None, Some("^/y")));
        assert!(r.iter().all(|c| !c.passed));
        let r = captured_value("location", Ok("/x"), &rule(None, None, Some("(")));
        assert!(!r[0].passed);
        assert!(r[0].actual.contains("invalid regular expression"));
    }

    #[test]
    fn nothing_captured_fails_every_rule() {
        let r = captured_value(
            "token",
            Err("no value at JSON pointer `/auth_token` of the body"),
            &rule(Some("a"), Some("b"), Some(".")),
        );
        assert_eq!(r.len(), 3);
        assert!(r
            .iter()
            .all(|c| !c.passed && c.actual.starts_with("nothing captured")));
    }
}
