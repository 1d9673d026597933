//! Command-line interface: clap definitions and dispatch to the engine.
//!
//! The library never reads `std::env::args` outside [`main`], and never calls `process::exit`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Exit codes shared by every command.
pub mod exit {
    /// Everything conformed / every threshold held.
    pub const OK: u8 = 0;
    /// A conformance case or a threshold failed.
    pub const FAILED: u8 = 1;
    /// Usage, spec or connection error.
    pub const ERROR: u8 = 2;
    /// Interrupted by SIGINT.
    pub const SIGINT: u8 = 130;
    /// Interrupted by SIGTERM.
    pub const SIGTERM: u8 = 143;
}

#[derive(Debug, Parser)]
#[command(
    name = "sessionspec",
    version,
    about = "Prove a session (login/logout) HTTP API keeps its documented contract, then measure how fast it logs people in",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay specs against a target and report, case by case, what conforms.
    Check(CheckArgs),
    /// Drive a load scenario and report login throughput and latency percentiles.
    Load(LoadArgs),
    /// Run the reference server for one dialect.
    Serve(ServeArgs),
    /// Validate spec and scenario files.
    Lint(LintArgs),
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Spec name (e.g. `rails-jwt`) or path to a spec file; repeat for several. Default: every spec in `specs/`.
    #[arg(long = "spec", value_name = "NAME|FILE")]
    pub specs: Vec<String>,
    /// Base URL of the API under test. Default: the built-in reference server of each spec's dialect.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Count `should` cases as failures too.
    #[arg(long)]
    pub strict: bool,
    /// Write a report: `json`, `junit`, `markdown` or `html`, optionally `:PATH` (default under `reports/`).
    #[arg(long = "report", value_name = "FORMAT[:PATH]")]
    pub reports: Vec<String>,
    /// Fault switch for the built-in reference server (only without --target); repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,
    /// Timeout of one HTTP exchange.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How many cases of one spec run at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Override a spec variable; repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Largest response body read, in bytes (larger bodies are cut and the case fails).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_body: usize,
    /// Directory holding the specs (for `--spec NAME`).
    #[arg(long, default_value = "specs", value_name = "DIR")]
    pub specs_dir: PathBuf,
    /// Password hash cost of the built-in reference server.
    #[arg(long, default_value = "low", value_name = "low|owasp")]
    pub hash_cost: String,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// Scenario name (e.g. `drf-login-list-logout`) or path to a scenario file.
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: String,
    /// Base URL of the API under test. Default: the built-in reference server of the scenario's spec.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Simulated users (default: the scenario's).
    #[arg(long)]
    pub users: Option<usize>,
    /// Users started per second (default: the scenario's).
    #[arg(long, value_name = "R")]
    pub hatch_rate: Option<String>,
    /// How long to run (default: the scenario's, at most 60s unless given here).
    #[arg(long, value_parser = parse_duration)]
    pub run_time: Option<Duration>,
    /// Stop after each user ran the flow this many times.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// A CI gate such as `login:p95<250ms`, `errors<1%`, `login:rps>=50`; repeatable.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Write a report: `json`, `markdown` or `html` (goose's own), optionally `:PATH`.
    #[arg(long = "report", value_name = "FORMAT[:PATH]")]
    pub reports: Vec<String>,
    /// Fault switch for the built-in reference server (only without --target); repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,
    /// Override a spec variable; repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Coordinated omission mitigation: disabled, average, minimum or maximum.
    #[arg(long, default_value = "disabled")]
    pub co_mitigation: String,
    /// Password hash cost of the built-in reference server.
    #[arg(long, default_value = "owasp", value_name = "low|owasp")]
    pub hash_cost: String,
    /// Directory holding the scenarios (for `--scenario NAME`).
    #[arg(long, default_value = "scenarios", value_name = "DIR")]
    pub scenarios_dir: PathBuf,
    /// Directory holding the specs the scenario names.
    #[arg(long, default_value = "specs", value_name = "DIR")]
    pub specs_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Which documented API to serve: jsonapi-sessions, sessions-service, rails-jwt, form-sessions, drf-sessions.
    #[arg(long)]
    pub dialect: String,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// Fault switch that breaks one rule; repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,
    /// Password hash cost.
    #[arg(long, default_value = "owasp", value_name = "low|owasp")]
    pub hash_cost: String,
}

#[derive(Debug, Args, Clone)]
pub struct LintArgs {
    /// Spec or scenario files. Default: everything under `specs/` and `scenarios/`.
    pub files: Vec<PathBuf>,
}

/// Parses a duration such as `10s`, `250ms` or `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration `{s}`: {e}"))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    run(cli)
}

/// Runs a parsed command line and returns its exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Check(args) => crate::check::cli::run(args).await,
            Command::Load(args) => crate::load::cli::run(args).await,
            Command::Serve(args) => crate::server::cli::run(args).await,
            Command::Lint(args) => crate::spec::lint::run(args),
        }
    });
    ExitCode::from(code)
}
