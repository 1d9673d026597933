//! Report writers: snapshots of every format over hand-built outcomes, the JSON report against its
//! published schema, the JUnit XML parsed back, the HTML self-contained and escaped, and atomic writes.

mod documents;
mod files;
mod fixtures;
mod machine;
mod terminal;

use std::io;

use sessionspec::check::outcome::RunOutcome;
use sessionspec::report::{write_terminal, TerminalOptions};

fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("writing into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

fn terminal(run: &RunOutcome, color: bool, verbose: bool) -> String {
    render(|w| write_terminal(w, run, &TerminalOptions { color, verbose }))
}

fn snap(name: &str, value: &str) {
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, value);
    });
}
