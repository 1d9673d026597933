//! Runs a compiled [`Plan`] with goose: one goose scenario per flow, one transaction per step,
//! each simulated user keeping its own captured values (its token) in its session data.
//!
//! goose is configured from code (never from argv), with its telnet and WebSocket controllers
//! off and its own printing off, so our stdout stays ours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::goose::{GooseUser, Scenario, Transaction, TransactionError, TransactionResult};
use goose::metrics::GooseMetrics;
use goose::prelude::{GooseDefault, GooseDefaultType};
use goose::{GooseAttack, GooseError};
use reqwest::header::HeaderValue;

use super::arrival::Arrivals;
use super::compile::{BodyTpl, FlowPlan, HeaderTpl, Plan, StepPlan, UserSlot};
use super::record::{Recorder, Timing};
use crate::http::ResponseData;
use crate::tls::ClientTls;

/// How a run is bounded and shaped.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Base URL of the target (`http://127.0.0.1:PORT`).
    pub host: String,
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// Whole seconds; with `iterations` a watchdog instead of goose's own timer.
    pub run_time: Option<u64>,
    /// Flow iterations per user.
    pub iterations: Option<usize>,
    /// The open model: the shared arrivals, and how long after the schedule's start the
    /// measured window begins (warm-up).
    pub open: Option<(Arc<Arrivals>, Duration)>,
    /// Timeout of one request (connect, headers and body).
    pub timeout: Duration,
    /// TLS settings other than the default: each user then builds its own client with them
    /// (goose's shared client cannot take extra roots).
    pub tls: Option<Arc<ClientTls>>,
    /// No request is sent, and none is waited for, past this long after the attack starts:
    /// requests still waiting then are abandoned and counted as cancelled.
    pub deadline: Option<Duration>,
    /// A common start (`--start-at`): the measured window (or, in the open model, the arrival
    /// schedule) starts at this instant, once every user has started, and a closed-model run
    /// ends `run_time` after it.
    pub start_at: Option<Instant>,
    /// Global number of this process's first user (`{{$user}}`; 0 without shards).
    pub first_user: usize,
    /// Account rows of this process's users, in user order (`--accounts`).
    pub accounts: Option<Arc<super::accounts::Accounts>>,
}

/// Counters shared by every user, read by the progress line and the results.
#[derive(Debug)]
pub struct Counters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub users: AtomicU64,
    /// Requests sent whose response has not come yet.
    pub in_flight: AtomicU64,
    /// Requests abandoned while waiting for their response (the run ended under them).
    pub cancelled: AtomicU64,
    /// Per request name (by [`Plan::requests`] index): steps not sent for a missing capture.
    pub skipped: Vec<AtomicU64>,
    /// Per request name: successful responses.
    pub successes: Vec<AtomicU64>,
    /// Our recording of every response (histograms, statuses, errors, the series).
    pub recorder: Recorder,
}

impl Counters {
    /// Counters of `requests` request names for `users` users; `headline` is the headline
    /// request's index, `open` whether the run is open-model.
    pub fn new(requests: usize, users: usize, headline: Option<usize>, open: bool) -> Self {
        let zeros = || (0..requests).map(|_| AtomicU64::new(0)).collect();
        Counters {
            recorder: Recorder::new(requests, users, headline, open),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            users: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            skipped: zeros(),
            successes: zeros(),
        }
    }
}

/// Counts one request in flight; dropped before [`InFlight::done`] (the run ended while the
/// request waited), it counts the request as cancelled.
struct InFlight<'c> {
    counters: &'c Counters,
    done: bool,
}

