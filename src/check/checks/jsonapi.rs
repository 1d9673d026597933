//! `body.jsonapi`: the top level of a JSON:API 1.1 document ("Document Structure"):
//! an object with at least one of `data`, `errors`, `meta`; never `data` and `errors` together;
//! `data` is null, a resource object or an array of them (each with a string `type`, and a string
//! `id` when present); `errors` is an array of error objects whose `status` and `code`, when
//! present, are strings.

use serde_json::{Map, Value};

use super::{fail, pass, CheckResult, CheckResultExt};
use crate::spec::JsonApiKind;

/// The rule this check enforces.
pub const RULE: &str = "JSON:API 1.1 Document Structure";

fn expected(kind: JsonApiKind) -> &'static str {
    match kind {
        JsonApiKind::Data => "a JSON:API document with `data`",
        JsonApiKind::Errors => "a JSON:API document with `errors`",
        JsonApiKind::Any => "a JSON:API document",
    }
}

/// `body.jsonapi`: the body ([`body_json`](super::body_json)) is a JSON:API document of the
/// wanted kind.
pub fn document_structure(body: &Result<Value, String>, kind: JsonApiKind) -> CheckResult {
    let want = expected(kind);
    let result = match body {
        Err(why) => fail("body.jsonapi", want, why.clone()),
        Ok(doc) => match problem(doc, kind) {
            None => pass("body.jsonapi", want, want),
            Some((pointer, why)) => fail("body.jsonapi", want, why).at_pointer(pointer),
        },
    };
    result.with_rule(RULE)
}

/// The first problem of `doc` as a document of `kind`: (JSON pointer, what is wrong).
pub fn problem(doc: &Value, kind: JsonApiKind) -> Option<(String, String)> {
    let Some(top) = doc.as_object() else {
        return Some((String::new(), "a top level that is not an object".into()));
    };
    let (has_data, has_errors) = (top.contains_key("data"), top.contains_key("errors"));
    if !has_data && !has_errors && !top.contains_key("meta") {
        return Some((String::new(), "none of `data`, `errors`, `meta`".into()));
    }
    if has_data && has_errors {
        return Some((String::new(), "both `data` and `errors`".into()));
    }
    match kind {
        JsonApiKind::Data if !has_data => return Some((String::new(), "no `data`".into())),
        JsonApiKind::Errors if !has_errors => return Some((String::new(), "no `errors`".into())),
        _ => {}
    }
    if let Some(data) = top.get("data") {
        if let Some(p) = data_problem(data) {
            return Some(p);
        }
    }
    if let Some(errors) = top.get("errors") {
        return errors_problem(errors);
    }
    None
}

fn data_problem(data: &Value) -> Option<(String, String)> {
    match data {
        Value::Null => None,
        Value::Object(r) => resource_problem(r, "/data".into()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item {
            Value::Object(r) => resource_problem(r, format!("/data/{i}")),
            _ => Some((
                format!("/data/{i}"),
                "a resource that is not an object".into(),
            )),
        }),
        _ => Some((
            "/data".into(),
            "`data` that is neither null, an object nor an array".into(),
        )),
    }
}

fn resource_problem(r: &Map<String, Value>, at: String) -> Option<(String, String)> {
    match r.get("type") {
        Some(Value::String(_)) => {}
        Some(_) => return Some((format!("{at}/type"), "a `type` that is not a string".into())),
        None => return Some((at, "a resource object without `type`".into())),
    }
    match r.get("id") {
        None | Some(Value::String(_)) => None,
        Some(_) => Some((format!("{at}/id"), "an `id` that is not a string".into())),
    }
}

fn errors_problem(errors: &Value) -> Option<(String, String)> {
    let Some(items) = errors.as_array() else {
        return Some(("/errors".into(), "`errors` that is not an array".into()));
    };
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Some((
                format!("/errors/{i}"),
                "an error that is not an object".into(),
            ));
        };
        for member in ["status", "code"] {
            if let Some(v) = obj.get(member) {
                if !v.is_string() {
                    return Some((
                        format!("/errors/{i}/{member}"),
                        format!("an error `{member}` that is not a string ({v})"),
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(body: &str) -> Result<Value, String> {
        super::super::body_json(&crate::http::ResponseData {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..crate::http::ResponseData::default()
        })
    }

    #[test]
    fn valid_documents_pass() {
        let data = r#"{"data":{"type":"sessions","id":"x","attributes":{}}}"#;
        assert!(document_structure(&resp(data), JsonApiKind::Data).passed);
        assert!(document_structure(&resp(data), JsonApiKind::Any).passed);
        let errors = r#"{"errors":[{"status":"401","code":"invalid_credentials"}]}"#;
        let r = document_structure(&resp(errors), JsonApiKind::Errors);
        assert!(r.passed);
        assert_eq!(r.rule.as_deref(), Some(RULE));
        assert!(document_structure(&resp(r#"{"meta":{}}"#), JsonApiKind::Any).passed);
        assert!(document_structure(&resp(r#"{"data":null}"#), JsonApiKind::Data).passed);
    }

    #[test]
    fn invalid_documents_fail_with_pointer() {
        let cases = [
            ("[]", JsonApiKind::Any, ""),
            ("{}", JsonApiKind::Any, ""),
            (r#"{"data":null,"errors":[]}"#, JsonApiKind::Any, ""),
            (r#"{"errors":[]}"#, JsonApiKind::Data, ""),
            (r#"{"data":null}"#, JsonApiKind::Errors, ""),
            (r#"{"errors":{}}"#, JsonApiKind::Errors, "/errors"),
            (r#"{"errors":[1]}"#, JsonApiKind::Errors, "/errors/0"),
            (
                r#"{"errors":[{"status":401}]}"#,
                JsonApiKind::Errors,
                "/errors/0/status",
            ),
            (
                r#"{"errors":[{"code":["x"]}]}"#,
                JsonApiKind::Errors,
                "/errors/0/code",
            ),
            (r#"{"data":{"id":"1"}}"#, JsonApiKind::Data, "/data"),
            (
                r#"{"data":[{"type":"s","id":1}]}"#,
                JsonApiKind::Data,
                "/data/0/id",
            ),
            (r#"{"data":5}"#, JsonApiKind::Data, "/data"),
        ];
        for (body, kind, pointer) in cases {
            let r = document_structure(&resp(body), kind);
            assert!(!r.passed, "{body} should fail");
            let want = (!pointer.is_empty()).then_some(pointer);
            assert_eq!(r.pointer.as_deref(), want, "{body}");
        }
        assert!(!document_structure(&resp("nope"), JsonApiKind::Any).passed);
        assert_eq!(problem(&json!({"meta": 1}), JsonApiKind::Any), None);
    }
}
