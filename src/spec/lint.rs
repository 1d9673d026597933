//! Linting a spec: every error of the file, not just the first (the `lint` engine above both
//! formats is [`crate::lint`]).

use std::path::Path;

use super::load::{analyze, SpecError};
use crate::document::read_file;

/// Every error of a spec given as text (empty: the spec is valid); `path` is only used in messages.
pub fn lint_spec_str(path: &Path, text: &str) -> Vec<SpecError> {
    lint_spec_bytes(path, text.as_bytes())
}

/// Every error of a spec given as bytes (empty: the spec is valid).
pub fn lint_spec_bytes(path: &Path, bytes: &[u8]) -> Vec<SpecError> {
    analyze(path, bytes).err().unwrap_or_default()
}

/// Lints one spec file: a summary (`14 cases`) or every error, one line each.
pub fn lint_spec_file(path: &Path) -> Result<String, Vec<String>> {
    let bytes = read_file(path).map_err(|e| vec![e.to_string()])?;
    match analyze(path, &bytes) {
        Ok(loaded) => {
            let n = loaded.spec.cases.len();
            Ok(format!("{n} case{}", if n == 1 { "" } else { "s" }))
        }
        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
    }
}
