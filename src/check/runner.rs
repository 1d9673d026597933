//! The engine: runs a [`CheckPlan`] and returns its [`RunOutcome`] (pure data, redacted).
//!
//! Specs run one after the other (each against its own embedded server when there is no
//! `--target`); the cases of one spec run concurrently, at most `concurrency` at once, and are
//! reported in spec order whatever order they finish in. A [`Stop`] ends the run early: cases not
//! started are `skipped`, running exchanges are abandoned, and the outcome says `interrupted`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use futures::stream::{self, StreamExt};

use super::case::{run_case, skipped_case, RawCase, SpecRun};
use super::client::probe;
use super::client::HttpClient;
use super::evaluate::SchemaCache;
use super::finalize::{case_outcome, millis};
use super::outcome::Reproduction;
use super::outcome::{
    CaseStatus, ProfileReport, RunOutcome, SpecOutcome, StepErrorKind, REPORT_FORMAT_VERSION,
};
use super::plan::{CheckPlan, Target};
use super::repro;
use super::verdict::counts;
use crate::redact::{mask_userinfo, Redactor};
use crate::server::{self, Dialect, RunningServer, ServerConfig};
use crate::spec::{LoadedSpec, Vars};
use crate::stop::Stop;

/// Hears about a run's progress (the CLI prints one line per spec on stderr).
pub trait Progress: Send + Sync {
    /// A spec starts running against `target`.
    fn spec_started(&self, _spec: &LoadedSpec, _target: &str) {}
    /// A spec is done (or could not run).
    fn spec_finished(&self, _outcome: &SpecOutcome) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}

/// Runs the plan to the end, silently.
pub async fn run_specs(plan: &CheckPlan) -> RunOutcome {
    run(plan, &Stop::never(), &Quiet).await
}

/// Runs the plan until done or stopped, telling `progress` as specs start and finish.
///
/// A `Target::Url` is probed once first (connect and first response, bounded by the timeout):
/// when it does not answer, no case runs and the outcome carries the run-level `error`
/// (verdict `error`), every case listed as skipped.
pub async fn run(plan: &CheckPlan, stop: &Stop, progress: &dyn Progress) -> RunOutcome {
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let started = Instant::now();
    let client = HttpClient::with_tls(plan.options.timeout, plan.options.max_body, &plan.tls);
    let mut error = None;
    if let (Target::Url(url), Ok(client), true) = (&plan.target, &client, plan.options.probe) {
        let probed = tokio::select! {
            r = probe(client, url) => r.map_err(|e| mask_userinfo(&e.to_string())),
            _ = stop.stopped() => Ok(()),
        };
        error = probed.err();
    }
    let mut specs = Vec::with_capacity(plan.specs.len());
    let halted: Mutex<Option<String>> = Mutex::new(None);
    let silence = Silence::default();
    for loaded in &plan.specs {
        let outcome = match (&client, &error) {
            (_, Some(e)) => failed_spec(plan, loaded, e.clone()),
            (Ok(client), None) => {
                let shared = Shared {
                    halted: &halted,
                    silence: &silence,
                };
                run_spec(plan, loaded, client, stop, progress, shared).await
            }
            (Err(e), None) => failed_spec(plan, loaded, e.to_string()),
        };
        if error.is_none() {
            progress.spec_finished(&outcome);
        }
        specs.push(outcome);
    }
    RunOutcome {
        format_version: REPORT_FORMAT_VERSION,
        tool: format!("sessionspec {}", env!("CARGO_PKG_VERSION")),
        started_at,
        duration_ms: millis(started.elapsed()),
        target: match &plan.target {
            Target::Url(u) => Some(mask_userinfo(u)),
            Target::Embedded { .. } => None,
        },
        faults: plan.fault_names(),
        strict: plan.options.strict,
        interrupted: stop.is_stopped(),
        error,
        halted: halted.into_inner().unwrap_or_else(PoisonError::into_inner),
        profile: plan.profile.as_ref().map(|p| ProfileReport {
            path: p.path.clone(),
            spec: p.spec.clone(),
            overrides: p.overrides.clone(),
        }),
        specs,
    }
}

