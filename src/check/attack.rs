//! Runs the session-security expectations of a step (issue 15; `crate::spec::security`): the
//! extra exchanges each attack needs, after the step's own checks held. Every loop is bounded in
//! count (the spec's counts are capped) and in time (each exchange by the client's timeout, the
//! `expiry` wait by 10 s), and ends at once when the run is stopped. The verdicts are the pure
//! functions of `checks::security`.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngCore;

use super::checks::{self, security, CheckResultExt};
use super::client::HttpClient;
use super::evaluate::expect_pointer;
use super::outcome::CheckResult;
use crate::http::{RequestData, ResponseData};
use crate::spec::security::{
    Expiry, Fixation, JwtForgery, Lockout, TimingSameAs, TokenEntropy, MAX_ATTEMPTS, MAX_LOGINS,
    MAX_SAMPLES, MAX_WAIT_SECS,
};
use crate::spec::{build_request, extract_with, Case, Operation, Step, Vars};

/// Everything the attacks of one step look at.
pub struct AttackRun<'a> {
    pub run: Shared<'a>,
    pub case: &'a Case,
    pub case_index: usize,
    pub step_index: usize,
    pub op: &'a Operation,
    /// The step's request and response as they were.
    pub request: &'a RequestData,
    pub response: &'a ResponseData,
    /// The case's variables after the step's captures (without the step's `with`).
    pub vars: &'a Vars,
    /// Requests of earlier named steps.
    pub named_requests: &'a HashMap<String, RequestData>,
    /// When the step's request was sent.
    pub sent_at: SystemTime,
}

/// What every case of the spec shares, as the attacks need it.
#[derive(Clone, Copy)]
pub struct Shared<'a> {
    pub loaded: &'a crate::spec::LoadedSpec,
    pub base_url: &'a str,
    pub client: &'a HttpClient,
    pub stop: &'a crate::stop::Stop,
}

/// What the attacks of a step found.
#[derive(Debug, Default)]
pub struct AttackOutcome {
    pub checks: Vec<CheckResult>,
    /// Why the case cannot be judged here (e.g. the token lives longer than the case may wait).
    pub skipped: Option<String>,
    /// Values seen that must be masked (tokens of extra logins, forged tokens).
    pub secrets: Vec<String>,
}

/// Runs every security expectation of the step, in the order of the spec format.
pub async fn run_attacks(a: &AttackRun<'_>) -> AttackOutcome {
    let step = &a.case.steps[a.step_index];
    let expect = &step.expect;
    let base = expect_pointer(a.case_index, a.step_index);
    let mut out = AttackOutcome::default();
    let stamp = |mut c: CheckResult, key: &str, out: &mut AttackOutcome| {
        if let Some(rule) = &a.case.rule {
            c.rule = Some(rule.clone());
        }
        c.location = Some(a.run.loaded.locate(&format!("{base}/{key}")));
        out.checks.push(c);
    };
    if let Some(f) = &expect.jwt_forgery {
        for c in forgery(a, f, &mut out).await {
            stamp(c, "jwt_forgery", &mut out);
        }
    }
    if let Some(e) = &expect.token_entropy {
        for c in entropy(a, step, e, &mut out).await {
            stamp(c, "token_entropy", &mut out);
        }
    }
    if let Some(t) = &expect.timing_same_as {
        match timing(a, t).await {
            Ok(c) => stamp(c, "timing_same_as", &mut out),
            Err(why) => out.skipped = Some(why),
        }
    }
    if let Some(e) = &expect.expiry {
        match expiry(a, e).await {
            Ok(c) => stamp(c, "expiry", &mut out),
            Err(why) => out.skipped = Some(why),
        }
    }
    if let Some(f) = &expect.fixation {
        let c = fixation(a, f).await;
        stamp(c, "fixation", &mut out);
    }
    if let Some(l) = &expect.lockout {
        let c = lockout(a, step, l).await;
        stamp(c, "lockout", &mut out);
    }
    out
}

