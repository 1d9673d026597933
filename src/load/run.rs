//! The load engine: runs a [`LoadPlan`] and returns its [`LoadOutcome`] (plain data).
//!
//! Starts the reference server when the target is embedded, compiles the scenario into request
//! plans, runs goose ([`super::runner`]), turns its metrics into [`LoadResults`] and judges the
//! thresholds ([`super::threshold::judge`]). A [`Stop`] ends the run early through goose's
//! killswitch; what was measured until then is kept and the verdict is `interrupted`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::arrival::Arrivals;
use super::compile::{compile_with, CompileError, UserValues};
use super::plan::LoadPlan;
use super::results::{self, LoadResults, Model, PlanSummary, RunInfo};
use super::runner::{self, Counters, RunSettings};
use super::server_count::{ServerCount, ServerCounter};
use super::threshold::judge;
use crate::check::client::{probe, HttpClient};
use crate::redact::mask_userinfo;
use crate::server::{self, Dialect, ServerConfig, ServerError, UnknownDialect};
use crate::spec::{MissingVariable, Vars};
use crate::stop::Stop;
use crate::target::Target;
use crate::tls::ClientTls;

/// What a finished run hands back.
#[derive(Debug)]
pub struct LoadOutcome {
    /// Everything measured, with thresholds and verdict.
    pub results: LoadResults,
}