impl<'c> InFlight<'c> {
    fn start(counters: &'c Counters) -> Self {
        counters.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            counters,
            done: false,
        }
    }

    fn done(mut self) {
        self.done = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A user's captured values, by slot, and where it records.
#[derive(Debug, Clone)]
struct UserState {
    slots: Vec<Option<String>>,
    /// Its shard of the recorder.
    shard: usize,
    /// Open model: the intended start of the iteration the user runs, until its first request
    /// has been recorded.
    intended: Option<Instant>,
    /// Open model: whether the user holds an arrival (runs an iteration).
    holds_arrival: bool,
    /// Open model: the schedule is over for this user; it sends nothing more (its captures are
    /// the last iteration's, whose logout already ran).
    schedule_over: bool,
}

/// What every transaction shares.
#[derive(Clone)]
struct Shared {
    counters: Arc<Counters>,
    deadline: Option<Instant>,
    slots: usize,
    users: usize,
    /// Whether the measured window starts when the last user has started (run-time mode).
    window_on_launch: bool,
    open: Option<(Arc<Arrivals>, Duration)>,
    /// Whether the arrival schedule starts when the last user has started (no common start).
    schedule_on_launch: bool,
    first_user: usize,
    accounts: Option<Arc<super::accounts::Accounts>>,
    user_slots: Arc<Vec<(usize, UserSlot)>>,
    /// The target's base URL, parsed once (goose's `Host`): a step's path is joined to it as
    /// goose joins it, without goose's per-request URL parsing.
    base: Option<reqwest::Url>,
}

/// How long a user pauses on a step it cannot send (a value it needs was not captured).
const SKIP_PAUSE: Duration = Duration::from_millis(10);

/// Largest response body read for captures; bodies beyond it are drained, not kept.
const MAX_CAPTURE_BODY: usize = 1024 * 1024;

/// Builds the attack and runs it to its end (time, iterations, the end of the arrival schedule,
/// or the killswitch).
pub async fn execute(
    plan: &Plan,
    settings: &RunSettings,
    counters: &Arc<Counters>,
) -> Result<GooseMetrics, GooseError> {
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?;
    let shared = Shared {
        counters: Arc::clone(counters),
        deadline: settings.deadline.map(|d| Instant::now() + d),
        slots: plan.slots.len(),
        users: settings.users,
        window_on_launch: settings.iterations.is_none()
            && settings.open.is_none()
            && settings.start_at.is_none(),
        open: settings.open.clone(),
        schedule_on_launch: settings.start_at.is_none(),
        first_user: settings.first_user,
        accounts: settings.accounts.clone(),
        user_slots: Arc::new(plan.user_slots.clone()),
        base: reqwest::Url::parse(&settings.host).ok(),
    };
    if settings.iterations.is_some() {
        // Nothing is reset with iterations: the whole run counts.
        counters.recorder.start_window();
    }
    for flow in &plan.flows {
        let mut scenario = goose_scenario(flow, &shared)?;
        if let Some(tls) = &settings.tls {
            scenario = scenario.register_transaction(tls_client(tls, settings.timeout));
        }
        attack = attack.register_scenario(scenario);
    }
    let rate = format_rate(settings.hatch_rate);
    let timeout = format!("{:.3}", settings.timeout.as_secs_f64());
    // One client for every user (one connection pool): no per-user client or pool to build,
    // which is what 10,000 users cost otherwise. Captures and cookies are ours, per user.
    let client = GooseClientBuilder::new()
        .without_cookies()
        .timeout(settings.timeout)
        .user_agent(concat!("sessionspec/", env!("CARGO_PKG_VERSION")));
    let mut attack = *attack
        .set_client_builder_without_cookies(client)?
        .set_default(GooseDefault::Host, settings.host.as_str())?
        .set_default(GooseDefault::Timeout, timeout.as_str())?
        .set_default(GooseDefault::Users, settings.users)?
        .set_default(GooseDefault::IncreaseRate, rate.as_str())?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::Quiet, 1)?
        // Our recording replaces goose's: no metric record per request through its channel.
        .set_default(GooseDefault::NoMetrics, true)?;
    match (settings.iterations, settings.run_time, &settings.open) {
        (Some(n), _, _) => attack = *attack.set_default(GooseDefault::Iterations, n)?,
        // The schedule ends the run (below); goose's own timer is a little later.
        (None, Some(secs), Some(_)) => {
            attack = *attack.set_default(GooseDefault::RunTime, secs as usize + 2)?;
        }
        (None, Some(secs), None) => {
            // With a common start the window's end is ours (below); goose's timer, which starts
            // when every user has started, comes later.
            let backstop = settings.start_at.map_or(0, |at| {
                at.saturating_duration_since(Instant::now()).as_secs() as usize + 2
            });
            attack = *attack.set_default(GooseDefault::RunTime, secs as usize + backstop)?;
        }
        (None, None, _) => {
            return Err(GooseError::InvalidOption {
                option: "run_time".into(),
                value: String::new(),
                detail: "a load run needs --run-time or --iterations".into(),
            })
        }
    }
    let mut tasks = Vec::new();
    if let (Some(_), Some(secs)) = (settings.iterations, settings.run_time) {
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            goose::trigger_killswitch("--run-time elapsed before the iterations ended");
        }));
    }
    if let Some((arrivals, warmup)) = &settings.open {
        tasks.push(tokio::spawn(end_with_schedule(
            Arc::clone(arrivals),
            *warmup,
            Arc::clone(counters),
        )));
    }
    if let Some(at) = settings.start_at {
        tasks.push(tokio::spawn(common_start(
            at,
            settings.users,
            settings.open.as_ref().map(|(a, _)| Arc::clone(a)),
            settings.run_time.filter(|_| settings.open.is_none()),
            Arc::clone(counters),
        )));
    }
    tasks.push(tokio::spawn(collect_every_second(Arc::clone(counters))));
    let result = attack.execute().await;
    for t in tasks {
        t.abort();
    }
    result
}