/// Sends `req`, timed; `Err` says why there is no response (stopped, transport error).
async fn send(a: &AttackRun<'_>, req: &RequestData) -> Result<(ResponseData, Duration), String> {
    let started = Instant::now();
    tokio::select! {
        r = a.run.client.send(req) => r
            .map(|resp| (resp, started.elapsed()))
            .map_err(|e| e.to_string()),
        _ = a.run.stop.stopped() => Err("interrupted".to_owned()),
    }
}

/// `req` with every occurrence of `from` (in the URL, headers and body) replaced by `to`.
fn substitute(req: &RequestData, from: &str, to: &str) -> RequestData {
    RequestData {
        method: req.method,
        url: req.url.replace(from, to),
        headers: req
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.replace(from, to)))
            .collect(),
        body: req.body.as_ref().map(|b| b.replace(from, to)),
    }
}

fn no_value(check: &str, name: &str, why: &str) -> CheckResult {
    checks::fail(check, format!("a value of `{name}` to attack"), why)
}

async fn forgery(a: &AttackRun<'_>, f: &JwtForgery, out: &mut AttackOutcome) -> Vec<CheckResult> {
    let Some(token) = a.vars.get(&f.token).map(str::to_owned) else {
        return vec![no_value("jwt_forgery", &f.token, "no value")];
    };
    if !a.request.url.contains(&token)
        && !a.request.headers.iter().any(|(_, v)| v.contains(&token))
        && !a.request.body.as_ref().is_some_and(|b| b.contains(&token))
    {
        return vec![no_value(
            "jwt_forgery",
            &f.token,
            "the step's request does not carry it",
        )];
    }
    let public_key = match &f.public_key {
        Some(text) => match a.vars.render(text) {
            Ok(k) => Some(k).filter(|k| !k.trim().is_empty()),
            Err(err) => {
                return vec![checks::fail(
                    "jwt_forgery:public-key-hmac",
                    "a `public_key` to forge with",
                    format!("`public_key` cannot be rendered: {err}"),
                )]
            }
        },
        None => None,
    };
    let forged = match security::forgeries(&token, public_key.as_deref()) {
        Ok(f) => f,
        Err(why) => return vec![no_value("jwt_forgery", &f.token, &why)],
    };
    if public_key.is_none() {
        if let Some(alg) = security::header_alg(&token).filter(|a| security::is_asymmetric(a)) {
            out.skipped = Some(format!(
                "the token is {alg}-signed: the algorithm-confusion forgery (HS256 keyed with the \
                 public key) needs the target's public key as text (`--var jwt_public_key=...`)"
            ));
        }
    }
    let refused = f.refused.clone().unwrap_or_else(security::default_refused);
    let mut results = Vec::new();
    for forgery in &forged {
        out.secrets.push(forgery.token.clone());
        let req = substitute(a.request, &token, &forgery.token);
        let c = match send(a, &req).await {
            Ok((resp, _)) => security::forgery_refused(forgery, resp.status, &refused),
            Err(why) => checks::fail(
                format!("jwt_forgery:{}", forgery.name),
                "an answer to the forged token",
                why,
            ),
        };
        results.push(c);
    }
    results
}

async fn entropy(
    a: &AttackRun<'_>,
    step: &Step,
    e: &TokenEntropy,
    out: &mut AttackOutcome,
) -> Vec<CheckResult> {
    let capture = step
        .capture
        .get(&e.token)
        .or_else(|| a.op.capture.get(&e.token));
    let (Some(capture), Some(first)) = (capture, a.vars.get(&e.token)) else {
        return vec![no_value(
            "token_entropy",
            &e.token,
            "not captured by this step",
        )];
    };
    let logins = e.logins.unwrap_or(20).clamp(2, MAX_LOGINS) as usize;
    let mut tokens = vec![first.to_owned()];
    for n in 2..=logins {
        match send(a, a.request).await {
            Ok((resp, _)) => match extract_with(capture, &resp, |v| a.vars.get(v)) {
                Ok(t) => {
                    out.secrets.push(t.clone());
                    tokens.push(t);
                }
                Err(why) => {
                    return vec![checks::fail(
                        "token_entropy",
                        format!("a token from each of {logins} logins"),
                        format!("login {n} answered {}: {why}", resp.status),
                    )]
                }
            },
            Err(why) => {
                return vec![checks::fail(
                    "token_entropy",
                    format!("a token from each of {logins} logins"),
                    format!("login {n}: {why}"),
                )]
            }
        }
    }
    let min_bits = e.min_bits.unwrap_or(128);
    let jwt = tokens.iter().all(|t| checks::jwt::decode(t).is_ok());
    let mut results = vec![security::tokens_distinct(
        &tokens,
        if jwt { "JWTs" } else { "tokens" },
    )];
    if jwt {
        // A JWT's signature is a function of its payload: what must be unguessable is its `jti`.
        let ids: Option<Vec<String>> = tokens.iter().map(|t| security::jwt_id(t)).collect();
        match ids {
            Some(ids) => results.push(security::entropy_reaches(&ids, "JWT `jti`", min_bits)),
            None => results.push(
                checks::pass(
                    "token_entropy:bits",
                    "a `jti` to estimate, or distinct self-contained tokens",
                    "no `jti`: the tokens are self-contained (signed), judged by being distinct",
                )
                .with_rule(security::ASVS_ENTROPY),
            ),
        }
    } else {
        results.push(security::entropy_reaches(&tokens, "token", min_bits));
    }
    results
}

