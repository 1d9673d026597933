//! Turning an operation (plus a step's overrides) into a [`RequestData`], and captures into values.

use indexmap::IndexMap;

use super::model::{Body, Capture, CaptureSource, Operation, Spec, Step};
use super::template::{self, TemplateError};
use crate::http::{RequestData, ResponseData};
use crate::redact::{percent_encode, Redactor};

/// The variables of one run of a case (or one simulated user): spec variables, then captures.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: IndexMap<String, String>,
    redactor: Redactor,
}

/// A variable without a value: no `--var`, its `env` unset, and no `default`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `{name}` has no value: pass --var {name}=VALUE{env_hint}")]
pub struct MissingVariable {
    pub name: String,
    pub env_hint: String,
}

impl Vars {
    /// Resolves a spec's variables: `overrides` (from `--var`) first, then the environment
    /// (through `env`, so tests can pass their own), then defaults.
    pub fn from_spec(
        spec: &Spec,
        overrides: &IndexMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vars, MissingVariable> {
        let mut vars = Vars::default();
        for (name, var) in &spec.variables {
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| var.env.as_deref().and_then(&env))
                .or_else(|| var.default.clone());
            let Some(value) = value else {
                return Err(MissingVariable {
                    name: name.clone(),
                    env_hint: var
                        .env
                        .as_deref()
                        .map(|e| format!(" or set {e}"))
                        .unwrap_or_default(),
                });
            };
            vars.set(name, value, var.secret);
        }
        Ok(vars)
    }

    /// Sets a value; a secret one is added to the redactor.
    pub fn set(&mut self, name: &str, value: String, secret: bool) {
        if secret {
            self.redactor.add(&value);
        }
        self.values.insert(name.to_owned(), value);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The redactor holding every secret value seen so far.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Renders a template against these values plus `with` overrides (themselves templated).
    pub fn render(&self, text: &str) -> Result<String, TemplateError> {
        template::render(text, |n| self.get(n))
    }

    /// A copy with a step's `with` overrides applied (rendered against the current values).
    pub fn with_overrides(&self, with: &IndexMap<String, String>) -> Result<Vars, TemplateError> {
        if with.is_empty() {
            return Ok(self.clone());
        }
        let mut out = self.clone();
        for (k, v) in with {
            let rendered = self.render(v)?;
            out.values.insert(k.clone(), rendered);
        }
        Ok(out)
    }
}

/// Builds the request of `op` as modified by `step`, against `base_url` (no trailing slash needed).
pub fn build_request(
    spec: &Spec,
    op: &Operation,
    step: Option<&Step>,
    base_url: &str,
    vars: &Vars,
) -> Result<RequestData, TemplateError> {
    let vars = match step {
        Some(s) => vars.with_overrides(&s.with)?,
        None => vars.clone(),
    };
    let path = vars.render(&op.path)?;
    let mut url = format!("{}{}", base_url.trim_end_matches('/'), path);
    if !op.query.is_empty() {
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, v) in &op.query {
            url.push(sep);
            url.push_str(&percent_encode(k));
            url.push('=');
            url.push_str(&percent_encode(&vars.render(v)?));
            sep = '&';
        }
    }

