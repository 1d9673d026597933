//! Loading spec files: every error says `file:line:column: /json/pointer: what was expected`.
//!
//! Stages, each reporting every error it finds before the next one runs:
//! 1. bytes → UTF-8 text (a UTF-8 byte order mark is accepted and ignored) → JSON (serde_json);
//! 2. duplicate keys (found by the source-map scanner) and the meta-schema
//!    `specs/schema/spec.schema.json` (checked on the raw JSON value, so messages name the instance);
//! 3. serde into [`Spec`]; 4. semantic checks ([`super::validate`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use super::source_map::{self, escape, line_column};
use super::validate::{clip, did_you_mean, validate};
use super::{LoadedSpec, Location, Spec};

/// Largest spec file read, in bytes.
pub const MAX_SPEC_BYTES: u64 = 8 * 1024 * 1024;

/// Most errors reported for one file.
const MAX_ERRORS: usize = 50;

/// The spec format's JSON Schema, as shipped in `specs/schema/spec.schema.json`.
pub const SPEC_SCHEMA: &str = include_str!("../../specs/schema/spec.schema.json");

/// A spec that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// `pointer` is empty for errors that are not about one value (JSON syntax, encoding).
    #[error("{path}:{line}:{column}: {}{message}", pointer_prefix(.pointer))]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        pointer: String,
        message: String,
    },
    #[error("no spec named `{name}` in {dir} (known: {known})")]
    NotFound {
        name: String,
        dir: String,
        known: String,
    },
}

/// The pointer as shown in a message (a pointer can be as long as the file: shortened).
fn pointer_prefix(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!("{}: ", clip(pointer, 120))
    }
}

impl SpecError {
    /// Where in the file the error is, when it is about the file's content.
    pub fn location(&self) -> Option<Location> {
        match self {
            SpecError::Invalid {
                path, line, column, ..
            } => Some(Location {
                file: path.clone(),
                line: *line,
                column: *column,
            }),
            _ => None,
        }
    }

    fn invalid(
        path: &Path,
        (line, column): (usize, usize),
        pointer: &str,
        message: String,
    ) -> Self {
        SpecError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            pointer: pointer.to_owned(),
            message,
        }
    }
}

/// Loads and validates one spec file.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, SpecError> {
    load_spec_bytes(path, &read_file(path)?)
}

/// Loads and validates a spec from text; `path` is only used in messages.
pub fn load_spec_str(path: &Path, text: &str) -> Result<LoadedSpec, SpecError> {
    load_spec_bytes(path, text.as_bytes())
}

/// Loads and validates a spec from bytes (which must be UTF-8); `path` is only used in messages.
pub fn load_spec_bytes(path: &Path, bytes: &[u8]) -> Result<LoadedSpec, SpecError> {
    analyze(path, bytes).map_err(|errors| {
        errors.into_iter().next().unwrap_or_else(|| {
            SpecError::invalid(path, (1, 1), "", "the spec is invalid".to_owned())
        })
    })
}

/// Reads a file of at most [`MAX_SPEC_BYTES`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, SpecError> {
    let io = |source| SpecError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_SPEC_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(SpecError::invalid(
            path,
            (1, 1),
            "",
            format!(
                "file larger than {} MiB: not a spec",
                MAX_SPEC_BYTES / 1024 / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// UTF-8 text of `bytes` without a leading byte order mark, or where the encoding breaks.
pub(crate) fn decode<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, SpecError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The valid prefix is UTF-8 by construction.
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let (line, column) = line_column(prefix, prefix.len());
        let bad = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
        SpecError::invalid(
            path,
            (line, column),
            "",
            format!(
                "invalid UTF-8 (byte 0x{bad:02x} at byte offset {}): a spec file must be UTF-8 text",
                e.valid_up_to()
            ),
        )
    })
}

/// Parses JSON text, turning a syntax error into a located [`SpecError`].
pub(crate) fn parse_json(path: &Path, text: &str) -> Result<Value, SpecError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = serde_position(text, e.line(), e.column());
        let raw = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let what = raw.strip_suffix(&suffix).unwrap_or(&raw);
        let message = match what {
            "recursion limit exceeded" => {
                "invalid JSON: nested deeper than 128 arrays/objects".to_owned()
            }
            "number out of range" => "invalid JSON: number out of range".to_owned(),
            other => format!("invalid JSON: {other}"),
        };
        SpecError::invalid(path, (line, column), "", message)
    })
}

