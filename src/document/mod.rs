//! The one loader of this tool's JSON documents (specs, scenarios): every error says
//! `file:line:column: /json/pointer: what was expected`, with columns in characters.
//!
//! Stages, each reporting every error it finds (deduplicated, at most [`MAX_ERRORS`]) before the
//! next one runs:
//! 1. bytes → UTF-8 text (a UTF-8 byte order mark is accepted and ignored) → JSON (serde_json);
//! 2. duplicate keys (found by the source-map scanner) and the format's JSON Schema (checked on
//!    the raw JSON value, so messages name the instance);
//! 3. serde into the format's type; 4. the format's own semantic checks.

pub mod schema;
pub(crate) mod source_map;
pub mod text;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use schema::{LazySchema, Schema};
use source_map::{escape, line_column};
use text::clip;

/// Largest document read, in bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 8 * 1024 * 1024;

/// Most errors reported for one file.
pub const MAX_ERRORS: usize = 50;

/// Where each JSON value of a source file starts, by JSON pointer (`/cases/3/steps/0/expect`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    pub(crate) positions: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    /// Line and column of the value at `pointer`, or of its nearest ancestor that exists.
    pub fn position(&self, pointer: &str) -> Option<(usize, usize)> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
}

/// A document that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
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
    #[error("no {kind} named `{name}` in {dir} (known: {known})")]
    NotFound {
        kind: &'static str,
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

impl DocumentError {
    /// An error about the value at `pointer`, at `(line, column)` of `path`.
    pub fn invalid(
        path: &Path,
        (line, column): (usize, usize),
        pointer: &str,
        message: String,
    ) -> Self {
        DocumentError::Invalid {
            path: path.display().to_string(),
            line,
            column,
            pointer: pointer.to_owned(),
            message,
        }
    }

    /// Where in the file the error is, when it is about the file's content.
    pub fn position(&self) -> Option<(&str, usize, usize)> {
        match self {
            DocumentError::Invalid {
                path, line, column, ..
            } => Some((path, *line, *column)),
            _ => None,
        }
    }
}

/// A document as loaded: its value, and the positions of its JSON values.
#[derive(Debug, Clone)]
pub struct Document<T> {
    pub value: T,
    pub source_map: SourceMap,
}

/// Problems a format's semantic check finds, as (JSON pointer, message).
pub type Problems = Vec<(String, String)>;

/// Loads a document of type `T` from `bytes` (`path` is only used in messages): every error of
/// the first stage that has any, sorted by position.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    schema: &Schema,
    semantic: impl FnOnce(&T, &SourceMap) -> Problems,
) -> Result<Document<T>, Vec<DocumentError>> {
    let text = decode(path, bytes, schema.kind).map_err(|e| vec![e])?;
    let value = parse_json(path, text).map_err(|e| vec![e])?;
    let scan = source_map::scan(text);
    let map = scan.map;
    let at = |pointer: &str| map.position(pointer).unwrap_or((1, 1));

    let mut errors: Vec<DocumentError> = scan
        .duplicates
        .iter()
        .map(|d| {
            DocumentError::invalid(
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
    for (pointer, message) in schema.problems(&value) {
        errors.push(DocumentError::invalid(
            path,
            at(&pointer),
            &pointer,
            message,
        ));
    }
    if !errors.is_empty() {
        return Err(finish(errors));
    }

    let typed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        let pointer = serde_pointer(e.path());
        vec![DocumentError::invalid(
            path,
            at(&pointer),
            &pointer,
            e.inner().to_string(),
        )]
    })?;
    let errors: Vec<DocumentError> = semantic(&typed, &map)
        .into_iter()
        .map(|(pointer, message)| DocumentError::invalid(path, at(&pointer), &pointer, message))
        .collect();
    if !errors.is_empty() {
        return Err(finish(errors));
    }
    Ok(Document {
        value: typed,
        source_map: map,
    })
}

/// Reads a file of at most [`MAX_DOCUMENT_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, DocumentError> {
    let io = |source| DocumentError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::invalid(
            path,
            (1, 1),
            "",
            format!(
                "file larger than {} MiB: not a document of this tool",
                MAX_DOCUMENT_BYTES / 1024 / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// UTF-8 text of `bytes` without a leading byte order mark, or where the encoding breaks.
pub fn decode<'b>(path: &Path, bytes: &'b [u8], kind: &str) -> Result<&'b str, DocumentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The valid prefix is UTF-8 by construction.
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let (line, column) = line_column(prefix, prefix.len());
        let bad = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
        DocumentError::invalid(
            path,
            (line, column),
            "",
            format!(
                "invalid UTF-8 (byte 0x{bad:02x} at byte offset {}): a {kind} file must be UTF-8 text",
                e.valid_up_to()
            ),
        )
    })
}

/// Parses JSON text, turning a syntax error into a located [`DocumentError`].
pub fn parse_json(path: &Path, text: &str) -> Result<Value, DocumentError> {
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
        DocumentError::invalid(path, (line, column), "", message)
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

/// Sorts errors by position, drops repeats, keeps at most [`MAX_ERRORS`].
pub fn finish(mut errors: Vec<DocumentError>) -> Vec<DocumentError> {
    let key = |e: &DocumentError| match e {
        DocumentError::Invalid {
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
    for seg in path {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => break,
        }
    }
    out
}

/// The `*.json` files directly in `dir`, sorted.
pub fn document_files(dir: &Path) -> Result<Vec<PathBuf>, DocumentError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DocumentError::Io {
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

/// Where a named document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file: given as a path, or `DIR/NAME.json`.
    File(PathBuf),
    /// A document compiled into the binary ([`crate::builtin`]).
    Builtin(&'static crate::builtin::Builtin),
}

impl Source {
    /// The path shown in messages (`builtin:specs/NAME.json` for a built-in one).
    pub fn shown(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Builtin(b) => PathBuf::from(format!("builtin:{}", b.path)),
        }
    }

    /// The document's bytes.
    pub fn read(&self) -> Result<std::borrow::Cow<'static, [u8]>, DocumentError> {
        match self {
            Source::File(p) => read_file(p).map(std::borrow::Cow::Owned),
            Source::Builtin(b) => Ok(std::borrow::Cow::Borrowed(b.text.as_bytes())),
        }
    }
}

/// Finds a document of `kind`: a path (a name ending in `.json` or holding a `/`) as given; a
/// name as `DIR/NAME.json` when that file exists, else the one of `builtins` with that name.
pub fn find_document(
    kind: &'static str,
    name_or_file: &str,
    dir: &Path,
    builtins: &'static [crate::builtin::Builtin],
) -> Result<Source, DocumentError> {
    let as_path = Path::new(name_or_file);
    if as_path.extension().is_some_and(|x| x == "json") || name_or_file.contains('/') {
        return Ok(Source::File(as_path.to_owned()));
    }
    let candidate = dir.join(format!("{name_or_file}.json"));
    if candidate.is_file() {
        return Ok(Source::File(candidate));
    }
    if let Some(b) = builtins.iter().find(|b| b.name == name_or_file) {
        return Ok(Source::Builtin(b));
    }
    let mut known: Vec<String> = document_files(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for b in builtins {
        if !known.iter().any(|k| k == b.name) {
            known.push(b.name.to_owned());
        }
    }
    Err(DocumentError::NotFound {
        kind,
        name: name_or_file.to_owned(),
        dir: dir.display().to_string(),
        known: if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        },
    })
}
