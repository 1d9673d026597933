//! Loading spec files through the one document loader ([`crate::document`]): every error says
//! `file:line:column: /json/pointer: what was expected`. The spec format adds its meta-schema
//! (`specs/schema/spec.schema.json`) and its semantic checks ([`super::validate`]).

use std::path::{Path, PathBuf};

use super::validate::validate;
use super::{LoadedSpec, Spec};
use crate::document::{self, LazySchema, Schema};

/// Largest spec file read, in bytes.
pub const MAX_SPEC_BYTES: u64 = document::MAX_DOCUMENT_BYTES;

/// The spec format's JSON Schema, as shipped in `specs/schema/spec.schema.json`.
pub const SPEC_SCHEMA: &str = include_str!("../../specs/schema/spec.schema.json");

static META_SCHEMA: LazySchema = LazySchema::new(|| Schema::compile("spec", SPEC_SCHEMA));

/// A spec that cannot be used, with where and why.
pub type SpecError = document::DocumentError;

/// Loads and validates one spec file.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, SpecError> {
    load_spec_bytes(path, &document::read_file(path)?)
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

/// Every error of a spec (at most [`document::MAX_ERRORS`]), or the loaded spec.
pub(crate) fn analyze(path: &Path, bytes: &[u8]) -> Result<LoadedSpec, Vec<SpecError>> {
    let doc = document::load::<Spec>(path, bytes, &META_SCHEMA, |spec, _| {
        validate(spec)
            .into_iter()
            .map(|p| (p.pointer, p.message))
            .collect()
    })?;
    Ok(LoadedSpec {
        spec: doc.value,
        path: path.to_owned(),
        source_map: doc.source_map,
    })
}

/// The `*.json` files directly in `dir`, sorted.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, SpecError> {
    document::document_files(dir)
}

/// Finds a spec by name (`DIR/NAME.json`, else the shipped spec of that name) or as a path.
pub fn find_spec(dir: &Path, name_or_file: &str) -> Result<document::Source, SpecError> {
    document::find_document("spec", name_or_file, dir, crate::builtin::SPECS)
}

/// Loads a spec by name or path ([`find_spec`]); a shipped one is shown as
/// `builtin:specs/NAME.json`.
pub fn load_spec_named(dir: &Path, name_or_file: &str) -> Result<LoadedSpec, SpecError> {
    let source = find_spec(dir, name_or_file)?;
    load_spec_bytes(&source.shown(), &source.read()?)
}

/// Every spec: those of `dir` when it exists, else every shipped one.
pub fn all_specs(dir: &Path) -> Result<Vec<LoadedSpec>, SpecError> {
    if dir.is_dir() {
        return spec_files(dir)?.iter().map(|f| load_spec(f)).collect();
    }
    crate::builtin::SPECS
        .iter()
        .map(|b| load_spec_str(Path::new(&format!("builtin:{}", b.path)), b.text))
        .collect()
}
