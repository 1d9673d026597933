//! Runs one case: its steps in order, from the spec's variables plus the captures of earlier steps.
//! A step that fails a check or cannot run ends the case (later steps depend on it).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::attack::{run_attacks, AttackRun, Shared};
use super::checks;
use super::client::ExchangeError;
use super::client::HttpClient;
use super::evaluate::{evaluate, SchemaCache, StepEval};
use super::outcome::{CaseStatus, CheckResult, StepError, StepErrorKind};
use crate::http::{RequestData, ResponseData};
use crate::redact::Redactor;
use crate::spec::needs::required_captures;
use crate::spec::template::TemplateError;
use crate::spec::{
    build_request, extract_with, pointer_token, Capture, CaptureSource, LoadedSpec, Vars, MAX_WAIT,
};
use crate::stop::Stop;

/// What every case of one spec shares.
pub struct SpecRun<'a> {
    pub loaded: &'a LoadedSpec,
    pub base_url: &'a str,
    pub client: &'a HttpClient,
    /// The spec's resolved variables (each case starts from a copy).
    pub vars: &'a Vars,
    pub schemas: &'a SchemaCache,
    pub stop: &'a Stop,
}

/// A step as it ran, before redaction.
#[derive(Debug, Clone)]
pub struct RawStep {
    pub index: usize,
    pub call: String,
    pub name: Option<String>,
    /// The request as built from the spec (the client adds `Accept: */*` when it has none).
    pub request: Option<RequestData>,
    pub response: Option<ResponseData>,
    pub checks: Vec<CheckResult>,
    pub error: Option<StepError>,
    /// Why the step was not sent: its `when` was false (the reason is the spec's).
    pub skipped: Option<String>,
    pub duration: Duration,
}

/// A case as it ran, before redaction.
#[derive(Debug, Clone)]
pub struct RawCase {
    pub index: usize,
    pub status: CaseStatus,
    pub steps: Vec<RawStep>,
    pub duration: Duration,
    /// Every secret the case saw (secret variables and captures).
    pub redactor: Redactor,
    /// The run was stopped while this case ran (or before it started).
    pub interrupted: bool,
    /// Why the case could not be judged against this target (a security attack's reason, e.g.
    /// a token that lives longer than the case may wait); the case is `skipped`.
    pub skip_reason: Option<String>,
}

