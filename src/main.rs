//! The `sessionspec` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    sessionspec::cli::main()
}
