//! Resolved requests and received responses as plain data, and their curl reproduction.

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;
use crate::spec::model::Method;

/// A fully resolved request: what is sent, byte for byte (before redaction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestData {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers in order; names as written in the spec.
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl RequestData {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A copy with every secret masked (URL, headers, body).
    pub fn redacted(&self, redactor: &Redactor) -> RequestData {
        RequestData {
            method: self.method,
            url: redactor.redact(&self.url),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), redactor.redact(v)))
                .collect(),
            body: self.body.as_ref().map(|b| redactor.redact(b)),
        }
    }

    /// A shell command that sends the same request, secrets masked.
    pub fn to_curl(&self, redactor: &Redactor) -> String {
        let r = self.redacted(redactor);
        let mut out = String::from("curl -i");
        match r.method {
            Method::Get => {}
            Method::Head => out.push_str(" --head"),
            m => {
                out.push_str(" -X ");
                out.push_str(m.as_str());
            }
        }
        out.push(' ');
        out.push_str(&shell_quote(&r.url));
        for (n, v) in &r.headers {
            out.push_str(" -H ");
            out.push_str(&shell_quote(&format!("{n}: {v}")));
        }
        if let Some(b) = &r.body {
            out.push_str(" --data-raw ");
            out.push_str(&shell_quote(b));
        }
        out
    }
}

/// A received response. `body` is at most `--max-body` bytes; `truncated` says it was cut.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseData {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(with = "body_bytes")]
    pub body: Vec<u8>,
    #[serde(default)]
    pub truncated: bool,
}

impl ResponseData {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order (e.g. several `Set-Cookie`).
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, or why it is not JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        if self.body.is_empty() {
            return Err("the body is empty".into());
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("the body is not JSON: {e}"))
    }
}

mod body_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}

/// Quotes a word for POSIX shells.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_quotes_and_redacts() {
        let mut red = Redactor::new();
        red.add("hunter2");
        let req = RequestData {
            method: Method::Post,
            url: "http://127.0.0.1:1/api/v1/sessions".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some("email=foo%40bar.com&password=hunter2".into()),
        };
        assert_eq!(
            req.to_curl(&red),
            "curl -i -X POST http://127.0.0.1:1/api/v1/sessions -H 'Content-Type: application/x-www-form-urlencoded' --data-raw 'email=foo%40bar.com&password=***'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
