//! Content negotiation: which `Accept` values a dialect can satisfy (else 406, RFC 9110 §15.5.7) and
//! which request `Content-Type`s it understands (else 415, §15.5.16), including the JSON:API rules on
//! media type parameters (only `ext` and `profile`).

use axum::http::{header, HeaderMap};

/// A parsed media type: lower-cased `type/subtype` and its parameters (names lower-cased, values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub params: Vec<(String, String)>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl MediaType {
    /// Parses `type/subtype *(; name=value)`; `None` when it is not a media type.
    pub fn parse(s: &str) -> Option<MediaType> {
        let mut parts = s.split(';');
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
            let (name, value) = p.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            if !is_token(&name) {
                return None;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            params.push((name, value.to_string()));
        }
        Some(MediaType { essence, params })
    }

    /// JSON:API media type with no parameter other than `ext`/`profile`.
    fn is_plain_jsonapi(&self) -> bool {
        self.essence == JSONAPI
            && self
                .params
                .iter()
                .all(|(n, _)| n == "ext" || n == "profile")
    }

    /// `application/json` without parameters or with only `charset=utf-8`.
    fn is_utf8(&self, essence: &str) -> bool {
        self.essence == essence
            && self
                .params
                .iter()
                .all(|(n, v)| n == "charset" && v.eq_ignore_ascii_case("utf-8"))
    }
}

/// The JSON:API media type.
pub const JSONAPI: &str = "application/vnd.api+json";
/// The JSON media type.
pub const JSON: &str = "application/json";
/// HTML form encoding.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// One member of `Accept`, its weight split off (`q` and what follows it are not media type parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    pub media: MediaType,
    pub q: f32,
}

/// Parses every `Accept` field line; members that are not media ranges are dropped.
pub fn parse_accept(headers: &HeaderMap) -> Vec<MediaRange> {
    let mut out = Vec::new();
    for line in headers.get_all(header::ACCEPT) {
        let Ok(line) = line.to_str() else { continue };
        for member in line.split(',') {
            let Some(mut media) = MediaType::parse(member) else {
                continue;
            };
            let mut q = 1.0;
            if let Some(i) = media.params.iter().position(|(n, _)| n == "q") {
                q = media.params[i]
                    .1
                    .parse::<f32>()
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0);
                media.params.truncate(i);
            }
            out.push(MediaRange { media, q });
        }
    }
    out
}

/// What a dialect can send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// `application/vnd.api+json` (JSON:API 1.1 parameter rules).
    JsonApi,
    /// `application/json`.
    Json,
    /// Either (form-sessions answers JSON:API but its document's clients ask for JSON).
    JsonOrJsonApi,
}

fn range_acceptable(r: &MediaRange, produces: Produces) -> bool {
    if r.q <= 0.0 {
        return false;
    }
    let m = &r.media;
    match m.essence.as_str() {
        "*/*" | "application/*" => true,
        JSONAPI => produces != Produces::Json && m.is_plain_jsonapi(),
        JSON => produces != Produces::JsonApi,
        _ => false,
    }
}

/// Whether the request's `Accept` allows what the dialect produces. An absent or empty `Accept`
/// accepts anything; one with no parsable member accepts nothing.
pub fn accepts(headers: &HeaderMap, produces: Produces) -> bool {
    let present = headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace));
    if !present {
        return true;
    }
    parse_accept(headers)
        .iter()
        .any(|r| range_acceptable(r, produces))
}

/// What a dialect reads from a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumes {
    /// `application/vnd.api+json`, parameters only `ext`/`profile`.
    JsonApi,
    /// `application/json`, parameter only `charset=utf-8`.
    Json,
    /// Either of the above.
    JsonOrJsonApi,
    /// `application/x-www-form-urlencoded`, parameter only `charset=utf-8`.
    Form,
}

/// Whether a request `Content-Type` value is one the dialect reads.
pub fn content_type_supported(value: &str, consumes: Consumes) -> bool {
    let Some(m) = MediaType::parse(value) else {
        return false;
    };
    match consumes {
        Consumes::JsonApi => m.is_plain_jsonapi(),
        Consumes::Json => m.is_utf8(JSON),
        Consumes::JsonOrJsonApi => m.is_plain_jsonapi() || m.is_utf8(JSON),
        Consumes::Form => m.is_utf8(FORM),
    }
}

