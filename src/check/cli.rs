//! `sessionspec check`: turns the command line into a [`CheckPlan`], probes a `--target` once,
//! runs the plan (stopping cleanly on SIGINT/SIGTERM), prints the terminal report on stdout,
//! writes the asked reports, and maps the outcome to an exit code.
//!
//! Exit codes: 0 every must case passed (and should cases with `--strict`); 1 a case failed;
//! 2 usage, spec or connection error; 130/143 interrupted by SIGINT/SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use indexmap::IndexMap;

use super::client::{probe, ProbeError};
use super::outcome::{CaseStatus, RunOutcome, SpecOutcome};
use super::plan::{CheckPlan, RunOptions, Target};
use super::runner::{run_specs_with, Progress};
use super::stop::{stop_channel, StopHandle};
use crate::cli::{exit, CheckArgs};
use crate::report::{
    parse_report_arg, write_report, write_terminal, ReportError, ReportFormat, TerminalOptions,
};
use crate::server::{Fault, HashCost, UnknownFault};
use crate::spec::parse_var;
use crate::spec::{find_spec, load_spec, spec_files, LoadedSpec, SpecError, Vars};

/// Why `check` cannot start: a one-line message, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CheckCliError {
    #[error("{0}")]
    BadVar(String),
    #[error("--fault: {0}")]
    UnknownFault(#[from] UnknownFault),
    #[error("--fault needs the embedded server: it cannot break a --target (drop --target to check the built-in server with faults)")]
    FaultWithTarget,
    #[error("--hash-cost: {0}")]
    HashCost(String),
    #[error("--concurrency must be at least 1")]
    Concurrency,
    #[error("--target `{0}` must be an http:// URL such as http://127.0.0.1:3000")]
    BadTarget(String),
    #[error("{0}")]
    Report(#[from] ReportError),
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("no spec files (*.json) in {0}: pass --spec FILE or --specs-dir DIR")]
    NoSpecs(String),
    #[error("spec `{spec}`: {message}")]
    Variable { spec: String, message: String },
    #[error("--var {name}: no spec defines `{name}` (known: {known})")]
    UnknownVar { name: String, known: String },
    #[error("{0}")]
    Unreachable(#[from] ProbeError),
}

/// Everything `check` needs, parsed from the command line.
#[derive(Debug)]
pub struct Prepared {
    pub plan: CheckPlan,
    pub reports: Vec<(ReportFormat, PathBuf)>,
}

/// Parses and validates the arguments, loads the specs and resolves their variables.
pub fn prepare(args: &CheckArgs) -> Result<Prepared, CheckCliError> {
    let mut vars = IndexMap::new();
    for v in &args.vars {
        let (name, value) = parse_var(v).map_err(CheckCliError::BadVar)?;
        vars.insert(name, value);
    }
    let reports = args
        .reports
        .iter()
        .map(|r| parse_report_arg(r))
        .collect::<Result<Vec<_>, _>>()?;
    if args.concurrency == 0 {
        return Err(CheckCliError::Concurrency);
    }
    let target = match &args.target {
        Some(url) => {
            if !args.faults.is_empty() {
                return Err(CheckCliError::FaultWithTarget);
            }
            let url = url.trim();
            if !url.starts_with("http://") {
                return Err(CheckCliError::BadTarget(url.to_owned()));
            }
            Target::Url(url.trim_end_matches('/').to_owned())
        }
        None => {
            let faults = args
                .faults
                .iter()
                .map(|f| f.parse::<Fault>())
                .collect::<Result<Vec<_>, _>>()?;
            let hash_cost: HashCost =
                args.hash_cost
                    .parse()
                    .map_err(|e: crate::server::UnknownHashCost| {
                        CheckCliError::HashCost(e.to_string())
                    })?;
            Target::Embedded { faults, hash_cost }
        }
    };
    let specs = load_specs(&args.specs, &args.specs_dir)?;
    let mut plan = CheckPlan::new(specs, target);
    plan.vars = vars;
    plan.read_process_env();
    plan.options = RunOptions {
        timeout: args.timeout,
        concurrency: args.concurrency,
        max_body: args.max_body,
        strict: args.strict,
    };
    for name in plan.vars.keys() {
        let defined = |l: &Arc<LoadedSpec>| l.spec.variables.contains_key(name);
        if !plan.specs.iter().any(defined) {
            let mut known: Vec<&str> = plan
                .specs
                .iter()
                .flat_map(|l| l.spec.variables.keys().map(String::as_str))
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(CheckCliError::UnknownVar {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    for loaded in &plan.specs {
        Vars::from_spec(&loaded.spec, &plan.vars, |n| plan.env.get(n).cloned()).map_err(|e| {
            CheckCliError::Variable {
                spec: loaded.spec.name.clone(),
                message: e.to_string(),
            }
        })?;
    }
    Ok(Prepared { plan, reports })
}

/// Loads the named specs (names or files), or every spec of `dir`.
pub fn load_specs(names: &[String], dir: &Path) -> Result<Vec<LoadedSpec>, CheckCliError> {
    let files = if names.is_empty() {
        let files = spec_files(dir)?;
        if files.is_empty() {
            return Err(CheckCliError::NoSpecs(dir.display().to_string()));
        }
        files
    } else {
        let mut files: Vec<PathBuf> = Vec::new();
        for n in names {
            let f = find_spec(dir, n)?;
            if !files.contains(&f) {
                files.push(f);
            }
        }
        files
    };
    Ok(files
        .iter()
        .map(|f| load_spec(f))
        .collect::<Result<Vec<_>, _>>()?)
}

/// One line per spec on stderr.
struct StderrProgress;

impl Progress for StderrProgress {
    fn spec_started(&self, spec: &LoadedSpec, target: &str) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "sessionspec: checking {} ({} cases) against {target}",
            spec.spec.name,
            spec.spec.cases.len()
        );
    }

    fn spec_finished(&self, outcome: &SpecOutcome) {
        let count = |s: CaseStatus| outcome.cases.iter().filter(|c| c.status == s).count();
        let line = match &outcome.error {
            Some(e) => format!("sessionspec: {}: error: {e}", outcome.name),
            None => format!(
                "sessionspec: {}: {} passed, {} failed, {} errored, {} skipped ({} ms)",
                outcome.name,
                count(CaseStatus::Passed),
                count(CaseStatus::Failed),
                count(CaseStatus::Errored),
                count(CaseStatus::Skipped),
                outcome.duration_ms
            ),
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// Which signal stopped the run (0: none).
const NO_SIGNAL: u8 = 0;

/// The termination signals `check` stops on, listening from the moment this is built (so that a
/// signal arriving as soon as the run starts is not lost to the default handler).
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for the first signal; returns its exit code and name.
    async fn first(mut self) -> (u8, &'static str) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        if s.recv().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = recv(&mut self.interrupt) => (exit::SIGINT, "SIGINT"),
                _ = recv(&mut self.terminate) => (exit::SIGTERM, "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            (exit::SIGINT, "SIGINT")
        }
    }
}

/// Stops the run on the first SIGINT or SIGTERM and records which one arrived.
async fn watch_signals(signals: Signals, handle: StopHandle, which: Arc<AtomicU8>) {
    let (code, name) = signals.first().await;
    which.store(code, Ordering::SeqCst);
    handle.stop();
    let _ = writeln!(
        std::io::stderr().lock(),
        "sessionspec: {name}: stopping; cases not started are skipped, reports are still written"
    );
}

/// The exit code of a finished run.
pub fn exit_code(run: &RunOutcome, signal: u8) -> u8 {
    if signal != NO_SIGNAL {
        signal
    } else if run.specs.iter().any(|s| s.error.is_some()) {
        exit::ERROR
    } else if run.conforms() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// Runs `check`; returns the exit code.
pub async fn run(args: CheckArgs) -> u8 {
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    if let Target::Url(url) = &prepared.plan.target {
        if let Err(e) = probe(url, prepared.plan.options.timeout).await {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    }

    let (handle, stop) = stop_channel();
    let signal = Arc::new(AtomicU8::new(NO_SIGNAL));
    let watcher = tokio::spawn(watch_signals(Signals::install(), handle, signal.clone()));
    let outcome = run_specs_with(&prepared.plan, &stop, &StderrProgress).await;
    watcher.abort();
    let signal = signal.load(Ordering::SeqCst);

    let opts = TerminalOptions::detect(args.no_color, false);
    let mut stdout = std::io::stdout().lock();
    let printed = write_terminal(&mut stdout, &outcome, &opts).and_then(|_| stdout.flush());
    drop(stdout);
    let mut code = exit_code(&outcome, signal);
    if let Err(e) = printed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot print the report: {e}");
        }
    }
    for (format, path) in &prepared.reports {
        match write_report(*format, &outcome, path) {
            Ok(()) => eprintln!(
                "sessionspec: wrote the {format} report to {}",
                path.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                if code == exit::OK || code == exit::FAILED {
                    code = exit::ERROR;
                }
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> CheckArgs {
        let mut argv = vec!["sessionspec", "check"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Check(a) => a,
            other => panic!("not check: {other:?}"),
        }
    }

    #[test]
    fn usage_errors_are_one_line() {
        let e = prepare(&args(&["--var", "novalue"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("NAME=VALUE"), "{e}");
        let e = prepare(&args(&["--fault", "bogus"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-revoke") && e.contains("flaky"), "{e}");
        let e = prepare(&args(&[
            "--fault",
            "no-revoke",
            "--target",
            "http://127.0.0.1:1",
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--fault needs the embedded server"), "{e}");
        let e = prepare(&args(&["--report", "yaml"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("yaml"), "{e}");
        let e = prepare(&args(&["--hash-cost", "max"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--hash-cost"), "{e}");
        let e = prepare(&args(&["--target", "ftp://x"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("http://"), "{e}");
        let e = prepare(&args(&["--spec", "rails-jwt", "--var", "nope=1"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no spec defines `nope`") && e.contains("password"),
            "{e}"
        );
        let e = prepare(&args(&["--concurrency", "0"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1"), "{e}");
        for e in [
            prepare(&args(&[
                "--spec",
                "no-such-spec",
                "--specs-dir",
                "no/such/dir",
            ])),
            prepare(&args(&["--specs-dir", "no/such/dir"])),
        ] {
            let e = e.unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
