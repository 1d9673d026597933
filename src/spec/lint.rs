//! `sessionspec lint`: validates spec and scenario files, reporting every error of each file.

use std::path::{Path, PathBuf};

use super::load::{analyze, read_file, SpecError};
use crate::cli::{exit, LintArgs};

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

/// Lints one scenario file (the rules live with the scenario loader).
fn lint_scenario(path: &Path) -> Result<String, Vec<String>> {
    crate::load::scenario::lint_scenario_file(path)
}

/// Whether `path` is a scenario file (it lies under a `scenarios` folder).
pub fn is_scenario(path: &Path) -> bool {
    path.parent()
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "scenarios"))
}

/// Lints one file, as a scenario when it lies under `scenarios/`, else as a spec.
pub fn lint_file(path: &Path) -> Result<String, Vec<String>> {
    if is_scenario(path) {
        lint_scenario(path)
    } else {
        lint_spec_file(path)
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

/// Runs `lint`; returns the exit code (0: every file valid, 2: otherwise).
pub fn run(args: LintArgs) -> u8 {
    let files = if args.files.is_empty() {
        let found = default_files(Path::new("."));
        if found.is_empty() {
            eprintln!(
                "error: no *.json file under specs/ or scenarios/ here: run from the project root or name the files"
            );
            return exit::ERROR;
        }
        found
            .into_iter()
            .map(|p| p.strip_prefix(".").map(Path::to_owned).unwrap_or(p))
            .collect()
    } else {
        args.files
    };
    let mut failed = 0usize;
    for path in &files {
        match lint_file(path) {
            Ok(summary) => println!("ok   {} ({summary})", path.display()),
            Err(errors) => {
                failed += 1;
                for e in &errors {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    if failed == 0 {
        exit::OK
    } else {
        eprintln!(
            "{failed} of {} file{} invalid",
            files.len(),
            if files.len() == 1 { " is" } else { "s are" }
        );
        exit::ERROR
    }
}
