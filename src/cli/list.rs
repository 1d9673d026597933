//! `sessionspec list`: what `--spec NAME` and `--scenario NAME` can name, with each spec's source
//! document — from the folders beside the run, or the shipped ones built into the binary.

use std::path::Path;

use super::args::ListArgs;
use super::exit;
use crate::load::load_scenario_named;
use crate::spec::{all_specs, Level};

fn origin(path: &Path) -> String {
    let shown = path.display().to_string();
    if shown.starts_with("builtin:") {
        "built in".to_owned()
    } else {
        shown
    }
}

/// Prints every spec (name, title, source document, cases) and every scenario (name, spec, users,
/// run time); 2 when a spec or scenario does not load.
pub fn run(args: &ListArgs) -> u8 {
    let specs = match all_specs(&args.specs_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    println!("specs:");
    let width = specs.iter().map(|s| s.spec.name.len()).max().unwrap_or(0);
    for s in &specs {
        let must = s
            .spec
            .cases
            .iter()
            .filter(|c| c.level == Level::Must)
            .count();
        println!(
            "  {:<width$}  {} — source {} · {} cases ({must} must, {} should) · {}",
            s.spec.name,
            s.spec.title,
            s.spec.source,
            s.spec.cases.len(),
            s.spec.cases.len() - must,
            origin(&s.path)
        );
    }
    let names: Vec<String> = if args.scenarios_dir.is_dir() {
        crate::document::document_files(&args.scenarios_dir)
            .unwrap_or_default()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        crate::builtin::SCENARIOS
            .iter()
            .map(|b| b.name.to_owned())
            .collect()
    };
    println!("scenarios:");
    let mut code = exit::OK;
    for name in names {
        match load_scenario_named(&args.scenarios_dir, &name, &args.specs_dir) {
            Ok(l) => println!(
                "  {}  spec {} · {} · {}",
                l.scenario.name,
                l.scenario.spec,
                if l.scenario.description.is_empty() {
                    "no description"
                } else {
                    l.scenario.description.as_str()
                },
                origin(&l.path)
            ),
            Err(e) => {
                for line in e.lines() {
                    eprintln!("error: {line}");
                }
                code = exit::ERROR;
            }
        }
    }
    code
}
