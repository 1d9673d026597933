//! `sessionspec lint`: validates spec and scenario files, printing every error of each file.

use std::path::Path;

use super::args::LintArgs;
use super::exit;
use crate::lint::{default_files, LintPlan};

/// The files to lint: those given, else every spec and scenario under `./specs` and `./scenarios`.
pub fn lint_plan(args: LintArgs) -> Result<LintPlan, String> {
    if !args.files.is_empty() {
        return Ok(LintPlan { files: args.files });
    }
    let found = default_files(Path::new("."));
    if found.is_empty() {
        return Err("no *.json file under specs/ or scenarios/ here: run from the project root or name the files".into());
    }
    Ok(LintPlan {
        files: found
            .into_iter()
            .map(|p| p.strip_prefix(".").map(Path::to_owned).unwrap_or(p))
            .collect(),
    })
}

/// Runs `lint`; returns the exit code (0: every file valid, 2: otherwise).
pub fn run(args: LintArgs) -> u8 {
    let plan = match lint_plan(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let outcome = crate::lint::run(&plan);
    for file in &outcome.files {
        for w in &file.warnings {
            eprintln!("warning: {w}");
        }
        match &file.result {
            Ok(summary) => println!("ok   {} ({summary})", file.path.display()),
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    let failed = outcome.invalid();
    if failed == 0 {
        exit::OK
    } else {
        let n = outcome.files.len();
        eprintln!(
            "{failed} of {n} file{} invalid",
            if n == 1 { " is" } else { "s are" }
        );
        exit::ERROR
    }
}