    let body_tpl = match step.and_then(|s| s.body.as_ref()) {
        Some(b) => Some(b),
        None => op.body.as_ref(),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let put = |headers: &mut Vec<(String, String)>, name: &str, value: Option<String>| {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(v) = value {
            headers.push((name.to_owned(), v));
        }
    };
    if let Some(ct) = body_tpl.and_then(Body::content_type) {
        put(&mut headers, "Content-Type", Some(ct.to_owned()));
    }
    for (n, v) in spec.headers.iter().chain(op.headers.iter()) {
        put(&mut headers, n, Some(vars.render(v)?));
    }
    if let Some(step) = step {
        for (n, v) in &step.headers {
            let value = v.as_deref().map(|v| vars.render(v)).transpose()?;
            put(&mut headers, n, value);
        }
    }

    let body = match body_tpl {
        None | Some(Body::Empty(_)) => None,
        Some(Body::Json(v) | Body::Jsonapi(v)) => {
            Some(template::render_json(v, &|n| vars.get(n))?.to_string())
        }
        Some(Body::Form(fields)) => {
            let mut out = String::new();
            for (k, v) in fields {
                if !out.is_empty() {
                    out.push('&');
                }
                out.push_str(&form_encode(k));
                out.push('=');
                out.push_str(&form_encode(&vars.render(v)?));
            }
            Some(out)
        }
        Some(Body::Raw(s)) => Some(vars.render(s)?),
    };
    Ok(RequestData {
        method: op.method,
        url,
        headers,
        body,
    })
}

fn form_encode(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

/// The value a capture takes from a response, or why there is none. A `jsonpath` query is
/// rendered without variables (see [`extract_with`]).
pub fn extract(capture: &Capture, resp: &ResponseData) -> Result<String, String> {
    extract_with(capture, resp, |_| None)
}

/// The value a capture takes from a response, or why there is none; a `jsonpath` query is
/// rendered with `lookup` first (the case's variables and the captures so far).
pub fn extract_with<'v>(
    capture: &Capture,
    resp: &ResponseData,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> Result<String, String> {
    match capture.source() {
        Some(CaptureSource::Json(pointer)) => {
            let json = resp.json()?;
            match json.pointer(pointer) {
                Some(value) => json_value(value)
                    .ok_or_else(|| format!("no value at JSON pointer `{pointer}` of the body")),
                None => Err(format!("no value at JSON pointer `{pointer}` of the body")),
            }
        }
        Some(CaptureSource::JsonPath(query)) => {
            let query = template::render(query, lookup)
                .map_err(|e| format!("cannot render the JSONPath `{query}`: {e}"))?;
            let path = parse_jsonpath(&query)
                .map_err(|why| format!("the JSONPath `{query}` does not parse: {why}"))?;
            let json = resp.json()?;
            path.query(&json)
                .first()
                .and_then(json_value)
                .ok_or_else(|| format!("the JSONPath `{query}` selects nothing in the body"))
        }
        Some(CaptureSource::Header(name)) => resp
            .header(name)
            .map(str::to_owned)
            .ok_or_else(|| format!("no `{name}` header in the response")),
        Some(CaptureSource::Cookie(name)) => resp
            .header_all("set-cookie")
            .find_map(|c| {
                let first = c.split(';').next()?;
                let (n, v) = first.split_once('=')?;
                (n.trim() == name).then(|| v.trim().to_owned())
            })
            .ok_or_else(|| format!("no `{name}` cookie in Set-Cookie")),
        Some(CaptureSource::JwtClaim(j)) => {
            let token = if let Some(name) = &j.from {
                lookup(name)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{name}` has no value to decode as a JWT"))?
            } else if let Some(pointer) = &j.json {
                let json = resp.json()?;
                json.pointer(pointer)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no string at JSON pointer `{pointer}` of the body"))?
            } else if let Some(name) = &j.header {
                let value = resp
                    .header(name)
                    .ok_or_else(|| format!("no `{name}` header in the response"))?;
                let value = value.trim();
                match value.get(..7) {
                    Some(p) if p.eq_ignore_ascii_case("bearer ") => value[7..].trim().to_owned(),
                    _ => value.to_owned(),
                }
            } else {
                return Err("a `jwt_claim` names exactly one of from, json, header".into());
            };
            let payload = jwt_payload(&token)?;
            payload
                .get(&j.claim)
                .and_then(json_value)
                .ok_or_else(|| format!("the JWT has no `{}` claim", j.claim))
        }
        None => Err(
            "a capture must name exactly one of json, jsonpath, header, cookie, jwt_claim".into(),
        ),
    }
}

/// The payload of a JWT (RFC 7519), decoded without verifying anything.
fn jwt_payload(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT (three base64url parts joined by `.`)".into());
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("the JWT payload is not base64url: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err("the JWT payload is not a JSON object".into()),
    }
}

/// A captured JSON value: a string as it is, `null` as nothing, another value as its JSON text.
fn json_value(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Parses a JSONPath query (RFC 9535); the error on one line.
pub fn parse_jsonpath(query: &str) -> Result<serde_json_path::JsonPath, String> {
    serde_json_path::JsonPath::parse(query).map_err(|e| {
        let text = e.to_string();
        text.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid")
            .trim()
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> ResponseData {
        ResponseData {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: text.as_bytes().to_vec(),
            truncated: false,
        }
    }

    fn path(q: &str) -> Capture {
        Capture {
            jsonpath: Some(q.to_owned()),
            ..Capture::default()
        }
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"HS256"}"#),
            e.encode(payload)
        )
    }

    fn claim(from: Option<&str>, json: Option<&str>, header: Option<&str>, c: &str) -> Capture {
        Capture {
            jwt_claim: Some(crate::spec::JwtClaim {
                from: from.map(str::to_owned),
                json: json.map(str::to_owned),
                header: header.map(str::to_owned),
                claim: c.to_owned(),
            }),
            ..Capture::default()
        }
    }

    #[test]
    fn jwt_claims_from_a_value_the_body_or_a_header() {
        let token = jwt(r#"{"user_id":5,"jti":"abc"}"#);
        let mut resp = body(&format!(r#"{{"access":"{token}"}}"#));
        resp.headers
            .push(("authorization".into(), format!("Bearer {token}")));
        let lookup = |n: &str| (n == "access").then_some(token.as_str());
        let got = |c: &Capture| extract_with(c, &resp, lookup);
        assert_eq!(
            got(&claim(Some("access"), None, None, "user_id")).as_deref(),
            Ok("5")
        );
        assert_eq!(
            got(&claim(None, Some("/access"), None, "jti")).as_deref(),
            Ok("abc")
        );
        assert_eq!(
            got(&claim(None, None, Some("Authorization"), "jti")).as_deref(),
            Ok("abc")
        );
        let err = got(&claim(Some("access"), None, None, "exp")).unwrap_err();
        assert!(err.contains("no `exp` claim"), "{err}");
        let err = got(&claim(Some("other"), None, None, "exp")).unwrap_err();
        assert!(err.contains("`other` has no value"), "{err}");
        let garbage = body(r#"{"access":"not-a-jwt"}"#);
        let err = extract(&claim(None, Some("/access"), None, "jti"), &garbage).unwrap_err();
        assert!(err.contains("not a JWT"), "{err}");
    }

    #[test]
    fn jsonpath_takes_the_first_match_after_rendering() {
        let list =
            body(r#"[{"id":1,"device":"okhttp"},{"id":7,"device":"me"},{"id":9,"device":"me"}]"#);
        let lookup = |n: &str| (n == "device").then_some("me");
        let cap = path("$[?@.device == '{{device}}'].id");
        assert_eq!(extract_with(&cap, &list, lookup).as_deref(), Ok("7"));
        let cap = path("$[?@.id == {{sid}}].device");
        let lookup = |n: &str| (n == "sid").then_some("9");
        assert_eq!(extract_with(&cap, &list, lookup).as_deref(), Ok("me"));
        let cap = path("$[?@.device == 'nobody'].id");
        let err = extract_with(&cap, &list, |_| None).unwrap_err();
        assert!(err.contains("selects nothing"), "{err}");
        // Without a value for the placeholder the query cannot be rendered.
        let err = extract(&path("$[?@.device == '{{device}}']"), &list).unwrap_err();
        assert!(err.contains("cannot render"), "{err}");
        let err = extract(&path("$[?@.id =="), &list).unwrap_err();
        assert!(
            err.contains("does not parse") && !err.contains('\n'),
            "{err}"
        );
        let err = extract(&path("$[0].id"), &body("not json")).unwrap_err();
        assert!(!err.is_empty());
    }
}
