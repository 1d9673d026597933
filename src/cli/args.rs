//! The clap definitions of every subcommand. Closed sets (faults, hash costs, dialects,
//! coordinated-omission mitigation) are `ValueEnum`s, so a wrong value is refused by clap with the
//! list of possible values; open values (URLs, `--var`, durations, reports) are parsed once, in
//! [`super::common`], by the same function for every subcommand.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use super::common::{parse_target_url, parse_timeout, parse_var, Var};
use crate::server::{Dialect, Fault, HashCost, Variant};
use crate::target::Target;
use crate::tls::{CaCerts, ClientTls, Resolve};

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
// Parsed once per process; boxing `load`'s arguments would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Replay specs against a target and report, case by case, what conforms.
    Check(CheckArgs),
    /// Drive a load scenario and report login throughput and latency percentiles.
    Load(LoadArgs),
    /// Run the reference server for one dialect.
    Serve(ServeArgs),
    /// Validate spec and scenario files.
    Lint(LintArgs),
    /// List the specs and scenarios available (a folder beside the run wins over the built-in ones).
    List(ListArgs),
    /// Add up the JSON reports of a distributed run's shards (`load --shard I/N`) exactly and
    /// judge the thresholds on the whole.
    Merge(super::merge::MergeArgs),
}

/// Flags `check` and `load` share, parsed by the same rules.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Base URL (http:// or https://) of the API under test. Default: the built-in reference
    /// server of each spec's dialect.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Fault switch for the built-in reference server (only without --target); repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,
    /// A conformant variant of the built-in reference server (behaviour the documents and RFCs
    /// allow: the specs must still pass); only without --target; repeatable.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<Variant>,
    /// Override a spec variable; repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<Var>,
    /// Directory holding the specs (for `--spec NAME`, and the spec a scenario names).
    #[arg(long, default_value = "specs", value_name = "DIR")]
    pub specs_dir: PathBuf,
    /// Timeout of one HTTP exchange (connect, headers and body), e.g. `10s`, `500ms`; it also
    /// bounds the probe of a --target.
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Trust the CA certificates of this PEM file too (on top of the system's roots); repeatable.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacerts: Vec<PathBuf>,
    /// Accept any TLS certificate (no verification): a warning is printed.
    #[arg(long)]
    pub insecure: bool,
    /// Speak HTTP/1.1 only (otherwise HTTP/2 where an https server offers it).
    #[arg(long)]
    pub http1: bool,
    /// Send requests for HOST to ADDR instead of what DNS says (as curl's --resolve); repeatable.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// A target profile (JSON): adapts its spec to one target — operations, variables, headers,
    /// cases that do not apply. It names its spec (then --spec is optional) and may name the
    /// target; --target and --var win over it.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

impl TargetArgs {
    /// The TLS settings of the client: `--cacert` files read, `--resolve` parsed.
    pub fn client_tls(&self) -> Result<ClientTls, String> {
        let ca_certs = self
            .cacerts
            .iter()
            .map(|f| CaCerts::from_file(f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let resolve = self
            .resolve
            .iter()
            .map(|r| r.parse::<Resolve>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(ClientTls {
            ca_certs,
            insecure: self.insecure,
            http1_only: self.http1,
            resolve,
        })
    }

    /// The target of a `check` or `load` run: `--target`, or the embedded servers with the faults.
    pub fn resolve(&self, hash_cost: HashCost) -> Result<Target, String> {
        match &self.target {
            Some(url) => {
                if !self.faults.is_empty() {
                    return Err("--fault needs the embedded server: it cannot break a --target (drop --target to check the built-in server with faults)".into());
                }
                if !self.variants.is_empty() {
                    return Err("--variant needs the embedded server: it cannot change a --target (drop --target to check the built-in server with variants)".into());
                }
                parse_target_url(url).map(Target::Url)
            }
            None => Ok(Target::Embedded {
                faults: self.faults.clone(),
                hash_cost,
                variants: self.variants.clone(),
            }),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Spec name (e.g. `rails-jwt`) or path to a spec file; repeat for several. Default: every spec in `specs/`.
    #[arg(long = "spec", value_name = "NAME|FILE")]
    pub specs: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Count `should` cases as failures too.
    #[arg(long)]
    pub strict: bool,
    /// Write a report: `json`, `junit`, `markdown` or `html`, optionally `:PATH` (default under `reports/`).
    #[arg(long = "report", value_name = "FORMAT[:PATH]")]
    pub reports: Vec<String>,
    /// How many cases of one spec run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Largest response body read, in bytes (larger bodies are cut and the case fails).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_body: usize,
    /// Password hash cost of the built-in reference server.
    #[arg(long, default_value = "low", value_name = "COST")]
    pub hash_cost: HashCost,
    /// Never colour the terminal output.
    #[arg(long)]
    pub no_color: bool,
    /// Run only the cases whose id matches (`*` matches anything, e.g. `login-*`); repeatable.
    #[arg(long = "case", value_name = "ID|GLOB")]
    pub cases: Vec<String>,
    /// Run only the cases with this tag (e.g. `owasp`); repeatable. Cases tagged `intrusive`
    /// (lockout: they can lock real accounts) run against a --target only with --tag intrusive.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Stop at the first counted case that fails or errors (the rest are reported as not run).
    #[arg(long)]
    pub fail_fast: bool,
    /// Write one executable `sh` script per failed case into DIR: every step of the case as curl
    /// commands, captures carried in shell variables, secrets read from the environment.
    #[arg(long, value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
    /// After this many cases in a row get no response at all (refused, reset, timeout), the rest
    /// of that spec is not run and the run is an error; 0 never gives up.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_transport_errors: usize,
}

#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// Scenario name (e.g. `drf-login-list-logout`) or path to a scenario file.
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Simulated users (default: the scenario's).
    #[arg(long)]
    pub users: Option<usize>,
    /// Users started per second (default: the scenario's).
    #[arg(long, value_name = "R")]
    pub hatch_rate: Option<String>,
    /// How long to run (default: the scenario's, at most 60s unless given here).
    #[arg(long, value_parser = super::common::parse_duration)]
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
    /// Open model: iterations start at this arrival rate, `200/s` (constant) or `10/s..400/s`
    /// (a linear ramp over the run), served by the --users pool; latency is measured from each
    /// arrival's intended start.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Open model: arrivals that found no free user (dropped) do not fail the run.
    #[arg(long)]
    pub allow_dropped: bool,
    /// Password hash cost of the built-in reference server.
    #[arg(long, default_value = "owasp", value_name = "COST")]
    pub hash_cost: HashCost,
    /// Directory holding the scenarios (for `--scenario NAME`).
    #[arg(long, default_value = "scenarios", value_name = "DIR")]
    pub scenarios_dir: PathBuf,
    /// Without thresholds of the scenario's or your own, the run is judged by a default gate
    /// (the headline request succeeded at least once, errors < 1%); this removes it.
    #[arg(long)]
    pub no_default_gate: bool,
    /// How often the plain progress line is printed when stderr is not a terminal (or in CI).
    #[arg(long, default_value = "5s", value_parser = parse_timeout, value_name = "DURATION")]
    pub progress_interval: Duration,
    /// No progress output while the run goes (the plan and the summary are still printed).
    #[arg(long)]
    pub quiet: bool,
    /// The outside target's Prometheus metrics page: its login counter is read before and after
    /// the run and compared with our count of successful logins (embedded runs always compare).
    #[arg(long, value_name = "URL")]
    pub server_metrics: Option<String>,
    /// The login counter on --server-metrics (`name` or `name{label="value"}`; series with a
    /// non-2xx `status`/`code` label are left out).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "sessionspec_server_logins_total",
        requires = "server_metrics"
    )]
    pub server_login_metric: String,
    #[command(flatten)]
    pub distributed: Box<super::distributed::DistributedArgs>,
    #[command(flatten)]
    pub find_max: FindMaxArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Which documented API to serve.
    #[arg(long)]
    pub dialect: Dialect,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_parser = super::common::parse_addr)]
    pub addr: std::net::SocketAddr,
    /// Fault switch that breaks one rule; repeatable.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,
    /// Conformant variant (behaviour the documents and RFCs allow); repeatable.
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<Variant>,
    /// Password hash cost.
    #[arg(long, default_value = "owasp", value_name = "COST")]
    pub hash_cost: HashCost,
    /// Also serve the server's counters (logins and logouts by status, open sessions) as
    /// Prometheus text at `http://ADDR/metrics`, on a listener of their own.
    #[arg(long, value_name = "ADDR", value_parser = super::common::parse_addr)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Lifetime of tokens and sessions where the dialect's expire (rails-jwt and drf-sessions
    /// JWTs, sessions-service API keys), e.g. `2s`; default: the documented lifetime.
    #[arg(long, value_name = "DURATION", value_parser = super::common::parse_timeout)]
    pub token_ttl: Option<std::time::Duration>,
    /// Serve HTTPS with this certificate (PEM; with --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a new self-signed certificate for localhost, 127.0.0.1 and ::1: its
    /// SHA-256 fingerprint is printed and its PEM written to --tls-cert-out (for --cacert).
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Where --tls-self-signed writes its certificate.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "reports/serve-cert.pem",
        requires = "tls_self_signed"
    )]
    pub tls_cert_out: PathBuf,
    /// Create N extra accounts for load runs (`load0@example.com` …, random passwords) and
    /// write their CSV (`email,password`, for `load --accounts`) to --accounts-out, or stdout.
    #[arg(long, value_name = "N")]
    pub accounts: Option<usize>,
    /// Where --accounts writes its CSV (default: stdout, before the `listening on` line).
    #[arg(long, value_name = "FILE", requires = "accounts")]
    pub accounts_out: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Directory holding the specs (the shipped ones are listed when it does not exist).
    #[arg(long, default_value = "specs", value_name = "DIR")]
    pub specs_dir: PathBuf,
    /// Directory holding the scenarios (the shipped ones are listed when it does not exist).
    #[arg(long, default_value = "scenarios", value_name = "DIR")]
    pub scenarios_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct LintArgs {
    /// Spec or scenario files. Default: everything under `specs/` and `scenarios/`.
    pub files: Vec<PathBuf>,
}

/// `ValueEnum` for the closed sets of the engines: each has `ALL` and `as_str`, the name on the
/// command line.
macro_rules! value_enum {
    ($($t:ty),+) => {$(
        impl ValueEnum for $t {
            fn value_variants<'a>() -> &'a [Self] {
                &<$t>::ALL
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.as_str()))
            }
        }
    )+};
}