fn empty_outcome(plan: &CheckPlan, loaded: &LoadedSpec) -> SpecOutcome {
    let spec = &loaded.spec;
    SpecOutcome {
        name: spec.name.clone(),
        title: spec.title.clone(),
        source: spec.source.clone(),
        file: loaded.path.display().to_string(),
        target: match &plan.target {
            Target::Url(u) => mask_userinfo(u),
            Target::Embedded { .. } => format!("embedded:{}", spec.dialect()),
        },
        embedded: matches!(plan.target, Target::Embedded { .. }),
        error: None,
        duration_ms: 0,
        cases: Vec::new(),
    }
}

/// A spec whose cases could not run: every case is listed as skipped.
fn failed_spec(plan: &CheckPlan, loaded: &LoadedSpec, error: String) -> SpecOutcome {
    let mut out = empty_outcome(plan, loaded);
    out.error = Some(error);
    out.cases = skipped(loaded, false);
    out
}

fn skipped(loaded: &LoadedSpec, interrupted: bool) -> Vec<super::outcome::CaseOutcome> {
    let none = Redactor::new();
    (0..loaded.spec.cases.len())
        .map(|i| case_outcome(loaded, &skipped_case(i, interrupted), &none))
        .collect()
}

/// What the specs of one run share: why the run halted (`--fail-fast`), and how many cases in a
/// row the target left without any response (`--max-transport-errors`).
#[derive(Clone, Copy)]
struct Shared<'a> {
    halted: &'a Mutex<Option<String>>,
    silence: &'a Silence,
}

#[derive(Default)]
struct Silence {
    in_a_row: AtomicUsize,
    stopped: AtomicBool,
}

/// Whether a case ended on a transport error (refused, reset, closed, timeout) without any
/// response at all.
fn is_transport_silence(raw: &RawCase) -> bool {
    raw.status == CaseStatus::Errored
        && raw.steps.iter().all(|s| s.response.is_none())
        && raw.steps.iter().any(|s| {
            s.error
                .as_ref()
                .is_some_and(|e| matches!(e.kind, StepErrorKind::Exchange | StepErrorKind::Timeout))
        })
}

/// When no request of the spec got any response (every case errored on its exchange), the target
/// is not speaking HTTP to us: one spec-level error rather than a failure per case.
fn unanswered(raws: &[RawCase]) -> Option<String> {
    let all_errored = !raws.is_empty()
        && raws
            .iter()
            .all(|r| r.status == CaseStatus::Errored && !r.interrupted);
    let any_response = raws
        .iter()
        .flat_map(|r| &r.steps)
        .any(|s| s.response.is_some());
    if !all_errored || any_response {
        return None;
    }
    raws.iter()
        .flat_map(|r| &r.steps)
        .find(|s| s.request.is_some())
        .and_then(|s| s.error.as_ref().map(|e| e.message.clone()))
}

/// Port the `sessionspec serve` command of a reproduction listens on.
const REPRO_PORT: u16 = 8080;

/// What the reproduction scripts of one spec share: the target, or how to start the same
/// built-in server, and curl's TLS arguments.
fn repro_context<'a>(
    plan: &CheckPlan,
    loaded: &'a LoadedSpec,
    vars: &'a Vars,
    redactor: &'a Redactor,
    base_url: &str,
) -> repro::ReproContext<'a> {
    let (base_url, serve, tls_args) = match &plan.target {
        Target::Embedded {
            faults,
            hash_cost,
            variants,
        } => {
            let mut serve = format!(
                "sessionspec serve --dialect {} --addr 127.0.0.1:{REPRO_PORT} --hash-cost {}",
                loaded.spec.dialect(),
                hash_cost.as_str()
            );
            for f in faults {
                serve.push_str(&format!(" --fault {f}"));
            }
            for v in variants {
                serve.push_str(&format!(" --variant {v}"));
            }
            (
                format!("http://127.0.0.1:{REPRO_PORT}"),
                Some(serve),
                Vec::new(),
            )
        }
        Target::Url(_) => (mask_userinfo(base_url), None, plan.tls.curl_args()),
    };
    repro::ReproContext {
        loaded,
        vars,
        base_url,
        serve,
        tls_args,
        redactor,
    }
}
/// The spec variable an embedded server with asymmetric JWTs fills with its public key (PEM).
pub const JWT_PUBLIC_KEY: &str = "jwt_public_key";