/// serde_json counts columns in bytes (the last byte read); ours count characters.
fn serde_position(text: &str, line: usize, byte_column: usize) -> (usize, usize) {
    let line = line.max(1);
    let Some(line_text) = text.split('\n').nth(line - 1) else {
        return (line, byte_column.max(1));
    };
    let end = byte_column.min(line_text.len());
    let chars = line_text
        .char_indices()
        .take_while(|(i, _)| *i < end)
        .count();
    (line, chars.max(1))
}

/// Every error of a spec (at most [`MAX_ERRORS`]), or the loaded spec.
pub(crate) fn analyze(path: &Path, bytes: &[u8]) -> Result<LoadedSpec, Vec<SpecError>> {
    let text = decode(path, bytes).map_err(|e| vec![e])?;
    let value = parse_json(path, text).map_err(|e| vec![e])?;
    let scan = source_map::scan(text);
    let map = scan.map;
    let at = |pointer: &str| map.position(pointer).unwrap_or((1, 1));

    let mut errors: Vec<SpecError> = scan
        .duplicates
        .iter()
        .map(|d| {
            SpecError::invalid(
                path,
                (d.line, d.column),
                &d.pointer,
                format!(
                    "duplicate key `{}` (first at line {}, column {}): JSON keeps only the last one; remove one",
                    clip(&d.key, 40),
                    d.first_line,
                    d.first_column
                ),
            )
        })
        .collect();
    for (pointer, message) in schema_problems(&value) {
        errors.push(SpecError::invalid(path, at(&pointer), &pointer, message));
    }
    if !errors.is_empty() {
        return Err(finish(errors));
    }

    let spec: Spec = serde_path_to_error::deserialize(&value).map_err(|e| {
        let pointer = serde_pointer(e.path());
        vec![SpecError::invalid(
            path,
            at(&pointer),
            &pointer,
            e.inner().to_string(),
        )]
    })?;
    let errors: Vec<SpecError> = validate(&spec)
        .into_iter()
        .map(|p| SpecError::invalid(path, at(&p.pointer), &p.pointer, p.message))
        .collect();
    if !errors.is_empty() {
        return Err(finish(errors));
    }
    Ok(LoadedSpec {
        spec,
        path: path.to_owned(),
        source_map: map,
    })
}

/// Sorts errors by position, drops repeats, keeps at most [`MAX_ERRORS`].
fn finish(mut errors: Vec<SpecError>) -> Vec<SpecError> {
    let key = |e: &SpecError| match e {
        SpecError::Invalid {
            line,
            column,
            pointer,
            message,
            ..
        } => (*line, *column, pointer.clone(), message.clone()),
        other => (0, 0, String::new(), other.to_string()),
    };
    errors.sort_by_key(key);
    errors.dedup_by(|a, b| key(a) == key(b));
    errors.truncate(MAX_ERRORS);
    errors
}

/// The JSON pointer of a serde path (`cases[3].steps[0]` → `/cases/3/steps/0`).
fn serde_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => break,
        }
    }
    out
}

/// The compiled meta-schema, or why it does not compile (a bug of this program, reported as such).
fn meta_schema() -> &'static Result<(Value, jsonschema::Validator), String> {
    static META: OnceLock<Result<(Value, jsonschema::Validator), String>> = OnceLock::new();
    META.get_or_init(|| {
        let schema: Value = serde_json::from_str(SPEC_SCHEMA)
            .map_err(|e| format!("the built-in spec schema is not JSON: {e}"))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("the built-in spec schema does not compile: {e}"))?;
        Ok((schema, validator))
    })
}

/// Meta-schema violations of a spec document, as (instance pointer, message).
pub(crate) fn schema_problems(instance: &Value) -> Vec<(String, String)> {
    let (schema, validator) = match meta_schema() {
        Ok(pair) => (&pair.0, &pair.1),
        Err(e) => return vec![(String::new(), e.clone())],
    };
    let mut out = Vec::new();
    for error in validator.iter_errors(instance).take(MAX_ERRORS) {
        describe_error(&error, schema, &mut out);
    }
    out
}

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

/// The `*.json` files directly in `dir`, sorted.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, SpecError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SpecError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Finds a spec by name (`rails-jwt` → `DIR/rails-jwt.json`) or as a path.
pub fn find_spec(dir: &Path, name_or_file: &str) -> Result<PathBuf, SpecError> {
    let as_path = Path::new(name_or_file);
    if as_path.extension().is_some_and(|x| x == "json") || name_or_file.contains('/') {
        return Ok(as_path.to_owned());
    }
    let candidate = dir.join(format!("{name_or_file}.json"));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let known = spec_files(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    Err(SpecError::NotFound {
        name: name_or_file.to_owned(),
        dir: dir.display().to_string(),
        known,
    })
}