value_enum!(Fault, Variant, HashCost, Dialect);

/// The capacity search's flags (see `docs/load.md`, "Capacity search").
#[derive(Debug, Args, Clone, Default)]
pub struct FindMaxArgs {
    /// Capacity search: step the open-model arrival rate up until this objective breaks
    /// (`login:p95<250ms`, `errors<1%`; repeatable) and report the highest rate that held.
    #[arg(long = "find-max", value_name = "EXPR", conflicts_with_all = ["rate", "iterations", "run_time", "allow_dropped"])]
    pub find_max: Vec<String>,
    /// Capacity search: arrival rate of the first step.
    #[arg(
        long,
        value_name = "RATE",
        default_value = "10/s",
        requires = "find_max"
    )]
    pub start_rate: String,
    /// Capacity search: each step's rate is the last one's times this factor.
    #[arg(long, value_name = "FACTOR", default_value_t = crate::load::capacity::DEFAULT_GROWTH, requires = "find_max", conflicts_with = "rate_step")]
    pub growth: f64,
    /// Capacity search: each step's rate is the last one's plus this (instead of --growth).
    #[arg(long, value_name = "RATE", requires = "find_max")]
    pub rate_step: Option<String>,
    /// Capacity search: measured time of each step.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::common::parse_timeout, requires = "find_max")]
    pub step_time: Duration,
    /// Capacity search: time of each step before it is measured (warm-up, not measured).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = super::common::parse_duration, requires = "find_max")]
    pub step_warmup: Duration,
    /// Capacity search: climbing steps at most.
    #[arg(long, value_name = "N", default_value_t = crate::load::capacity::DEFAULT_MAX_STEPS, requires = "find_max")]
    pub max_steps: usize,
    /// Capacity search: bisection rounds between the last good and the first bad rate.
    #[arg(long, value_name = "N", default_value_t = crate::load::capacity::DEFAULT_REFINE, requires = "find_max")]
    pub refine: usize,
    /// Capacity search: runs of a broken step again before it counts as broken (other work on
    /// the machine can only slow the server: it breaks steps, never holds them).
    #[arg(long, value_name = "N", default_value_t = crate::load::capacity::DEFAULT_CONFIRM, requires = "find_max")]
    pub confirm: usize,
}