/// Open model: starts the measured window `warmup` after the schedule starts, and ends the
/// attack once every arrival has been taken (or dropped) and every iteration is over.
async fn end_with_schedule(arrivals: Arc<Arrivals>, warmup: Duration, counters: Arc<Counters>) {
    let start = loop {
        if let Some(s) = arrivals.started_at() {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep_until((start + warmup).into()).await;
    counters.recorder.start_window();
    while !arrivals.done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    goose::trigger_killswitch("the arrival schedule is over");
}

/// A common start: at `at`, once every user has started, the measured window starts (closed
/// model) or the arrival schedule does (open model); a closed-model run then ends `run_time`
/// seconds after `at`, so that every shard's window ends at the same instant.
async fn common_start(
    at: Instant,
    users: usize,
    arrivals: Option<Arc<Arrivals>>,
    run_time: Option<u64>,
    counters: Arc<Counters>,
) {
    tokio::time::sleep_until(at.into()).await;
    while counters.users.load(Ordering::Relaxed) < users as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    match &arrivals {
        Some(a) => a.start(Instant::now()),
        None => counters.recorder.start_window(),
    }
    if let Some(secs) = run_time {
        tokio::time::sleep_until((at + Duration::from_secs(secs)).into()).await;
        counters.recorder.stop_measuring();
        goose::trigger_killswitch("the common window ended (--start-at + --run-time)");
    }
}

/// The first on-start transaction of every user when the TLS settings are not the default: a
/// client of the user's own with them (goose's attack-wide client builder takes no CA roots).
fn tls_client(tls: &Arc<ClientTls>, timeout: Duration) -> Transaction {
    let tls = Arc::clone(tls);
    Transaction::new(Arc::new(move |user| {
        let tls = Arc::clone(&tls);
        Box::pin(async move {
            let builder = reqwest::Client::builder()
                .user_agent(concat!("sessionspec/", env!("CARGO_PKG_VERSION")))
                .gzip(true)
                .timeout(timeout);
            let builder = tls.apply(builder).map_err(|e| custom(&e.to_string()))?;
            user.set_client_builder(builder).await.map_err(Box::new)
        })
    }))
    .set_name("tls client")
    .set_on_start()
    .set_sequence(1)
}

/// `2`, `0.5`: goose parses the rate as a number.
fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{}", rate as u64)
    } else {
        format!("{rate}")
    }
}

fn goose_scenario(flow: &FlowPlan, shared: &Shared) -> Result<Scenario, GooseError> {
    let mut scenario = Scenario::new(&flow.name).set_weight(flow.weight)?;
    // Sequence 1 is the TLS client's, when there is one ([`tls_client`]).
    let mut sequence = 2;
    for step in &flow.on_start {
        scenario = scenario.register_transaction(
            transaction(step, shared, false)
                .set_on_start()
                .set_sequence(sequence),
        );
        sequence += 1;
    }
    for (i, step) in flow.steps.iter().enumerate() {
        scenario = scenario.register_transaction(
            transaction(step, shared, i == 0)
                .set_sequence(sequence)
                .set_weight(step.repeat)?,
        );
        sequence += 1;
    }
    for step in &flow.on_stop {
        scenario = scenario.register_transaction(
            transaction(step, shared, false)
                .set_on_stop()
                .set_sequence(sequence),
        );
        sequence += 1;
    }
    Ok(scenario)
}

