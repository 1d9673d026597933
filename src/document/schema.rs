//! A document format's JSON Schema, and its violations as messages a person can act on: each
//! names the instance's JSON pointer and says what was expected there (the schema's `title` where
//! it has one, the known property names for an unknown one), not the validator's internals.

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use super::source_map::escape;
use super::text::{clip, did_you_mean};
use super::MAX_ERRORS;

/// A compiled schema, or why it does not compile (a bug of this program, reported as such).
pub struct Schema {
    /// What the documents are (`spec`, `scenario`), for messages.
    pub kind: &'static str,
    compiled: Result<(Value, jsonschema::Validator), String>,
}

impl Schema {
    /// Compiles `text`, the schema of documents of `kind` (`spec`, `scenario`, ...).
    pub fn compile(kind: &'static str, text: &str) -> Schema {
        let compiled = serde_json::from_str::<Value>(text)
            .map_err(|e| format!("the built-in {kind} schema is not JSON: {e}"))
            .and_then(|schema| {
                let validator = jsonschema::validator_for(&schema)
                    .map_err(|e| format!("the built-in {kind} schema does not compile: {e}"))?;
                Ok((schema, validator))
            });
        Schema { kind, compiled }
    }

    /// Violations of `instance`, as (instance pointer, message), at most [`MAX_ERRORS`].
    pub fn problems(&self, instance: &Value) -> Vec<(String, String)> {
        let (schema, validator) = match &self.compiled {
            Ok(pair) => (&pair.0, &pair.1),
            Err(e) => return vec![(String::new(), e.clone())],
        };
        let mut out = Vec::new();
        for error in validator.iter_errors(instance).take(MAX_ERRORS) {
            describe_error(&error, schema, &mut out);
        }
        out
    }
}

/// A schema compiled on first use.
pub type LazySchema = LazyLock<Schema>;

