//! Request bodies, read and parsed by hand so that every malformed body gets the dialect's own 400.

use axum::body::{Body, Bytes};
use serde_json::{Map, Value};

/// Largest request body read (login bodies are tiny).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// Reads the whole body; `None` when it is larger than [`MAX_BODY`] or the connection failed.
pub(crate) async fn read(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, MAX_BODY).await.ok()
}

/// Why a body is not a well-formed JSON object.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JsonBodyError {
    #[error("the request body is not valid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("the request body must be a JSON object, not {0}")]
    NotObject(&'static str),
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a JSON object.
pub(crate) fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonBodyError> {
    match serde_json::from_slice::<Value>(bytes)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonBodyError::NotObject(kind(&other))),
    }
}

/// The request body is not valid `application/x-www-form-urlencoded`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormError {
    #[error("invalid percent-escape at byte {0}")]
    Escape(usize),
    #[error("the decoded form is not UTF-8")]
    Utf8,
}

/// Parses `a=1&b=2` strictly: `+` is a space, `%XX` must be a valid escape, names and values UTF-8.
pub(crate) fn form(bytes: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for pair in bytes.split(|b| *b == b'&') {
        if !pair.is_empty() {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let value_offset = offset + name.len() + 1;
            out.push((decode(name, offset)?, decode(value, value_offset)?));
        }
        offset += pair.len() + 1;
    }
    Ok(out)
}

fn decode(s: &[u8], offset: usize) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (Some(hi), Some(lo)) = (hex_digit(s.get(i + 1)), hex_digit(s.get(i + 2)))
                else {
                    return Err(FormError::Escape(offset + i));
                };
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Utf8)
}

fn hex_digit(b: Option<&u8>) -> Option<u8> {
    char::from(*b?)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The first value of a form field.
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A non-empty string member of a JSON object.
pub(crate) fn non_empty_str<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let f = form(b"email=foo%40bar.com&password=foo+bar&&flag").unwrap();
        assert_eq!(
            f,
            vec![
                ("email".into(), "foo@bar.com".into()),
                ("password".into(), "foo bar".into()),
                ("flag".into(), String::new())
            ]
        );
        assert_eq!(field(&f, "password"), Some("foo bar"));
        assert_eq!(form(b"a=%zz"), Err(FormError::Escape(2)));
        assert_eq!(form(b"a=%4"), Err(FormError::Escape(2)));
        assert_eq!(form(b"a=%+f"), Err(FormError::Escape(2)));
        assert_eq!(form(b"a=%ff"), Err(FormError::Utf8));
        assert_eq!(form(b""), Ok(vec![]));
    }

    #[test]
    fn parses_json_objects() {
        assert!(json_object(b"{\"a\":1}").is_ok());
        assert!(matches!(json_object(b"{"), Err(JsonBodyError::Syntax(_))));
        assert!(matches!(
            json_object(b"[1]"),
            Err(JsonBodyError::NotObject("an array"))
        ));
        let m = json_object(b"{\"a\":\"\",\"b\":\"x\",\"c\":1}").unwrap();
        assert_eq!(non_empty_str(&m, "a"), None);
        assert_eq!(non_empty_str(&m, "b"), Some("x"));
        assert_eq!(non_empty_str(&m, "c"), None);
    }
}