/// The tag of cases that can harm a real target (`lockout`).
pub const INTRUSIVE: &str = "intrusive";

/// The token lifetime of the embedded servers of `check` (`serve --token-ttl`), so that the
/// `expiry` cases can wait for it (they wait at most 10 s).
pub const EMBEDDED_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(2);

async fn start_embedded(
    plan: &CheckPlan,
    loaded: &LoadedSpec,
) -> Result<Option<RunningServer>, String> {
    let Target::Embedded {
        faults,
        hash_cost,
        variants,
    } = &plan.target
    else {
        return Ok(None);
    };
    let dialect: Dialect = loaded
        .spec
        .dialect()
        .parse()
        .map_err(|e| format!("no built-in server for this spec: {e}"))?;
    let mut config = ServerConfig::new(dialect);
    config.faults = faults.clone();
    config.variants = variants.clone();
    config.hash_cost = *hash_cost;
    config.token_ttl = Some(EMBEDDED_TOKEN_TTL);
    server::start(config)
        .await
        .map(Some)
        .map_err(|e| format!("cannot start the built-in `{dialect}` server: {e}"))
}

async fn run_spec(
    plan: &CheckPlan,
    loaded: &LoadedSpec,
    client: &HttpClient,
    stop: &Stop,
    progress: &dyn Progress,
    shared: Shared<'_>,
) -> SpecOutcome {
    let Shared { halted, silence } = shared;
    let started = Instant::now();
    let mut out = empty_outcome(plan, loaded);
    if stop.is_stopped() {
        out.cases = skipped(loaded, true);
        return out;
    }
    let mut vars = match Vars::from_spec(&loaded.spec, &plan.vars, |n| plan.env.get(n).cloned()) {
        Ok(v) => v,
        Err(e) => return failed_spec(plan, loaded, e.to_string()),
    };
    let server = match start_embedded(plan, loaded).await {
        Ok(s) => s,
        Err(e) => return failed_spec(plan, loaded, e),
    };
    let base_url = match &server {
        Some(s) => s.base_url(),
        None => plan
            .target
            .url()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned(),
    };
    if server.is_some() {
        out.target = base_url.clone();
    }
    // An embedded server with asymmetric JWTs publishes its public key as the spec's
    // `jwt_public_key`, unless the command line gave one.
    if let Some(pem) = server.as_ref().and_then(|s| s.jwt_public_key()) {
        let declared = loaded.spec.variables.contains_key(JWT_PUBLIC_KEY);
        if declared && vars.get(JWT_PUBLIC_KEY).is_none_or(str::is_empty) {
            vars.set(JWT_PUBLIC_KEY, pem.to_owned(), false);
        }
    }
    progress.spec_started(loaded, &out.target);

    let schemas = SchemaCache::build(loaded);
    let run = SpecRun {
        loaded,
        base_url: &base_url,
        client,
        vars: &vars,
        schemas: &schemas,
        stop,
    };
    let run = &run;
    let skips = plan
        .profile
        .as_ref()
        .filter(|p| p.spec == loaded.spec.name)
        .map(|p| &p.skips);
    let skip_of = |i: usize| skips.and_then(|s| s.get(&loaded.spec.cases[i].id));
    // An `intrusive` case (it can lock real accounts) runs against an outside target only when
    // `--tag intrusive` asks for it.
    let outside = matches!(plan.target, Target::Url(_));
    let intrusive_skip = |i: usize| {
        let case = &loaded.spec.cases[i];
        (outside
            && case.tags.iter().any(|t| t == INTRUSIVE)
            && !plan.options.tags.iter().any(|t| t == INTRUSIVE))
        .then(|| {
            format!("{INTRUSIVE}: it can lock real accounts, so it runs against a --target only with --tag {INTRUSIVE}")
        })
    };
    let is_halted = || halted.lock().map_or(true, |h| h.is_some());
    let (silent_in_a_row, stopped_answering) = (&silence.in_a_row, &silence.stopped);
    let answered_before = !stopped_answering.load(Ordering::SeqCst);
    let options = &plan.options;
    let selected =
        (0..loaded.spec.cases.len()).filter(|i| options.selects_case(&loaded.spec.cases[*i]));
    let raws: Vec<RawCase> = stream::iter(selected)
        .map(|i| async move {
            let policy = skip_of(i).is_some() || intrusive_skip(i).is_some();
            if run.stop.is_stopped() || policy {
                return skipped_case(i, !policy);
            }
            if is_halted() || stopped_answering.load(Ordering::SeqCst) {
                return skipped_case(i, false);
            }
            let raw = run_case(run, i).await;
            let case = &loaded.spec.cases[i];
            if options.fail_fast
                && counts(case.level, options.strict)
                && matches!(raw.status, CaseStatus::Failed | CaseStatus::Errored)
            {
                if let Ok(mut h) = halted.lock() {
                    h.get_or_insert_with(|| {
                        format!(
                            "--fail-fast: stopped after case `{}` of `{}` {}",
                            case.id,
                            loaded.spec.name,
                            raw.status.as_str()
                        )
                    });
                }
            }
            if is_transport_silence(&raw) {
                let n = silent_in_a_row.fetch_add(1, Ordering::SeqCst) + 1;
                if options.max_transport_errors > 0 && n >= options.max_transport_errors {
                    stopped_answering.store(true, Ordering::SeqCst);
                }
            } else if raw.steps.iter().any(|s| s.response.is_some()) {
                silent_in_a_row.store(0, Ordering::SeqCst);
            }
            raw
        })
        .buffered(plan.options.concurrency.max(1))
        .collect()
        .await;
    if let Some(server) = server {
        server.shutdown().await;
    }

    // One redactor for the whole spec: a secret seen by one case is masked in every case.
    let mut redactor = vars.redactor().clone();
    for raw in &raws {
        redactor.extend(&raw.redactor);
    }
    let repro = repro_context(plan, loaded, &vars, &redactor, &base_url);
    out.cases = raws
        .iter()
        .map(|raw| {
            let mut case = case_outcome(loaded, raw, &redactor);
            if let Some(why) = skip_of(raw.index)
                .cloned()
                .or_else(|| intrusive_skip(raw.index))
            {
                case.skip_reason = Some(why);
            }
            if matches!(raw.status, CaseStatus::Failed | CaseStatus::Errored) && !raw.interrupted {
                case.reproduction = Some(Reproduction {
                    script: repro::script(&repro, raw),
                    path: None,
                });
            }
            case
        })
        .collect();
    out.error = unanswered(&raws)
        .map(|why| redactor.redact(&mask_userinfo(&format!("no answer from {base_url}: {why}"))));
    if out.error.is_none() && stopped_answering.load(Ordering::SeqCst) {
        let not_run = out
            .cases
            .iter()
            .filter(|c| c.status == CaseStatus::Skipped && c.skip_reason.is_none())
            .count();
        out.error = (not_run > 0).then(|| mask_userinfo(&if answered_before {
            format!(
                "target {base_url} stopped answering: {} cases in a row got no response; {not_run} cases not run",
                plan.options.max_transport_errors
            )
        } else {
            format!("not run: target {base_url} stopped answering earlier in this run")
        }));
    }
    out.duration_ms = millis(started.elapsed());
    out
}