/// `first`: the step starts an iteration (in the open model it waits for an arrival first).
fn transaction(step: &StepPlan, shared: &Shared, first: bool) -> Transaction {
    let step = Arc::new(step.clone());
    let shared = Arc::new(shared.clone());
    let name = step.name.clone();
    // A path without templating has one URL for every request: parsed here, once.
    let url: Arc<Option<reqwest::Url>> = Arc::new(
        step.path
            .as_static()
            .and_then(|p| shared.base.as_ref()?.join(p).ok()),
    );
    Transaction::new(Arc::new(move |user| {
        let step = Arc::clone(&step);
        let shared = Arc::clone(&shared);
        let url = Arc::clone(&url);
        Box::pin(async move { run_step(user, &step, &shared, first, url.as_ref().as_ref()).await })
    }))
    .set_name(&name)
}

/// The user's state, created (and the user counted) on its first step.
fn user_state<'u>(
    user: &'u mut GooseUser,
    shared: &Shared,
) -> Result<&'u mut UserState, Box<TransactionError>> {
    if user.get_session_data::<UserState>().is_none() {
        let counters = &shared.counters;
        let started = counters.users.fetch_add(1, Ordering::Relaxed) + 1;
        let mut slots = vec![None; shared.slots];
        let local = usize::try_from(started - 1).unwrap_or(usize::MAX);
        for (slot, what) in shared.user_slots.iter() {
            let value = match what {
                UserSlot::Number => Some((shared.first_user + local).to_string()),
                UserSlot::Column(c) => shared
                    .accounts
                    .as_ref()
                    .and_then(|a| a.rows.get(local))
                    .and_then(|row| row.get(*c))
                    .cloned(),
            };
            if let Some(s) = slots.get_mut(*slot) {
                *s = value;
            }
        }
        user.set_session_data(UserState {
            slots,
            shard: counters.recorder.shard_of_new_user(),
            intended: None,
            holds_arrival: false,
            schedule_over: false,
        });
        if started == shared.users as u64 {
            // Every user is running: the steady state (and the arrival schedule) starts now.
            if shared.window_on_launch {
                counters.recorder.start_window();
            }
            if let (Some((arrivals, _)), true) = (&shared.open, shared.schedule_on_launch) {
                arrivals.start(Instant::now());
            }
        }
    }
    user.get_session_data_mut::<UserState>()
        .ok_or_else(|| custom("the user's session data is missing"))
}

