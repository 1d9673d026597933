//! Specs: the data model, loading with `file:line:column` errors, templating and request resolution.

pub mod lint;
pub mod load;
pub mod model;
pub mod needs;
pub mod profile;
pub mod resolve;
pub mod security;
pub mod template;
pub mod validate;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Escapes one JSON pointer reference token (RFC 6901).
pub(crate) use crate::document::source_map::escape as pointer_token;
pub use load::{
    all_specs, find_spec, load_spec, load_spec_named, load_spec_str, spec_files, SpecError,
};
pub use model::*;
pub use resolve::{build_request, extract, extract_with, parse_jsonpath, MissingVariable, Vars};

/// A place in a source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

pub use crate::document::SourceMap;

/// A spec as loaded from a file, with the positions of its values.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    /// The path as given (shown in messages).
    pub path: PathBuf,
    pub source_map: SourceMap,
}

impl LoadedSpec {
    /// The location of the value at `pointer` in the spec file.
    pub fn locate(&self, pointer: &str) -> Location {
        let (line, column) = self.source_map.position(pointer).unwrap_or((1, 1));
        Location {
            file: self.path.display().to_string(),
            line,
            column,
        }
    }
}