/// Runs case `index` of the spec.
pub async fn run_case(run: &SpecRun<'_>, index: usize) -> RawCase {
    let started = Instant::now();
    let case = &run.loaded.spec.cases[index];
    let mut vars = run.vars.clone();
    let mut out = RawCase {
        index,
        status: CaseStatus::Passed,
        steps: Vec::new(),
        duration: Duration::ZERO,
        redactor: Redactor::new(),
        interrupted: false,
        skip_reason: None,
    };
    let mut capture_failures: HashMap<String, String> = HashMap::new();
    let mut named: HashMap<String, ResponseData> = HashMap::new();
    let mut named_requests: HashMap<String, RequestData> = HashMap::new();
    let mut extra_secrets: Vec<String> = Vec::new();
    let required = required_captures(&run.loaded.spec, case);

    for (j, required) in required.iter().enumerate() {
        // The case's `with` and `headers` under the step's own.
        let step = &*case.effective_step(j);
        if run.stop.is_stopped() {
            out.interrupted = true;
            break;
        }
        let step_started = Instant::now();
        let mut raw = RawStep {
            index: j,
            call: step_call(step),
            name: step.name.clone(),
            request: None,
            response: None,
            checks: Vec::new(),
            error: None,
            skipped: None,
            duration: Duration::ZERO,
        };
        if let Some(when) = &step.when {
            let subject = when.test().map(|(_, name)| name).unwrap_or_default();
            if !when.holds(vars.get(subject)) {
                raw.skipped = Some(when.reason.clone());
                out.steps.push(raw);
                if when.rest {
                    // The rest of the case is skipped too, each step visibly.
                    for (k, later) in case.steps.iter().enumerate().skip(j + 1) {
                        out.steps.push(RawStep {
                            index: k,
                            call: step_call(later),
                            name: later.name.clone(),
                            request: None,
                            response: None,
                            checks: Vec::new(),
                            error: None,
                            skipped: Some(when.reason.clone()),
                            duration: Duration::ZERO,
                        });
                    }
                    break;
                }
                continue;
            }
        }
        if let Some(wait) = step.wait_duration() {
            // Validated at load time: a duration of at most MAX_WAIT.
            let wait = wait.unwrap_or_default().min(MAX_WAIT);
            let stopped = tokio::select! {
                () = tokio::time::sleep(wait) => false,
                _ = run.stop.stopped() => true,
            };
            raw.duration = step_started.elapsed();
            out.steps.push(raw);
            if stopped {
                out.interrupted = true;
                break;
            }
            continue;
        }
        let Some(op) = run.loaded.spec.operations.get(&step.call) else {
            raw.error = Some(StepError::new(
                StepErrorKind::Operation,
                format!("the spec has no operation `{}`", step.call),
            ));
            out.status = CaseStatus::Errored;
            out.steps.push(raw);
            break;
        };
        let request = match build_request(&run.loaded.spec, op, Some(step), run.base_url, &vars) {
            Ok(r) => r,
            Err(err) => {
                raw.error = Some(template_error(&err, &capture_failures));
                out.status = CaseStatus::Errored;
                out.steps.push(raw);
                break;
            }
        };
        raw.request = Some(request.clone());
        let sent_at = SystemTime::now();
        let sent = tokio::select! {
            r = run.client.send(&request) => Some(r),
            _ = run.stop.stopped() => None,
        };
        raw.duration = step_started.elapsed();
        let response = match sent {
            None => {
                raw.error = Some(StepError::new(
                    StepErrorKind::Interrupted,
                    "interrupted before the response arrived",
                ));
                out.interrupted = true;
                out.steps.push(raw);
                break;
            }
            Some(Err(e)) => {
                let kind = match e {
                    ExchangeError::Timeout(_) => StepErrorKind::Timeout,
                    _ => StepErrorKind::Exchange,
                };
                raw.error = Some(StepError::new(kind, e.to_string()));
                out.status = CaseStatus::Errored;
                out.steps.push(raw);
                break;
            }
            Some(Ok(r)) => r,
        };

        let op_captures = op.capture.iter().map(|(n, c)| {
            let at = format!(
                "/operations/{}/capture/{}",
                pointer_token(&step.call),
                pointer_token(n)
            );
            (n, c, at)
        });
        let step_captures = step.capture.iter().map(|(n, c)| {
            (
                n,
                c,
                format!("/cases/{index}/steps/{j}/capture/{}", pointer_token(n)),
            )
        });
        let mut missing: Vec<CheckResult> = Vec::new();
        for (name, capture, at) in op_captures.chain(step_captures) {
            // A JSONPath query sees the step's `with` values and the captures so far.
            let lookup = vars
                .with_overrides(&step.with)
                .unwrap_or_else(|_| vars.clone());
            let found = extract_with(capture, &response, |n| lookup.get(n));
            match found {
                Ok(value) => {
                    vars.set(name, value, capture.secret);
                    capture_failures.remove(name);
                    missing.retain(|c| c.check != capture_check(name));
                }
                Err(why) => {
                    // A later step needs it and no earlier step provided it: this step fails.
                    if required.contains(name) && vars.get(name).is_none() {
                        let mut c = checks::fail(
                            capture_check(name),
                            format!(
                                "{} (captured as `{name}`, which a later step uses)",
                                capture_target(capture)
                            ),
                            why.clone(),
                        );
                        c.rule = case.rule.clone();
                        c.location = Some(run.loaded.locate(&at));
                        missing.retain(|m| m.check != c.check);
                        missing.push(c);
                    }
                    capture_failures.insert(
                        name.clone(),
                        format!("step {} (`{}`): {why}", j + 1, step.call),
                    );
                }
            }
        }
        let eval_vars = vars
            .with_overrides(&step.with)
            .unwrap_or_else(|_| vars.clone());
        let checks = evaluate(&StepEval {
            loaded: run.loaded,
            case_index: index,
            step_index: j,
            case,
            response: &response,
            vars: &eval_vars,
            capture_failures: &capture_failures,
            named: &named,
            schemas: run.schemas,
            now: unix_now(),
        });
        let mut checks = checks;
        // A missing capture is the failure of a step whose checks held; after another failure
        // it is only a consequence of it.
        if checks.iter().all(|c| c.passed) {
            checks.extend(missing);
        }
        let mut failed = checks.iter().any(|c| !c.passed);
        // The session-security attacks of the step run once its own checks held.
        if !failed && step.expect.has_attack() {
            let attacked = run_attacks(&AttackRun {
                run: Shared {
                    loaded: run.loaded,
                    base_url: run.base_url,
                    client: run.client,
                    stop: run.stop,
                },
                case,
                case_index: index,
                step_index: j,
                op,
                request: &request,
                response: &response,
                vars: &vars,
                named_requests: &named_requests,
                sent_at,
            })
            .await;
            extra_secrets.extend(attacked.secrets);
            if run.stop.is_stopped() {
                out.interrupted = true;
            }
            checks.extend(attacked.checks);
            failed = checks.iter().any(|c| !c.passed);
            if let Some(why) = attacked.skipped {
                out.skip_reason = Some(why);
            }
        }
        if let Some(name) = &step.name {
            named.insert(name.clone(), response.clone());
            named_requests.insert(name.clone(), request.clone());
        }
        raw.checks = checks;
        raw.response = Some(response);
        out.steps.push(raw);
        if failed {
            out.status = CaseStatus::Failed;
            break;
        }
        if out.skip_reason.is_some() || out.interrupted {
            break;
        }
    }
    if out.interrupted || (out.skip_reason.is_some() && out.status == CaseStatus::Passed) {
        out.status = CaseStatus::Skipped;
    }
    out.redactor = vars.redactor().clone();
    for secret in &extra_secrets {
        out.redactor.add(secret);
    }
    out.duration = started.elapsed();
    out
}