/// Sends one step for one user and records what happened.
async fn run_step(
    user: &mut GooseUser,
    step: &StepPlan,
    shared: &Shared,
    first: bool,
    url: Option<&reqwest::Url>,
) -> TransactionResult {
    let counters = &*shared.counters;
    let deadline = shared.deadline;
    let state = user_state(user, shared)?;
    if state.schedule_over {
        return past_deadline().await;
    }
    if let (true, Some((arrivals, _))) = (first, &shared.open) {
        // A new iteration: give back the arrival of the last one, wait for the next.
        if std::mem::take(&mut state.holds_arrival) {
            arrivals.release();
        }
        state.intended = None;
        match arrivals.take(&counters.recorder, deadline).await {
            Some(at) => {
                let state = user_state(user, shared)?;
                state.intended = Some(at);
                state.holds_arrival = true;
            }
            // The schedule is over: nothing more to start. Ending the attack now would cut
            // short the iterations other users are still running (goose stops every user after
            // its current transaction): wait until they are done (or the deadline), then end it.
            None => {
                user_state(user, shared)?.schedule_over = true;
                while !arrivals.done() && deadline.is_none_or(|d| Instant::now() < d) {
                    tokio::time::sleep(SKIP_PAUSE).await;
                }
                return past_deadline().await;
            }
        }
    }
    let state = user_state(user, shared)?;
    for slot in &step.clears {
        if let Some(s) = state.slots.get_mut(*slot) {
            *s = None;
        }
    }
    let shard = state.shard;
    let intended = state.intended.take();

    let builder = match build(user, step, shared.base.as_ref(), url) {
        Ok(b) => b,
        Err(skip) => {
            if let Some(c) = counters.skipped.get(step.request) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            return match skip {
                // An earlier step of this iteration failed (and was counted): nothing to send.
                Skip::MissingCapture => {
                    // Nothing to send, so nothing to wait on: pause (the step's think time, at
                    // least 10 ms) rather than spin, or a user whose login failed would loop
                    // without ever yielding and starve every other task, goose's timers too.
                    if step.think.is_some() {
                        think(step).await;
                    } else {
                        tokio::time::sleep(SKIP_PAUSE).await;
                    }
                    Ok(())
                }
                Skip::Invalid(message) => Err(custom(&message)),
            };
        }
    };
    let request = builder
        .build()
        .map_err(|e| custom(&format!("step `{}`: {e}", step.name)))?;
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if left == Some(Duration::ZERO) {
        counters.cancelled.fetch_add(1, Ordering::Relaxed);
        return past_deadline().await;
    }
    let in_flight = InFlight::start(counters);
    let sent_at = Instant::now();
    // Sent on the users' shared client directly: goose's `request()` would build a metric
    // record (URL and name strings) for every request, which our recorder replaces.
    let sent = user.client.execute(request);
    let response = match left {
        None => sent.await,
        Some(left) => match tokio::time::timeout(left, sent).await {
            Ok(r) => r,
            // The run's bound came first: the request is abandoned (the dropped guard counts
            // it as cancelled).
            Err(_) => return past_deadline().await,
        },
    };
    let headers_at = Instant::now();
    let (status, response, error) = match response {
        Ok(r) => {
            let code = r.status();
            (code.as_u16(), Some(r), format!("{code}: {}", step.name))
        }
        Err(e) => (0, None, transport_error(&e, &step.name)),
    };
    let status_ok = status != 0
        && match &step.expect {
            Some(expect) => expect.allows(status),
            None => (200..300).contains(&status),
        };
    let outcome = match response {
        Some(response) => match deadline {
            None => read(response, step).await,
            Some(d) => match tokio::time::timeout_at(d.into(), read(response, step)).await {
                Ok(r) => r,
                Err(_) => return past_deadline().await,
            },
        },
        None => Err(String::new()),
    };
    let done_at = Instant::now();
    in_flight.done();
    counters.requests.fetch_add(1, Ordering::Relaxed);

    let mut failure: Option<String> = (!status_ok).then_some(error);
    match outcome {
        Ok(data) if status_ok && !step.captures.is_empty() => {
            let mut why_not = None;
            let mut values = Vec::with_capacity(step.captures.len());
            for (slot, capture) in &step.captures {
                match crate::spec::extract(capture, &data) {
                    Ok(v) => values.push((*slot, v)),
                    // An `optional` capture may find nothing (the spec says the value may be
                    // absent): not a failed request; a step that needs it is then not sent.
                    Err(_) if capture.optional => {}
                    Err(why) => {
                        why_not.get_or_insert(why);
                    }
                }
            }
            if let Some(state) = user.get_session_data_mut::<UserState>() {
                for (slot, v) in values {
                    if let Some(s) = state.slots.get_mut(slot) {
                        *s = Some(v);
                    }
                }
            }
            if let Some(why) = why_not {
                failure = Some(format!("capture: {why}"));
            }
        }
        Ok(_) => {}
        Err(why) if status_ok && !why.is_empty() => failure = Some(format!("body: {why}")),
        Err(_) => {}
    }
    counters.recorder.record(
        shard,
        step.request,
        status,
        Timing {
            headers: headers_at - sent_at,
            body: done_at - sent_at,
            scheduled: shared
                .open
                .as_ref()
                .map(|_| done_at - intended.unwrap_or(sent_at).min(sent_at)),
        },
        failure.as_deref(),
    );
    if failure.is_none() {
        if let Some(c) = counters.successes.get(step.request) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        counters.errors.fetch_add(1, Ordering::Relaxed);
    }
    think(step).await;
    Ok(())
}

/// reqwest's method of a goose method (`None` for goose's `Custom`, which sends nothing).
fn reqwest_method(m: &goose::goose::GooseMethod) -> Option<reqwest::Method> {
    use goose::goose::GooseMethod as G;
    Some(match m {
        G::Delete => reqwest::Method::DELETE,
        G::Get => reqwest::Method::GET,
        G::Head => reqwest::Method::HEAD,
        G::Patch => reqwest::Method::PATCH,
        G::Post => reqwest::Method::POST,
        G::Put => reqwest::Method::PUT,
        G::Custom => return None,
    })
}

/// A request that got no response, in the words goose used for it (`error sending request
/// login: client error (Connect)`), so reports read as before.
fn transport_error(e: &reqwest::Error, name: &str) -> String {
    let kind = if e.is_builder() {
        "builder error"
    } else if e.is_request() || e.is_connect() {
        "error sending request"
    } else if e.is_body() {
        "request or response body error"
    } else if e.is_decode() {
        "error decoding response body"
    } else if e.is_redirect() {
        "error following redirect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "Http status"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind} {name}: {source}"),
        None => format!("{kind} {name}"),
    }
}

