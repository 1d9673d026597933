//! `body.jwt*`: a JSON Web Token found in the body, decoded without verifying its signature
//! (RFC 7519): its JOSE header `alg`, the claims it carries, and that `exp` is in the future.
//! The token itself is never shown (it is a credential).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::{fail, pass, verdict, CheckResult, CheckResultExt};
use crate::spec::JwtExpect;

/// The rule these checks enforce.
pub const RULE: &str = "RFC 7519";

/// A decoded (unverified) JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// Decodes the JOSE header and claims of a compact JWS, or says why it is not one.
pub fn decode(token: &str) -> Result<Decoded, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a value of {} dot-separated parts, not a JWT (3)",
            parts.len()
        ));
    }
    let part = |i: usize, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|e| format!("a JWT whose {what} is not base64url ({e})"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("a JWT whose {what} is not a JSON object")),
            Err(e) => Err(format!("a JWT whose {what} is not JSON ({e})")),
        }
    };
    Ok(Decoded {
        header: part(0, "header")?,
        claims: part(1, "payload")?,
    })
}

/// `body.jwt` (and `.alg`, `.claims`, `.unexpired` as asked): the token at `expect.pointer` decodes
/// and shows what is expected. `now` is the current time in seconds since the Unix epoch.
pub fn token_claims(
    body: &Result<Value, String>,
    expect: &JwtExpect,
    now: u64,
) -> Vec<CheckResult> {
    let want = format!("a JWT at {}", expect.pointer);
    let found = (|| -> Result<Decoded, String> {
        match body
            .as_ref()
            .map_err(Clone::clone)?
            .pointer(&expect.pointer)
        {
            Some(Value::String(t)) => decode(t),
            Some(other) => Err(format!("a {} instead of a string", kind_of(other))),
            None => Err("no value there".into()),
        }
    })();
    let decoded = match found {
        Ok(d) => d,
        Err(why) => {
            return vec![fail("body.jwt", want, why)
                .at_pointer(expect.pointer.clone())
                .with_rule(RULE)]
        }
    };
    let mut out = vec![pass("body.jwt", want.clone(), "a decodable JWT")
        .at_pointer(expect.pointer.clone())
        .with_rule(RULE)];
    if let Some(alg) = &expect.alg {
        let actual = decoded.header.get("alg");
        let shown = match actual {
            Some(Value::String(s)) => format!("alg `{s}`"),
            Some(v) => format!("alg {v}"),
            None => "no `alg`".into(),
        };
        let ok = actual
            .and_then(Value::as_str)
            .is_some_and(|a| alg.allows(a));
        out.push(verdict("body.jwt.alg", ok, alg.to_string(), shown).with_rule("RFC 7515 §4.1.1"));
    }
    if !expect.claims.is_empty() {
        let missing: Vec<&str> = expect
            .claims
            .iter()
            .map(String::as_str)
            .filter(|c| !decoded.claims.contains_key(*c))
            .collect();
        let present: Vec<&str> = decoded.claims.keys().map(String::as_str).collect();
        let expected = format!("claims {}", expect.claims.join(", "));
        let actual = if missing.is_empty() {
            format!("claims {}", present.join(", "))
        } else {
            format!(
                "claims {} (without {})",
                present.join(", "),
                missing.join(", ")
            )
        };
        out.push(verdict("body.jwt.claims", missing.is_empty(), expected, actual).with_rule(RULE));
    }
    if expect.unexpired {
        out.push(unexpired(&decoded.claims, now));
    }
    out
}

/// `body.jwt.unexpired`: `exp` is a number of seconds later than `now` (RFC 7519 §4.1.4).
pub fn unexpired(claims: &Map<String, Value>, now: u64) -> CheckResult {
    let expected = "an `exp` in the future";
    let result = match claims.get("exp") {
        None => fail("body.jwt.unexpired", expected, "no `exp` claim"),
        Some(v) => match v.as_f64() {
            None => fail(
                "body.jwt.unexpired",
                expected,
                format!("`exp` {v} (not a number)"),
            ),
            Some(exp) if exp > now as f64 => pass(
                "body.jwt.unexpired",
                expected,
                format!("`exp` in {} s", (exp - now as f64).round()),
            ),
            Some(exp) => fail(
                "body.jwt.unexpired",
                expected,
                format!("`exp` {} s ago", (now as f64 - exp).round()),
            ),
        },
    };
    result.with_rule("RFC 7519 §4.1.4")
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn resp(body: Value) -> Result<Value, String> {
        super::super::body_json(&crate::http::ResponseData {
            status: 200,
            body: body.to_string().into_bytes(),
            ..crate::http::ResponseData::default()
        })
    }

    fn expect(alg: Option<&str>, claims: &[&str], unexpired: bool) -> JwtExpect {
        JwtExpect {
            pointer: "/auth_token".into(),
            alg: alg.map(|a| crate::spec::AlgExpect::One(a.to_owned())),
            claims: claims
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            unexpired,
        }
    }

    #[test]
    fn good_token_passes_every_check() {
        let t = token(
            json!({"alg": "HS256", "typ": "JWT"}),
            json!({"user_id": 1, "exp": 2000}),
        );
        let r = token_claims(
            &resp(json!({ "auth_token": t })),
            &expect(Some("HS256"), &["user_id", "exp"], true),
            1000,
        );
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|c| c.passed), "{r:?}");
        // The token is never shown.
        assert!(r
            .iter()
            .all(|c| !c.actual.contains(&t) && !c.expected.contains(&t)));
    }

    #[test]
    fn wrong_alg_missing_claim_and_expired_fail() {
        let t = token(json!({"alg": "none"}), json!({"exp": 500}));
        let r = token_claims(
            &resp(json!({ "auth_token": t })),
            &expect(Some("HS256"), &["user_id"], true),
            1000,
        );
        let failed: Vec<&str> = r
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.check.as_str())
            .collect();
        assert_eq!(
            failed,
            ["body.jwt.alg", "body.jwt.claims", "body.jwt.unexpired"]
        );
        assert!(r[2].actual.contains("without user_id"));
        assert!(r[3].actual.contains("500 s ago"));
    }

    #[test]
    fn undecodable_tokens_fail_once() {
        for body in [
            json!({"auth_token": "abc"}),
            json!({"auth_token": "a.b.c"}),
            json!({"auth_token": 5}),
            json!({"token": "x"}),
        ] {
            let r = token_claims(&resp(body.clone()), &expect(Some("HS256"), &[], true), 0);
            assert_eq!(r.len(), 1, "{body}");
            assert!(!r[0].passed);
            assert_eq!(r[0].pointer.as_deref(), Some("/auth_token"));
        }
        let not_object = format!(
            "{}.{}.x",
            URL_SAFE_NO_PAD.encode("[]"),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(decode(&not_object)
            .unwrap_err()
            .contains("header is not a JSON object"));
    }

    #[test]
    fn exp_must_be_numeric() {
        let claims = json!({"exp": "tomorrow"});
        let r = unexpired(claims.as_object().unwrap(), 0);
        assert!(!r.passed);
        assert!(r.actual.contains("not a number"));
    }
}