/// Why a load run could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("spec `{spec}`: {source}")]
    Variables {
        spec: String,
        source: MissingVariable,
    },
    #[error("spec `{spec}` has no built-in server: {source}")]
    NoDialect {
        spec: String,
        source: UnknownDialect,
    },
    #[error("cannot start the reference server: {0}")]
    Server(#[from] ServerError),
    #[error("{path}: {source}")]
    Compile { path: String, source: CompileError },
    #[error("the load run failed: {0}")]
    Goose(#[from] goose::GooseError),
}

/// Hears about a run as it goes (the CLI draws its progress line from the counters).
pub trait Observer: Send + Sync {
    /// The run is about to start against `host`; `counters` are live until it ends.
    fn started(&self, _plan: &LoadPlan, _host: &str, _counters: &Arc<Counters>) {}
    /// The attack is over (results are being computed).
    fn finished(&self) {}
}

/// Tells nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Runs the plan to its end (time, iterations, or `stop`).
pub async fn run(
    plan: &LoadPlan,
    stop: &Stop,
    observer: &dyn Observer,
) -> Result<LoadOutcome, LoadError> {
    let spec = &plan.scenario.spec.spec;
    let vars =
        Vars::from_spec(spec, &plan.vars, |n| plan.env.get(n).cloned()).map_err(|source| {
            LoadError::Variables {
                spec: spec.name.clone(),
                source,
            }
        })?;
    let (server, host) = match &plan.target {
        Target::Url(u) => (None, u.clone()),
        Target::Embedded {
            faults,
            hash_cost,
            variants,
        } => {
            let dialect: Dialect =
                spec.dialect()
                    .parse()
                    .map_err(|source| LoadError::NoDialect {
                        spec: spec.name.clone(),
                        source,
                    })?;
            let mut config = ServerConfig::new(dialect);
            config.faults.clone_from(faults);
            config.variants.clone_from(variants);
            config.hash_cost = *hash_cost;
            let server = server::start(config).await?;
            let url = server.base_url();
            (Some(server), url)
        }
    };
    let counter = match (&server, &plan.server_metrics) {
        (Some(s), _) => Some(ServerCounter::Embedded(s.metrics())),
        (None, Some((url, metric))) => Some(ServerCounter::Scrape {
            url: url.clone(),
            metric: metric.clone(),
        }),
        (None, None) => None,
    };
    let outcome = attack(plan, &vars, host, stop, observer, counter.as_ref()).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    outcome
}

async fn attack(
    plan: &LoadPlan,
    vars: &Vars,
    host: String,
    stop: &Stop,
    observer: &dyn Observer,
    counter: Option<&ServerCounter>,
) -> Result<LoadOutcome, LoadError> {
    let loaded = &plan.scenario;
    let prefix = reqwest::Url::parse(&host)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let dist = &plan.distribution;
    let user_values = UserValues {
        columns: dist
            .accounts
            .as_ref()
            .map(|a| a.columns.clone())
            .unwrap_or_default(),
        shard: dist.shard.map_or(0, |s| s.index),
    };
    let compiled =
        compile_with(loaded, vars, &prefix, &user_values).map_err(|source| LoadError::Compile {
            path: loaded.path.display().to_string(),
            source,
        })?;
    if let Target::Url(url) = &plan.target {
        if let Err(why) = probe_target(url, plan, stop).await {
            let info = RunInfo {
                error: Some(why),
                ..run_info(plan, &compiled.requests, &host)
            };
            let mut results = results::build(&info, Vec::new(), 0.0, 0, Vec::new());
            results.operations = compiled
                .requests
                .iter()
                .map(|(name, method)| {
                    results::stats(name, method, &results::Sample::empty(false), 0, 0.0)
                })
                .collect();
            judge(&mut results, &plan.thresholds, plan.default_gate);
            return Ok(LoadOutcome { results });
        }
    }
    // A common start: the users start early enough to have started by then (ramp-up and a
    // second to spare); the deadline counts from the start instant.
    let start_at = dist.start_at.map(|at| {
        let until = at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO);
        std::time::Instant::now() + until
    });
    if let Some(at) = start_at {
        let lead = Duration::from_secs(plan.ramp_up_secs() + START_LEAD_S);
        if let Some(begin) = at.checked_sub(lead) {
            tokio::select! {
                () = tokio::time::sleep_until(begin.into()) => {}
                _ = stop.stopped() => {}
            }
        }
    }
    let deadline = match start_at {
        Some(at) => plan.bounds.run_time.map(|secs| {
            at.saturating_duration_since(std::time::Instant::now())
                + Duration::from_secs(secs)
                + plan.timeout
        }),
        None => plan.deadline(),
    };
    let settings = RunSettings {
        host: host.clone(),
        users: plan.users,
        hatch_rate: plan.hatch_rate,
        run_time: plan.bounds.run_time,
        iterations: plan.bounds.iterations,
        timeout: plan.timeout,
        tls: (plan.tls != ClientTls::default()).then(|| Arc::new(plan.tls.clone())),
        deadline,
        start_at,
        first_user: dist.first_user,
        accounts: dist.accounts.clone().map(Arc::new),
        open: plan
            .open
            .as_ref()
            .map(|o| (Arc::new(Arrivals::new(o.schedule())), o.warmup)),
    };

    super::logger::install();
    let headline = loaded
        .headline()
        .and_then(|h| compiled.requests.iter().position(|(n, _)| *n == h));
    let counters = Arc::new(Counters::new(
        compiled.requests.len(),
        plan.users,
        headline,
        plan.open.is_some(),
    ));
    let before = match counter {
        Some(c) => Some(c.read(plan.timeout, &plan.tls).await),
        None => None,
    };
    observer.started(plan, &host, &counters);
    let killswitch = tokio::spawn(stop_goose_on(stop.clone()));
    let execute = runner::execute(&compiled, &settings, &counters);
    let metrics = match deadline.map(|d| d + Duration::from_secs(2)) {
        // A backstop: every request already ends by the deadline; goose itself must too.
        Some(bound) => tokio::time::timeout(bound + Duration::from_secs(1), execute)
            .await
            .unwrap_or(Err(goose::GooseError::InvalidOption {
                option: "run_time".into(),
                value: format!("{}s", bound.as_secs()),
                detail: "goose did not end the run within its bound".into(),
            })),
        None => execute.await,
    };
    killswitch.abort();
    let ended = std::time::Instant::now();
    observer.finished();
    let metrics = metrics?;

    let info = RunInfo {
        skipped: compiled
            .requests
            .iter()
            .zip(&counters.skipped)
            .map(|((name, _), n)| (name.clone(), n.load(Ordering::Relaxed)))
            .collect(),
        interrupted: stop.reason().map(|r| r.signal_name().to_owned()),
        cancelled: counters.cancelled.load(Ordering::Relaxed),
        ..run_info(plan, &compiled.requests, &host)
    };
    let _ = metrics;
    let mut end = ended;
    if let (Some(open), Some(start)) = (&plan.open, counters.recorder.window_start()) {
        // The open model's window is the measured part of the schedule.
        let measured = open.schedule().total().saturating_sub(open.warmup);
        end = end.min(start + measured);
    }
    if let (Some(at), Some(secs), None) = (start_at, plan.bounds.run_time, &plan.open) {
        // A common window ends at the same instant for every shard.
        end = end.min(at + Duration::from_secs(secs));
    }
    let recorded = counters.recorder.finish(end);
    let users = usize::try_from(counters.users.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
    let mut results = results::collect(recorded, &info, users);
    if let (Some(counter), Some(before)) = (counter, before) {
        let after = counter.read(plan.timeout, &plan.tls).await;
        // The whole run's successful headline responses, as the server counts its whole run
        // (the per-second series misses the last, partial second).
        let ours = headline
            .and_then(|i| counters.successes.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed));
        let counted = before.and_then(|b| after.map(|a| (b, a)));
        results.server_count = Some(ServerCount::compare(
            counter.source(),
            counter.metric(),
            counted,
            ours,
            results.cancelled,
        ));
    }
    if let Some(shard) = dist.shard {
        results.shard = Some(super::shard::shard_info(
            shard,
            dist.first_user,
            plan.users,
            dist.start_at,
            results.started_at.as_deref(),
            results.duration_s,
        ));
    }
    judge(&mut results, &plan.thresholds, plan.default_gate);
    Ok(LoadOutcome { results })
}

