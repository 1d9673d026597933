//! The README stays true: its spec table lists every case of every spec, and CI runs its test command.

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

#[test]
fn readme_table_lists_every_case_of_every_spec() {
    let readme = read("README.md");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let files = sessionspec::spec::spec_files(&dir).expect("specs/ is readable");
    assert_eq!(files.len(), 5, "five specs, one per source document");
    let mut missing = Vec::new();
    for file in files {
        let loaded = sessionspec::spec::load_spec(&file).expect("shipped spec loads");
        let spec = &loaded.spec;
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| [`{}`]", spec.name)))
            .unwrap_or_else(|| panic!("README has no row for spec `{}`", spec.name));
        assert!(
            row.contains(&spec.source),
            "row of `{}` names its source document",
            spec.name
        );
        for case in &spec.cases {
            if !row.contains(&format!("`{}`", case.id)) {
                missing.push(format!("{}/{}", spec.name, case.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README's spec table misses cases (run scripts/spec-table.py): {missing:?}"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = read("README.md");
    let commands: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .expect("README has a first shell block")
        .lines()
        .take_while(|l| !l.starts_with("```"))
        .collect();
    assert_eq!(
        commands.len(),
        2,
        "the first block holds exactly the two commands"
    );
    assert!(commands[0].contains(" check") && commands[0].contains(" load --scenario"));
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == commands[1].trim()),
        "`.ci/run` runs the README's test command `{}`",
        commands[1]
    );
}
