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

/// The value a capture takes from a response, or why there is none.
pub fn extract(capture: &Capture, resp: &ResponseData) -> Result<String, String> {
    match capture.source() {
        Some(CaptureSource::Json(pointer)) => {
            let json = resp.json()?;
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(serde_json::Value::Null) | None => {
                    Err(format!("no value at JSON pointer `{pointer}` of the body"))
                }
                Some(other) => Ok(other.to_string()),
            }
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
        None => Err("a capture must name exactly one of json, header, cookie".into()),
    }
}
