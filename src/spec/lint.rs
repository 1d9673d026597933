//! Linting a spec: every error of the file, not just the first (the `lint` engine above both
//! formats is [`crate::lint`]).

use std::path::Path;

use super::load::{analyze, SpecError};
use super::template::names;
use super::LoadedSpec;
use crate::document::read_file;
use crate::document::source_map::escape;

/// Every error of a spec given as text (empty: the spec is valid); `path` is only used in messages.
pub fn lint_spec_str(path: &Path, text: &str) -> Vec<SpecError> {
    lint_spec_bytes(path, text.as_bytes())
}

/// Every error of a spec given as bytes (empty: the spec is valid).
pub fn lint_spec_bytes(path: &Path, bytes: &[u8]) -> Vec<SpecError> {
    analyze(path, bytes).err().unwrap_or_default()
}

/// A valid spec's lint: its summary (`14 cases`) and its [`warnings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linted {
    pub summary: String,
    pub warnings: Vec<String>,
}

/// Lints one spec file: a summary and its warnings, or every error, one line each.
pub fn lint_spec_file(path: &Path) -> Result<Linted, Vec<String>> {
    let bytes = read_file(path).map_err(|e| vec![e.to_string()])?;
    match analyze(path, &bytes) {
        Ok(loaded) => {
            let n = loaded.spec.cases.len();
            Ok(Linted {
                summary: format!("{n} case{}", if n == 1 { "" } else { "s" }),
                warnings: warnings(&loaded),
            })
        }
        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
    }
}

/// Warnings about a valid spec: things that work but that a reviewer should see. Today one
/// kind: a secret (a `secret` variable or capture) placed in an operation's URL path or query,
/// where servers, proxies and browsers log it (OWASP ASVS 5.0 V14.2.1). Each warning reads
/// `file:line:column: /pointer: message`, like an error.
pub fn warnings(loaded: &LoadedSpec) -> Vec<String> {
    let spec = &loaded.spec;
    let mut secrets: Vec<&str> = spec
        .variables
        .iter()
        .filter(|(_, v)| v.secret)
        .map(|(n, _)| n.as_str())
        .collect();
    let step_captures = spec
        .cases
        .iter()
        .flat_map(|c| c.steps.iter())
        .flat_map(|s| s.capture.iter());
    for (name, capture) in spec
        .operations
        .values()
        .flat_map(|o| o.capture.iter())
        .chain(step_captures)
    {
        if capture.secret && !secrets.contains(&name.as_str()) {
            secrets.push(name);
        }
    }
    let mut out = Vec::new();
    for (op_name, op) in &spec.operations {
        let base = format!("/operations/{}", escape(op_name));
        let mut places = vec![(format!("{base}/path"), "path", op.path.as_str())];
        for (key, value) in &op.query {
            places.push((
                format!("{base}/query/{}", escape(key)),
                "query",
                value.as_str(),
            ));
        }
        for (pointer, part, text) in places {
            let Ok(names) = names(text) else { continue };
            for secret in names.into_iter().filter(|n| secrets.contains(n)) {
                let (line, column) = loaded.source_map.position(&pointer).unwrap_or((1, 1));
                out.push(format!(
                    "{}:{line}:{column}: {pointer}: the secret `{secret}` is in the URL {part} of \
                     operation `{op_name}`: URLs are written to server, proxy and browser logs \
                     (OWASP ASVS 5.0 V14.2.1); send it in a header or the body",
                    loaded.path.display()
                ));
            }
        }
    }
    out
}