/// The 415 rule: a request that must carry a body (`required`) needs a supported `Content-Type`;
/// any other request is checked only when it has a body or declares a type.
pub fn body_type_ok(headers: &HeaderMap, body: &[u8], consumes: Consumes, required: bool) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (None, _) => !required && body.is_empty(),
        (Some(v), None) => v
            .to_str()
            .is_ok_and(|v| content_type_supported(v, consumes)),
        (Some(_), Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn parses_media_types() {
        let m = MediaType::parse("Application/VND.API+JSON ; ext=\"https://x/ext\"; Profile=a")
            .unwrap();
        assert_eq!(m.essence, JSONAPI);
        assert_eq!(
            m.params,
            vec![
                ("ext".into(), "https://x/ext".into()),
                ("profile".into(), "a".into())
            ]
        );
        assert!(MediaType::parse("json").is_none());
        assert!(MediaType::parse("text/html; broken").is_none());
    }

    #[test]
    fn jsonapi_accept_rules() {
        let ok = [
            vec![],
            vec![""],
            vec!["*/*"],
            vec!["application/*"],
            vec![JSONAPI],
            vec!["application/vnd.api+json; ext=\"https://a\""],
            vec!["application/vnd.api+json;charset=utf-8, application/vnd.api+json"],
            vec!["application/vnd.api+json;charset=utf-8", "*/*;q=0.1"],
            vec!["application/vnd.api+json;q=0.5"],
        ];
        for v in ok {
            assert!(accepts(&accept(&v), Produces::JsonApi), "{v:?}");
        }
        let bad = [
            vec!["application/vnd.api+json;charset=utf-8"],
            vec!["text/html"],
            vec![JSON],
            vec!["application/vnd.api+json;q=0"],
            vec!["*/*;q=0"],
            vec!["garbage"],
        ];
        for v in bad {
            assert!(!accepts(&accept(&v), Produces::JsonApi), "{v:?}");
        }
    }

    #[test]
    fn json_accept_rules() {
        assert!(accepts(
            &accept(&["application/json; charset=utf-8"]),
            Produces::Json
        ));
        assert!(!accepts(&accept(&[JSONAPI]), Produces::Json));
        assert!(!accepts(&accept(&["text/plain"]), Produces::Json));
        assert!(accepts(&accept(&[JSON]), Produces::JsonOrJsonApi));
        assert!(accepts(&accept(&[JSONAPI]), Produces::JsonOrJsonApi));
        assert!(!accepts(&accept(&["text/html"]), Produces::JsonOrJsonApi));
    }

    #[test]
    fn content_types() {
        assert!(content_type_supported(JSONAPI, Consumes::JsonApi));
        assert!(content_type_supported(
            "application/vnd.api+json; profile=\"a b\"",
            Consumes::JsonApi
        ));
        assert!(!content_type_supported(
            "application/vnd.api+json; charset=utf-8",
            Consumes::JsonApi
        ));
        assert!(!content_type_supported(JSON, Consumes::JsonApi));
        assert!(content_type_supported(
            "application/json; charset=UTF-8",
            Consumes::Json
        ));
        assert!(!content_type_supported(
            "application/json; charset=latin1",
            Consumes::Json
        ));
        assert!(!content_type_supported("text/plain", Consumes::Json));
        assert!(content_type_supported(FORM, Consumes::Form));
        assert!(!content_type_supported(
            "multipart/form-data",
            Consumes::Form
        ));
        assert!(content_type_supported(JSONAPI, Consumes::JsonOrJsonApi));
    }

    #[test]
    fn body_type_rule() {
        let empty = HeaderMap::new();
        assert!(!body_type_ok(&empty, b"", Consumes::Json, true));
        assert!(body_type_ok(&empty, b"", Consumes::Json, false));
        assert!(!body_type_ok(&empty, b"{}", Consumes::Json, false));
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!body_type_ok(&h, b"", Consumes::Json, false));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        assert!(body_type_ok(&h, b"{}", Consumes::Json, true));
    }
}