/// The run's bound has passed: nothing more is sent. Ends the attack through the killswitch and
/// waits a little (a transaction that returned at once would spin its user without ever yielding
/// and starve the runtime goose's own timers run on).
async fn past_deadline() -> TransactionResult {
    goose::trigger_killswitch("the run reached its bound (ramp-up + run time + timeout)");
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

enum Skip {
    MissingCapture,
    Invalid(String),
}

/// The request builder of a step, rendered for this user.
fn build(
    user: &GooseUser,
    step: &StepPlan,
    base: Option<&reqwest::Url>,
    url: Option<&reqwest::Url>,
) -> Result<reqwest::RequestBuilder, Skip> {
    let slots: &[Option<String>] = user
        .get_session_data::<UserState>()
        .map_or(&[], |s| s.slots.as_slice());
    let mut scratch = String::new();
    let path = match step.path.as_static() {
        Some(p) => p,
        None => {
            step.path
                .render(slots, &mut scratch)
                .map_err(|_| Skip::MissingCapture)?;
            scratch.as_str()
        }
    };
    let invalid = |e: &dyn std::fmt::Display| Skip::Invalid(format!("step `{}`: {e}", step.name));
    let mut rb = match (url, base, reqwest_method(&step.method)) {
        (Some(url), _, Some(m)) => user.client.request(m, url.clone()),
        // What goose's `build_url` gives: a relative path joined to the base URL, an absolute
        // URL as it is (`Url::join` keeps an absolute input), without parsing the path twice.
        (None, Some(base), Some(m)) => user
            .client
            .request(m, base.join(path).map_err(|e| invalid(&e))?),
        _ => user
            .get_request_builder(&step.method, path)
            .map_err(|e| invalid(&e))?,
    };
    for (name, value) in &step.headers {
        match value {
            HeaderTpl::Static(v) => rb = rb.header(name.clone(), v.clone()),
            HeaderTpl::Dynamic(t) => {
                let mut s = String::new();
                t.render(slots, &mut s).map_err(|_| Skip::MissingCapture)?;
                let v = HeaderValue::from_str(&s).map_err(|_| {
                    Skip::Invalid(format!(
                        "step `{}`: header `{name}` would not be a valid header value",
                        step.name
                    ))
                })?;
                rb = rb.header(name.clone(), v);
            }
        }
    }
    match &step.body {
        None => {}
        Some(BodyTpl::Static(bytes)) => rb = rb.body(bytes.clone()),
        Some(BodyTpl::Dynamic(t)) => {
            let mut s = String::new();
            t.render(slots, &mut s).map_err(|_| Skip::MissingCapture)?;
            rb = rb.body(s);
        }
    }
    Ok(rb)
}

/// Reads the response: what the captures need is kept, the rest is drained so the connection
/// is reused. `Err` says why the body could not be read.
async fn read(mut response: reqwest::Response, step: &StepPlan) -> Result<ResponseData, String> {
    let mut data = ResponseData {
        status: response.status().as_u16(),
        ..ResponseData::default()
    };
    for name in &step.capture_headers {
        for v in response.headers().get_all(name.as_str()) {
            data.headers.push((
                name.clone(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
        }
    }
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if step.capture_body && data.body.len() + chunk.len() <= MAX_CAPTURE_BODY {
                    data.body.extend_from_slice(&chunk);
                } else if step.capture_body {
                    data.truncated = true;
                }
            }
            Ok(None) => return Ok(data),
            Err(e) => return Err(e.to_string()),
        }
    }
}

async fn think(step: &StepPlan) {
    if let Some((min, max)) = step.think {
        let pause = if max > min {
            min + (max - min).mul_f64(rand::random::<f64>())
        } else {
            min
        };
        tokio::time::sleep(pause).await;
    }
}

fn custom(message: &str) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message.to_owned()))
}

/// Collects one second of the counters' recorder at every wall-clock second boundary until aborted.
pub async fn collect_every_second(counters: Arc<Counters>) {
    loop {
        let now = SystemTime::now();
        let since = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let to_next =
            Duration::from_secs(1) - Duration::from_nanos(u64::from(since.subsec_nanos()));
        tokio::time::sleep(to_next).await;
        let t = super::record::unix_secs(SystemTime::now()).saturating_sub(1);
        counters
            .recorder
            .collect_second(t, counters.users.load(Ordering::Relaxed));
    }
}