/// Seconds the users of a run with a common start begin before their ramp-up must end.
const START_LEAD_S: u64 = 1;

/// What every run's results say about it, measured or not.
fn run_info(plan: &LoadPlan, requests: &[(String, String)], host: &str) -> RunInfo {
    let loaded = &plan.scenario;
    RunInfo {
        scenario: loaded.scenario.name.clone(),
        spec: loaded.spec.spec.name.clone(),
        target: mask_userinfo(host),
        requests: requests.to_vec(),
        headline: loaded.headline(),
        plan: plan_summary(plan),
        ..RunInfo::default()
    }
}

/// The plan as the results record it.
pub fn plan_summary(plan: &LoadPlan) -> PlanSummary {
    PlanSummary {
        users: plan.users,
        hatch_rate: plan.hatch_rate,
        ramp_up_s: plan.ramp_up_secs(),
        run_time_s: plan.bounds.run_time,
        iterations: plan.bounds.iterations,
        timeout_ms: millis(plan.timeout),
        model: if plan.open.is_some() {
            Model::Open
        } else {
            Model::Closed
        },
        rate: plan.open.as_ref().map(|o| o.stages.clone()),
        warmup_s: plan.open.as_ref().map_or(0.0, |o| o.warmup.as_secs_f64()),
        allow_dropped: plan.open.as_ref().is_some_and(|o| o.allow_dropped),
    }
}

/// One request to the target before the load (connect, TLS, a complete response to `GET` of the
/// base URL within `timeout`), so a dead target is one line and no load.
async fn probe_target(url: &str, plan: &LoadPlan, stop: &Stop) -> Result<(), String> {
    let client =
        HttpClient::with_tls(plan.timeout, 64 * 1024, &plan.tls).map_err(|e| e.to_string())?;
    tokio::select! {
        r = probe(&client, url) => r.map_err(|e| mask_userinfo(&e.to_string())),
        _ = stop.stopped() => Ok(()),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Triggers goose's killswitch once `stop` fires, and again every 100 ms while the attack runs
/// (goose clears the killswitch when an attack starts, so a stop that comes first is not lost).
async fn stop_goose_on(stop: Stop) {
    let reason = stop.stopped().await;
    loop {
        goose::trigger_killswitch(&format!("interrupted by {}", reason.signal_name()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
