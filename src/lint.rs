//! The `lint` engine, above both document formats: each file is linted as a spec or as a
//! scenario by what it contains (its `$schema`, else its shape), not by the folder it lies in.

use std::path::{Path, PathBuf};

/// Which files to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintPlan {
    pub files: Vec<PathBuf>,
}

/// What a file was linted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Spec,
    Scenario,
}

/// One file's result: a one-line summary, or every problem, one line each; and warnings, which
/// do not make the file invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLint {
    pub path: PathBuf,
    pub result: Result<String, Vec<String>>,
    pub warnings: Vec<String>,
}

/// Every file's result, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOutcome {
    pub files: Vec<FileLint>,
}

impl LintOutcome {
    /// How many files have problems.
    pub fn invalid(&self) -> usize {
        self.files.iter().filter(|f| f.result.is_err()).count()
    }
}

/// Lints every file of the plan.
pub fn run(plan: &LintPlan) -> LintOutcome {
    LintOutcome {
        files: plan
            .files
            .iter()
            .map(|path| {
                let (result, warnings) = lint_file(path);
                FileLint {
                    path: path.clone(),
                    result,
                    warnings,
                }
            })
            .collect(),
    }
}

/// Decides what a document is: a `$schema` naming the scenario schema, or (without `$schema`) an
/// object with a string `spec` and a `flow` or `flows`, is a scenario; anything else a spec.
pub fn kind_of(text: &str) -> DocumentKind {
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(text) else {
        return DocumentKind::Spec;
    };
    if let Some(schema) = doc.get("$schema").and_then(|s| s.as_str()) {
        return if schema.contains("scenario") {
            DocumentKind::Scenario
        } else {
            DocumentKind::Spec
        };
    }
    let names_spec = doc.get("spec").is_some_and(serde_json::Value::is_string);
    if names_spec && (doc.contains_key("flow") || doc.contains_key("flows")) {
        DocumentKind::Scenario
    } else {
        DocumentKind::Spec
    }
}

/// Lints one file as what its content says it is: its result and its warnings.
pub fn lint_file(path: &Path) -> (Result<String, Vec<String>>, Vec<String>) {
    let bytes = match crate::document::read_file(path) {
        Ok(b) => b,
        Err(e) => return (Err(vec![e.to_string()]), Vec::new()),
    };
    let text = String::from_utf8_lossy(&bytes);
    match kind_of(&text) {
        DocumentKind::Scenario => (crate::load::loader::lint_scenario_file(path), Vec::new()),
        DocumentKind::Spec => match crate::spec::lint::lint_spec_file(path) {
            Ok(linted) => (Ok(linted.summary), linted.warnings),
            Err(errors) => (Err(errors), Vec::new()),
        },
    }
}

impl LintOutcome {
    /// How many warnings all files have.
    pub fn warnings(&self) -> usize {
        self.files.iter().map(|f| f.warnings.len()).sum()
    }
}

/// Every `*.json` under `root/specs` and `root/scenarios` (recursively, skipping `schema` folders), sorted.
pub fn default_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["specs", "scenarios"] {
        let mut dirs = vec![root.join(top)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if entry.file_name() != "schema" {
                        dirs.push(path);
                    }
                } else if path.extension().is_some_and(|x| x == "json") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_decided_by_content() {
        assert_eq!(
            kind_of(r#"{"$schema": "schema/scenario.schema.json", "spec": "x"}"#),
            DocumentKind::Scenario
        );
        assert_eq!(
            kind_of(r#"{"name": "s", "spec": "drf-sessions", "flow": []}"#),
            DocumentKind::Scenario
        );
        assert_eq!(
            kind_of(r#"{"$schema": "schema/spec.schema.json", "name": "x"}"#),
            DocumentKind::Spec
        );
        assert_eq!(kind_of(r#"{"name": "x", "cases": []}"#), DocumentKind::Spec);
        assert_eq!(kind_of("not json"), DocumentKind::Spec);
    }
}