async fn timing(a: &AttackRun<'_>, t: &TimingSameAs) -> Result<CheckResult, String> {
    let Some(earlier) = a.named_requests.get(&t.step) else {
        return Ok(checks::fail(
            format!("timing_same_as:{}", t.step),
            format!("the request of an earlier step `{}`", t.step),
            "no such step ran",
        ));
    };
    let samples = t.samples.unwrap_or(25).clamp(5, MAX_SAMPLES) as usize;
    let mut this_ms = Vec::with_capacity(samples);
    let mut earlier_ms = Vec::with_capacity(samples);
    let mut statuses: (Option<u16>, Option<u16>) = (None, None);
    // One warm-up pair (connections, caches), then the samples, interleaved with the order
    // alternating, so that drift of the machine's load affects both alike.
    for round in 0..=samples {
        let order: [bool; 2] = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for is_this in order {
            let req = if is_this { a.request } else { earlier };
            let (resp, took) = send(a, req)
                .await
                .map_err(|why| format!("timing_same_as: no answer while sampling ({why})"))?;
            let seen = if is_this {
                &mut statuses.0
            } else {
                &mut statuses.1
            };
            if seen.is_some_and(|s| s != resp.status) {
                return Err(format!(
                    "timing_same_as: the answers changed while sampling ({} then {}, throttled?): the times cannot be compared",
                    seen.unwrap_or_default(),
                    resp.status
                ));
            }
            *seen = Some(resp.status);
            if round > 0 {
                let ms = took.as_secs_f64() * 1000.0;
                if is_this {
                    this_ms.push(ms);
                } else {
                    earlier_ms.push(ms);
                }
            }
        }
    }
    let defaults = security::TimingRule::default();
    let rule = security::TimingRule {
        alpha: t.alpha.unwrap_or(defaults.alpha),
        min_difference_ms: t.min_difference_ms.unwrap_or(defaults.min_difference_ms),
        min_ratio: t.min_ratio.unwrap_or(defaults.min_ratio),
    };
    Ok(security::timing_same(&t.step, &this_ms, &earlier_ms, rule))
}

/// Seconds since the Unix epoch, fractional.
fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// When the token expires (Unix seconds), from `expires_at`, `lifetime` or its JWT `exp`.
fn expires_at(a: &AttackRun<'_>, e: &Expiry, token: &str) -> Result<f64, String> {
    if let Some(at) = &e.expires_at {
        let text = a
            .vars
            .render(at)
            .map_err(|err| format!("expiry: `expires_at` cannot be rendered: {err}"))?;
        if let Ok(secs) = text.trim().parse::<f64>() {
            return Ok(secs);
        }
        return humantime::parse_rfc3339_weak(text.trim())
            .map(unix)
            .map_err(|err| format!("expiry: `expires_at` is `{text}`, not a time ({err})"));
    }
    if let Some(lifetime) = &e.lifetime {
        let text = a
            .vars
            .render(lifetime)
            .map_err(|err| format!("expiry: `lifetime` cannot be rendered: {err}"))?;
        let d = humantime::parse_duration(text.trim())
            .map_err(|err| format!("expiry: `lifetime` is `{text}`, not a duration ({err})"))?;
        return Ok(unix(a.sent_at) + d.as_secs_f64());
    }
    let decoded = checks::jwt::decode(token)
        .map_err(|why| format!("expiry: no `expires_at` or `lifetime`, and the token is {why}"))?;
    decoded
        .claims
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| "expiry: the JWT has no numeric `exp`".to_owned())
}

