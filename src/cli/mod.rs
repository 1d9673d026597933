//! The command-line layer, and the only code that knows clap, exit codes or the process
//! environment: it turns each subcommand's arguments into a plain plan, installs the one signal
//! watcher, hands the plan to its engine, prints the outcome, and maps the outcome's
//! [`Verdict`] to the exit code in one function, [`exit_code`].

pub mod args;
mod check;
pub mod common;
mod distributed;
pub mod find_max;
mod lint;
mod list;
mod load;
mod merge;
mod progress;
mod serve;
pub mod signals;

use std::process::ExitCode;

use clap::Parser;

use crate::stop::{Stop, StopReason};
use crate::verdict::Verdict;
pub use args::{CheckArgs, Cli, Command, LintArgs, LoadArgs, ServeArgs, TargetArgs};
pub use check::check_plan;
pub use find_max::capacity_plan;
pub use load::{load_plan, write_load_reports};

/// Exit codes shared by every command.
pub mod exit {
    /// Everything conformed / every threshold held.
    pub const OK: u8 = 0;
    /// A conformance case or a threshold failed (or a counted case could not be judged).
    pub const FAILED: u8 = 1;
    /// Usage, spec or connection error.
    pub const ERROR: u8 = 2;
    /// Interrupted by SIGINT.
    pub const SIGINT: u8 = 130;
    /// Interrupted by SIGTERM.
    pub const SIGTERM: u8 = 143;
}

/// The exit code of a verdict: the one place it is decided. `stopped` says which signal
/// interrupted the run (an `interrupted` verdict without one is taken as SIGINT).
pub fn exit_code(verdict: Verdict, stopped: Option<StopReason>) -> u8 {
    match verdict {
        Verdict::Pass => exit::OK,
        Verdict::Incomplete | Verdict::Fail => exit::FAILED,
        Verdict::Error => exit::ERROR,
        Verdict::Interrupted => match stopped {
            Some(StopReason::Terminate) => exit::SIGTERM,
            Some(StopReason::Interrupt) | None => exit::SIGINT,
        },
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("{}", one_line(&e.render().to_string()));
            return ExitCode::from(exit::ERROR);
        }
        Err(e) => {
            // --help, --version
            let _ = e.print();
            return ExitCode::from(exit::OK);
        }
    };
    ExitCode::from(run(cli))
}

/// A clap usage error in one line: its lines joined, without the "For more information" hint.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a parsed command line and returns its exit code.
pub fn run(cli: Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    runtime.block_on(async move {
        let stop = match signals::install() {
            Ok(stop) => stop,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        };
        dispatch(cli.command, &stop).await
    })
}

async fn dispatch(command: Command, stop: &Stop) -> u8 {
    match command {
        Command::Check(args) => check::run(args, stop).await,
        Command::Load(args) if !args.find_max.find_max.is_empty() => {
            find_max::run(args, stop).await
        }
        Command::Load(args) => load::run(args, stop).await,
        Command::Serve(args) => serve::run(args, stop).await,
        Command::Lint(args) => lint::run(args),
        Command::List(args) => list::run(&args),
        Command::Merge(args) => merge::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_has_its_exit_code() {
        assert_eq!(exit_code(Verdict::Pass, None), 0);
        assert_eq!(exit_code(Verdict::Incomplete, None), 1);
        assert_eq!(exit_code(Verdict::Fail, None), 1);
        assert_eq!(exit_code(Verdict::Error, None), 2);
        assert_eq!(
            exit_code(Verdict::Interrupted, Some(StopReason::Interrupt)),
            130
        );
        assert_eq!(
            exit_code(Verdict::Interrupted, Some(StopReason::Terminate)),
            143
        );
    }

    fn usage_error(argv: &[&str]) -> String {
        let mut full = vec!["sessionspec"];
        full.extend_from_slice(argv);
        let e = Cli::try_parse_from(full).unwrap_err();
        assert!(e.use_stderr(), "{argv:?}");
        let line = one_line(&e.render().to_string());
        assert!(!line.contains('\n'), "{line}");
        line
    }

    #[test]
    fn closed_sets_list_their_values() {
        let e = usage_error(&["check", "--fault", "bogus"]);
        assert!(e.contains("no-revoke") && e.contains("flaky"), "{e}");
        let e = usage_error(&["check", "--hash-cost", "max"]);
        assert!(e.contains("--hash-cost") && e.contains("owasp"), "{e}");
        let e = usage_error(&["serve", "--dialect", "django"]);
        assert!(e.contains("drf-sessions"), "{e}");
        let e = usage_error(&["check", "--var", "novalue"]);
        assert!(e.contains("NAME=VALUE"), "{e}");
        let e = usage_error(&["check", "--concurrency", "0"]);
        assert!(e.contains("--concurrency"), "{e}");
        let e = usage_error(&["check", "--timeout", "0s"]);
        assert!(e.contains("at least 1ms"), "{e}");
        let e = usage_error(&["serve", "--dialect", "rails-jwt", "--addr", "localhost"]);
        assert!(e.contains("--addr"), "{e}");
    }
}