/// A case that did not run: the run was stopped first (`interrupted`) or its spec could not run.
pub fn skipped_case(index: usize, interrupted: bool) -> RawCase {
    RawCase {
        index,
        status: CaseStatus::Skipped,
        steps: Vec::new(),
        duration: Duration::ZERO,
        redactor: Redactor::new(),
        interrupted,
        skip_reason: None,
    }
}

/// What a step does, for reports: the operation it calls, or `wait`.
fn step_call(step: &crate::spec::Step) -> String {
    if step.wait.is_some() {
        "wait".to_owned()
    } else {
        step.call.clone()
    }
}

/// The name of the check that a required capture found its value.
fn capture_check(name: &str) -> String {
    format!("capture:{name}")
}

/// What a capture looks for, in words.
fn capture_target(capture: &Capture) -> String {
    match capture.source() {
        Some(CaptureSource::Json(p)) => format!("a value at `{p}` of the body"),
        Some(CaptureSource::JsonPath(q)) => format!("a node selected by `{q}` in the body"),
        Some(CaptureSource::Header(h)) => format!("the `{h}` header"),
        Some(CaptureSource::Cookie(c)) => format!("the `{c}` cookie in Set-Cookie"),
        Some(CaptureSource::JwtClaim(j)) => format!("the `{}` claim of a JWT", j.claim),
        None => "a value".to_owned(),
    }
}

/// Why a request cannot be built, naming the failed capture when that is the cause.
fn template_error(err: &TemplateError, capture_failures: &HashMap<String, String>) -> StepError {
    let (kind, reason) = match err {
        TemplateError::Unknown { name } => match capture_failures.get(name) {
            Some(why) => (
                StepErrorKind::Capture,
                format!("variable `{name}` was not captured: {why}"),
            ),
            None => (
                StepErrorKind::Template,
                format!("variable `{name}` has no value"),
            ),
        },
        other => (StepErrorKind::Template, other.to_string()),
    };
    StepError::new(kind, format!("cannot build the request: {reason}"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