async fn expiry(a: &AttackRun<'_>, e: &Expiry) -> Result<CheckResult, String> {
    let Some(token) = a.vars.get(&e.token).map(str::to_owned) else {
        return Ok(no_value("expiry", &e.token, "no value"));
    };
    let max_wait = match &e.max_wait {
        Some(m) => humantime::parse_duration(m.trim())
            .map_err(|err| format!("expiry: `max_wait` `{m}`: {err}"))?,
        None => Duration::from_secs(MAX_WAIT_SECS),
    }
    .min(Duration::from_secs(MAX_WAIT_SECS));
    let expires = expires_at(a, e, &token)?;
    // Expiry has second precision on most servers: one second past it.
    let due = expires + 1.0;
    let wait = (due - unix(SystemTime::now())).max(0.0);
    if wait > max_wait.as_secs_f64() {
        return Err(format!(
            "expiry: the token expires in {wait:.0} s, later than the {} s this case may wait; run it against a target with a short token lifetime (the reference server: serve --token-ttl 2s)",
            max_wait.as_secs()
        ));
    }
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
        _ = a.run.stop.stopped() => return Err("interrupted while waiting for the token to expire".to_owned()),
    }
    let waited = unix(SystemTime::now()) - unix(a.sent_at);
    let refused = e.refused.clone().unwrap_or_else(security::default_refused);
    Ok(match send(a, a.request).await {
        Ok((resp, _)) => security::expired_refused(resp.status, waited, &refused),
        Err(why) => checks::fail("expiry:refused", "an answer to the expired token", why),
    })
}

async fn fixation(a: &AttackRun<'_>, f: &Fixation) -> CheckResult {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let planted = format!("planted{hex}");
    let mut req = a.request.clone();
    let pair = format!("{}={planted}", f.cookie);
    match req
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        Some((_, v)) => *v = format!("{v}; {pair}"),
        None => req.headers.push(("Cookie".to_owned(), pair)),
    }
    match send(a, &req).await {
        Ok((resp, _)) => security::fixation_refused(&f.cookie, &planted, &resp),
        Err(why) => checks::fail(
            format!("fixation:{}", f.cookie),
            "an answer to the login with a planted cookie",
            why,
        ),
    }
}

async fn lockout(a: &AttackRun<'_>, step: &Step, l: &Lockout) -> CheckResult {
    let mut wrong = step.clone();
    for (k, v) in &l.wrong {
        wrong.with.insert(k.clone(), v.clone());
    }
    let spec = &a.run.loaded.spec;
    let wrong_req = match build_request(spec, a.op, Some(&wrong), a.run.base_url, a.vars) {
        Ok(r) => r,
        Err(e) => {
            return checks::fail(
                "lockout:throttled",
                "the failing login's request",
                e.to_string(),
            )
        }
    };
    let attempts = l.attempts.unwrap_or(50).clamp(1, MAX_ATTEMPTS) as usize;
    let mut seen = Vec::with_capacity(attempts);
    for _ in 0..attempts {
        match send(a, &wrong_req).await {
            Ok((resp, took)) => {
                let attempt = security::Attempt {
                    status: resp.status,
                    retry_after: resp.header("retry-after").is_some(),
                    millis: took.as_secs_f64() * 1000.0,
                };
                seen.push(attempt);
                if attempt.throttled() {
                    break;
                }
            }
            Err(why) => {
                return checks::fail(
                    "lockout:throttled",
                    "an answer to each failing login",
                    format!("attempt {}: {why}", seen.len() + 1),
                )
            }
        }
    }
    let after = send(a, a.request).await.ok().map(|(r, _)| r.status);
    security::lockout_shown(&seen, after)
}