/// The schema node that holds the keyword of `error` (following `$ref`s on the way).
fn keyword_owner<'s>(schema: &'s Value, error: &ValidationError<'_>) -> Option<&'s Value> {
    let segments: Vec<String> = error
        .schema_path()
        .as_str()
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let parent = segments.split_last().map_or(&[][..], |(_, rest)| rest);
    let mut node = schema;
    for seg in parent {
        if seg == "$ref" {
            node = resolve_ref(schema, node);
            continue;
        }
        node = match node {
            Value::Object(map) => map.get(seg.as_str())?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Follows a local `$ref` (`#/$defs/x`), a few times at most.
fn resolve_ref<'s>(schema: &'s Value, mut node: &'s Value) -> &'s Value {
    for _ in 0..8 {
        let Some(Value::String(r)) = node.get("$ref") else {
            break;
        };
        match r.strip_prefix('#').and_then(|p| schema.pointer(p)) {
            Some(target) => node = target,
            None => break,
        }
    }
    node
}

fn title(node: Option<&Value>) -> Option<&str> {
    node?.get("title")?.as_str()
}

fn property_names(node: Option<&Value>) -> Vec<&str> {
    node.and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short rendering of an offending value.
fn show(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "an empty object".to_owned(),
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(5).map(String::as_str).collect();
            let more = if m.len() > 5 { ", …" } else { "" };
            format!("an object with {}{more}", quoted(&keys))
        }
        Value::Array(a) if a.is_empty() => "an empty array".to_owned(),
        Value::Array(a) => format!(
            "an array of {} item{}",
            a.len(),
            if a.len() == 1 { "" } else { "s" }
        ),
        other => clip(&other.to_string(), 60),
    }
}

fn type_phrase(kind: &TypeKind) -> String {
    let one = |t: jsonschema::JsonType| match t.as_str() {
        "null" => "null".to_owned(),
        s @ ("integer" | "object" | "array") => format!("an {s}"),
        s => format!("a {s}"),
    };
    match kind {
        TypeKind::Single(t) => one(*t),
        TypeKind::Multiple(set) => set.iter().map(one).collect::<Vec<_>>().join(" or "),
    }
}

/// Whether a branch of `anyOf`/`oneOf` matched the value's shape: its errors are all inside the
/// value, or about its content rather than its type.
fn branch_fits(branch: &[ValidationError<'static>], at: &str) -> bool {
    branch.iter().all(|e| {
        e.instance_path().as_str() != at
            || !matches!(
                e.kind(),
                ValidationErrorKind::Type { .. }
                    | ValidationErrorKind::Required { .. }
                    | ValidationErrorKind::Constant { .. }
                    | ValidationErrorKind::Enum { .. }
                    | ValidationErrorKind::AnyOf { .. }
                    | ValidationErrorKind::OneOfNotValid { .. }
            )
    })
}

/// Turns one meta-schema error into located messages.
fn describe_error(error: &ValidationError<'_>, schema: &Value, out: &mut Vec<(String, String)>) {
    let at = error.instance_path().as_str().to_owned();
    let instance = error.instance();
    let node = keyword_owner(schema, error);
    let expected = |fallback: String| match title(node) {
        Some(t) => t.to_owned(),
        None => fallback,
    };
    let got = show(instance);
    let message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = property_names(node);
            for key in unexpected {
                let hint = did_you_mean(key, known.iter().copied());
                let expected = if known.is_empty() {
                    String::new()
                } else {
                    format!("; expected one of {}", quoted(&known))
                };
                out.push((
                    format!("{at}/{}", escape(key)),
                    format!("unknown field `{}`{hint}{expected}", clip(key, 40)),
                ));
            }
            return;
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            format!("missing required field `{name}`")
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let fitting = context
                .iter()
                .filter(|b| !b.is_empty() && branch_fits(b, &at))
                .min_by_key(|b| b.len());
            if let Some(branch) = fitting {
                for e in branch {
                    describe_error(e, schema, out);
                }
                return;
            }
            format!(
                "expected {}, got {got}",
                expected("another kind of value".into())
            )
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => match title(node) {
            Some(t) => format!("expected {t}, got {got}"),
            None => format!("expected exactly one form, got {got}, which fits several"),
        },
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = inner.instance().as_str().unwrap_or_default().to_owned();
            // The error's schema path is the one of the name's own schema.
            let names = keyword_owner(schema, inner).or(node);
            out.push((
                format!("{at}/{}", escape(&key)),
                format!(
                    "invalid name `{}`: expected {}",
                    clip(&key, 40),
                    title(names).unwrap_or("another name")
                ),
            ));
            return;
        }
        ValidationErrorKind::Type { kind } => {
            format!("expected {}, got {got}", expected(type_phrase(kind)))
        }
        ValidationErrorKind::Enum { options } => {
            let list: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            let hint = instance
                .as_str()
                .map(|s| {
                    let plain: Vec<&str> = options
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    did_you_mean(s, plain)
                })
                .unwrap_or_default();
            format!("expected one of {}, got {got}{hint}", list.join(", "))
        }
        ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MaxProperties { .. } => {
            let known = property_names(node);
            let fallback = format!("at least one of {}", quoted(&known));
            format!("expected {}, got {got}", expected(fallback))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!(
                "expected at least {limit} item{}, got {got}",
                if *limit == 1 { "" } else { "s" }
            )
        }
        ValidationErrorKind::UniqueItems => format!("items must be unique, got {got}"),
        ValidationErrorKind::Constant { expected_value } => {
            format!(
                "expected {}, got {got}",
                expected(format!("`{expected_value}`"))
            )
        }
        ValidationErrorKind::Pattern { pattern } => format!(
            "expected {}, got {got}",
            expected(format!("a string matching `{pattern}`"))
        ),
        ValidationErrorKind::MinLength { limit: 1 } => {
            format!(
                "expected {}, got {got}",
                expected("a non-empty string".into())
            )
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            let fallback = format!("a number within the limit {limit}");
            format!("expected {}, got {got}", expected(fallback))
        }
        _ => clip(&error.to_string(), 200),
    };
    out.push((at, message));
}
