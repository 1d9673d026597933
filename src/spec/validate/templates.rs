//! Where a spec's templated strings are, each with its JSON pointer.

use indexmap::IndexMap;
use serde_json::Value;

use crate::document::source_map::escape;
use crate::spec::model::{Body, Capture, Expect, HeaderExpect, Operation};

/// A templated string and where it is.
pub(super) struct Tpl<'a> {
    pub pointer: String,
    pub text: &'a str,
}

/// `base` extended by one escaped reference token.
pub(super) fn ptr(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// Every string inside a JSON value, with its pointer below `base`.
pub(super) fn json_templates<'a>(value: &'a Value, base: String, out: &mut Vec<Tpl<'a>>) {
    match value {
        Value::String(s) => out.push(Tpl {
            pointer: base,
            text: s,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_templates(item, format!("{base}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                json_templates(item, ptr(&base, k), out);
            }
        }
        _ => {}
    }
}

pub(super) fn body_templates<'a>(body: &'a Body, base: &str, out: &mut Vec<Tpl<'a>>) {
    match body {
        Body::Json(v) => json_templates(v, format!("{base}/json"), out),
        Body::Jsonapi(v) => json_templates(v, format!("{base}/jsonapi"), out),
        Body::Form(fields) => {
            let base = format!("{base}/form");
            out.extend(fields.iter().map(|(k, v)| Tpl {
                pointer: ptr(&base, k),
                text: v,
            }));
        }
        Body::Raw(s) => out.push(Tpl {
            pointer: format!("{base}/raw"),
            text: s,
        }),
        Body::Empty(_) => {}
    }
}

pub(super) fn map_templates<'a>(
    map: &'a IndexMap<String, String>,
    base: &str,
    out: &mut Vec<Tpl<'a>>,
) {
    out.extend(map.iter().map(|(k, v)| Tpl {
        pointer: ptr(base, k),
        text: v,
    }));
}

/// The templated strings of an operation's request.
pub(super) fn operation_templates<'a>(op: &'a Operation, base: &str) -> Vec<Tpl<'a>> {
    let mut out = vec![Tpl {
        pointer: format!("{base}/path"),
        text: &op.path,
    }];
    map_templates(&op.query, &format!("{base}/query"), &mut out);
    map_templates(&op.headers, &format!("{base}/headers"), &mut out);
    if let Some(body) = &op.body {
        body_templates(body, &format!("{base}/body"), &mut out);
    }
    capture_templates(&op.capture, &format!("{base}/capture"), &mut out);
    out
}

/// The templated strings of captures (their `jsonpath` queries).
pub(super) fn capture_templates<'a>(
    captures: &'a IndexMap<String, Capture>,
    base: &str,
    out: &mut Vec<Tpl<'a>>,
) {
    for (name, capture) in captures {
        if let Some(q) = &capture.jsonpath {
            out.push(Tpl {
                pointer: format!("{}/jsonpath", ptr(base, name)),
                text: q,
            });
        }
    }
}

/// The templated strings of a step's expectations.
pub(super) fn expect_templates<'a>(expect: &'a Expect, base: &str) -> Vec<Tpl<'a>> {
    let mut out = Vec::new();
    for (name, rule) in &expect.headers {
        let p = ptr(&format!("{base}/headers"), name);
        match rule {
            HeaderExpect::Equals(s) => out.push(Tpl {
                pointer: p,
                text: s,
            }),
            HeaderExpect::Rule(r) => {
                if let Some(s) = &r.equals {
                    out.push(Tpl {
                        pointer: format!("{p}/equals"),
                        text: s,
                    });
                }
            }
        }
    }
    if let Some(body) = &expect.body {
        for (key, v) in [("equals", &body.equals), ("contains", &body.contains)] {
            if let Some(v) = v {
                json_templates(v, format!("{base}/body/{key}"), &mut out);
            }
        }
        if let Some(text) = body.text.as_ref().and_then(|t| t.equals.as_ref()) {
            out.push(Tpl {
                pointer: format!("{base}/body/text/equals"),
                text,
            });
        }
    }
    for (name, rule) in &expect.captured {
        let p = ptr(&format!("{base}/captured"), name);
        for (key, v) in [("equals", &rule.equals), ("not_equals", &rule.not_equals)] {
            if let Some(s) = v {
                out.push(Tpl {
                    pointer: format!("{p}/{key}"),
                    text: s,
                });
            }
        }
    }
    for (k, alt) in expect.any_of.iter().enumerate() {
        out.extend(expect_templates(alt, &format!("{base}/any_of/{k}")));
    }
    out
}
