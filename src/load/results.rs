//! The results of a load run as plain data, built from our own recording
//! ([`super::record`]): per request name the count, rate, latency percentiles (from exact
//! HdrHistograms, which the JSON report carries so that other tools can merge runs), status codes
//! and errors, the per-second series, and the headline (logins per second). This is what the
//! terminal summary, the JSON and Markdown reports and the thresholds read.
//!
//! The JSON form is a contract (`reports/schema/load-report.schema.json`, `format_version` 1):
//! [`LoadResults`] reads back what it wrote, and the thresholds are a pure function of it
//! ([`super::threshold::judge`]), so a merge of several runs can add their histograms
//! ([`super::record::decode`]), rebuild the stats with [`stats`] and judge again.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::arrival::Stage;
use super::record::{self, Recorded, RequestRecord};
pub use crate::verdict::Verdict;

/// Version of the JSON report's format; a change that breaks a reader bumps it.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResults {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The program that wrote the results.
    pub tool: Tool,
    /// Wall clock (RFC 3339, UTC) of the measured window's start; `None` when nothing was
    /// measured (the probe failed).
    #[serde(default)]
    pub started_at: Option<String>,
    pub scenario: String,
    pub spec: String,
    /// Base URL the load went to.
    pub target: String,
    /// What the run was asked to do.
    pub plan: PlanSummary,
    /// Most users running at once.
    pub users: usize,
    /// Seconds the measured window lasted (after ramp-up unless iterations were counted; in
    /// the open model, the measured part of the arrival schedule).
    pub duration_s: f64,
    /// What `latency_ms` and `histogram` measure from: `send` (closed model: the request's
    /// send) or `intended_start` (open model: its arrival's intended start time).
    pub latency_from: LatencyFrom,
    /// `SIGINT` or `SIGTERM` when the run was cut short; what was measured until then is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Why the run could not judge the target (it did not answer the probe); nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Requests still waiting for their response when the run ended, abandoned (not counted as
    /// successes or failures).
    #[serde(default)]
    pub cancelled: u64,
    /// Open model: arrivals of the measured window that no user of the pool was free to start
    /// (never sent; they fail the run unless it allows them).
    #[serde(default)]
    pub dropped: u64,
    /// Successful responses per second of the headline request (`login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<Headline>,
    /// Every request together.
    pub total: OperationStats,
    /// Per request name, in the order the scenario first uses them.
    pub operations: Vec<OperationStats>,
    /// Distinct errors with how often each happened.
    pub errors: Vec<ErrorCount>,
    pub thresholds: Vec<ThresholdOutcome>,
    pub verdict: Verdict,
    /// One entry per wall-clock second of the run, ramp-up included.
    #[serde(default)]
    pub series: Vec<SeriesPoint>,
    /// The server's own count of successful logins beside ours (`load::server_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_count: Option<super::server_count::ServerCount>,
    /// A shard of a distributed run (`load --shard I/N`): which one, and its window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardInfo>,
    /// A merged report (`sessionspec merge`): the shards it adds up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<super::shard::MergeInfo>,
    /// A capacity search (`--find-max`): every step, the highest rate that held. The rest of
    /// the results are then those of the step at that rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
}

/// The program that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The closed or the open model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// A fixed number of users, each starting its next iteration when the last one ended.
    #[default]
    Closed,
    /// Iterations start at the times of an arrival schedule, served by a pool of users.
    Open,
}

/// What a latency is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyFrom {
    #[default]
    Send,
    IntendedStart,
}

/// The plan of a run, as the results record it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Users (open model: the pool serving the arrivals).
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// Seconds to start every user.
    pub ramp_up_s: u64,
    /// Whole seconds of the measured window (with iterations: the most the run may take).
    pub run_time_s: Option<u64>,
    /// Iterations per user.
    pub iterations: Option<usize>,
    /// Timeout of one request, in milliseconds.
    pub timeout_ms: u64,
    pub model: Model,
    /// Open model: the arrival rate's stages (a constant rate is one stage with equal ends).
    pub rate: Option<Vec<Stage>>,
    /// Open model: seconds of the schedule before the measured window.
    pub warmup_s: f64,
    /// Open model: whether dropped arrivals are allowed (else they fail the run).
    pub allow_dropped: bool,
}

/// The run's one number: successful headline requests per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Request name (`login`).
    pub request: String,
    pub successes: u64,
    pub per_second: f64,
}

/// Measurements of one request name (or of all of them, named `all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationStats {
    pub name: String,
    /// HTTP method (empty for `all`).
    pub method: String,
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    /// Steps not sent because a value they need was not captured (an earlier step failed).
    pub skipped: u64,
    /// Requests per second over the measured window.
    pub rps: f64,
    /// Failures as a percentage of requests (0 without requests).
    pub error_rate_pct: f64,
    /// The judged latency in milliseconds (thresholds read it): to the last byte of the
    /// response body, from the send (closed model) or from the intended start (open model, see
    /// [`LoadResults::latency_from`]); `None` without requests.
    pub latency_ms: Option<Latency>,
    /// From the send to the response headers.
    pub headers_ms: Option<Latency>,
    /// Open model only: from the send to the last byte (the service time); `None` in the
    /// closed model, where it is `latency_ms`.
    pub service_ms: Option<Latency>,
    /// The histogram of `latency_ms` in microseconds: HdrHistogram V2 (uncompressed), base64.
    pub histogram: String,
    /// The histogram of `headers_ms`, encoded the same way.
    pub headers_histogram: String,
    /// The histogram of `service_ms` (open model), encoded the same way.
    pub service_histogram: Option<String>,
    /// How many responses had each status (`0` counts requests that got no response).
    pub status_codes: BTreeMap<u16, u64>,
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: f64,
    pub avg: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One distinct error and its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorCount {
    pub request: String,
    pub error: String,
    pub count: u64,
}

/// One wall-clock second of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Unix time of the second's start.
    pub t: u64,
    /// Responses recorded in the second (every request name).
    pub requests: u64,
    pub errors: u64,
    /// Successful responses of the headline request.
    pub successes: u64,
    /// Users running.
    pub users: u64,
    /// Open model: arrivals dropped in the second.
    pub dropped: u64,
    /// Whether the second lies in the measured window.
    pub measured: bool,
    /// Judged latency of the second's responses (`None` without any).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The second's judged latencies of every request: HdrHistogram V2, base64.
    pub histogram: String,
}

/// How one threshold fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    pub threshold: String,
    pub passed: bool,
    /// What was measured (`p95 = 312.456ms`, `no samples`).
    pub observed: String,
    /// Where the threshold came from.
    #[serde(default)]
    pub gate: Gate,
}

/// Where a threshold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The scenario or the command line.
    #[default]
    Given,
    /// The default gate of a run that sets none (`--no-default-gate` removes it).
    Default,
    /// The rule no option removes: a run where not one request succeeded fails.
    Always,
    /// Open model: dropped arrivals fail the run unless `--allow-dropped`.
    Dropped,
}

/// What the results need besides the recording.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub scenario: String,
    pub spec: String,
    pub target: String,
    /// `(name, METHOD)` of every request, in scenario order.
    pub requests: Vec<(String, String)>,
    pub headline: Option<String>,
    pub plan: PlanSummary,
    pub skipped: HashMap<String, u64>,
    pub interrupted: Option<String>,
    /// Why nothing was sent (the probe failed).
    pub error: Option<String>,
    /// Requests abandoned in flight when the run ended.
    pub cancelled: u64,
    /// Open model: arrivals dropped in the measured window.
    pub dropped: u64,
    pub started_at: Option<String>,
    pub series: Vec<SeriesPoint>,
}

/// One request name's raw measurements.
pub type Sample = RequestRecord;

/// Builds the results from a run's recording (thresholds are evaluated later by the caller).
pub fn collect(recorded: Recorded, info: &RunInfo, users: usize) -> LoadResults {
    let samples: Vec<(String, String, Sample)> = info
        .requests
        .iter()
        .zip(recorded.requests)
        .map(|((name, method), r)| (name.clone(), method.clone(), r))
        .collect();
    let errors = recorded
        .errors
        .into_iter()
        .map(|(i, error, count)| ErrorCount {
            request: info
                .requests
                .get(i)
                .map_or_else(String::new, |(n, _)| n.clone()),
            error,
            count,
        })
        .collect();
    let info = RunInfo {
        started_at: recorded
            .started_at
            .map(|t| humantime::format_rfc3339_millis(t).to_string()),
        dropped: recorded.dropped,
        series: recorded.series.iter().map(series_point).collect(),
        ..info.clone()
    };
    build(&info, samples, recorded.window_s, users, errors)
}

fn series_point(s: &record::Second) -> SeriesPoint {
    let q = |q: f64| (!s.histogram.is_empty()).then(|| ms(s.histogram.value_at_quantile(q)));
    SeriesPoint {
        t: s.t,
        requests: s.requests,
        errors: s.errors,
        successes: s.headline_successes,
        users: s.users,
        dropped: s.dropped,
        measured: s.measured,
        p50_ms: q(0.50),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        histogram: record::encode(&s.histogram),
    }
}

/// The pure part of [`collect`]: from per-request samples to results.
pub fn build(
    info: &RunInfo,
    samples: Vec<(String, String, Sample)>,
    duration_s: f64,
    users: usize,
    errors: Vec<ErrorCount>,
) -> LoadResults {
    let open = info.plan.model == Model::Open;
    let mut all = Sample::empty(open);
    let mut operations = Vec::new();
    for (name, method, s) in &samples {
        all.add(s);
        let skipped = info.skipped.get(name).copied().unwrap_or(0);
        operations.push(stats(name, method, s, skipped, duration_s));
    }
    let skipped_all = info.skipped.values().sum();
    let total = stats("all", "", &all, skipped_all, duration_s);
    let headline = info.headline.as_ref().map(|request| {
        let successes = operations
            .iter()
            .find(|o| &o.name == request)
            .map_or(0, |o| o.successes);
        Headline {
            request: request.clone(),
            successes,
            per_second: per_second(successes, duration_s),
        }
    });
    LoadResults {
        format_version: FORMAT_VERSION,
        tool: Tool::this(),
        started_at: info.started_at.clone(),
        scenario: info.scenario.clone(),
        spec: info.spec.clone(),
        target: info.target.clone(),
        plan: info.plan.clone(),
        users,
        duration_s: round3(duration_s),
        latency_from: if open {
            LatencyFrom::IntendedStart
        } else {
            LatencyFrom::Send
        },
        interrupted: info.interrupted.clone(),
        error: info.error.clone(),
        cancelled: info.cancelled,
        dropped: info.dropped,
        headline,
        total,
        operations,
        errors,
        thresholds: Vec::new(),
        verdict: if info.interrupted.is_some() {
            Verdict::Interrupted
        } else {
            Verdict::Pass
        },
        series: info.series.clone(),
        server_count: None,
        shard: None,
        merged: None,
        capacity: None,
    }
}

/// The latency summary of a histogram of microseconds (`None` when it is empty).
pub fn summarize(h: &Histogram<u64>) -> Option<Latency> {
    (!h.is_empty()).then(|| Latency {
        min: ms(h.min()),
        avg: round3(h.mean() / 1000.0),
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    })
}

/// The stats of one request name (or `all`) from its recording, over `duration_s` seconds.
pub fn stats(
    name: &str,
    method: &str,
    s: &Sample,
    skipped: u64,
    duration_s: f64,
) -> OperationStats {
    let requests = s.successes + s.failures;
    OperationStats {
        name: name.to_owned(),
        method: method.to_owned(),
        requests,
        successes: s.successes,
        failures: s.failures,
        skipped,
        rps: per_second(requests, duration_s),
        error_rate_pct: if requests == 0 {
            0.0
        } else {
            round3(s.failures as f64 * 100.0 / requests as f64)
        },
        latency_ms: summarize(&s.latency),
        headers_ms: summarize(&s.headers),
        service_ms: s.service.as_ref().and_then(summarize),
        histogram: record::encode(&s.latency),
        headers_histogram: record::encode(&s.headers),
        service_histogram: s.service.as_ref().map(record::encode),
        status_codes: s.status_codes.clone(),
    }
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

fn per_second(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round3(n as f64 / seconds)
    } else {
        0.0
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl LoadResults {
    /// The stats of a request name, or of every request together for `None`.
    pub fn stats(&self, request: Option<&str>) -> Option<&OperationStats> {
        match request {
            None => Some(&self.total),
            Some(name) => self.operations.iter().find(|o| o.name == name),
        }
    }
}

// The capacity search's data (`load::capacity` runs it): what the JSON report carries.

/// How the rate grows from one climbing step to the next.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Growth {
    /// Multiplied by this factor (> 1).
    Factor(f64),
    /// Increased by this many arrivals per second (> 0).
    Step(f64),
}

/// The shape of a search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchParams {
    /// Arrival rate of the first step, per second.
    pub start_per_s: f64,
    pub growth: Growth,
    /// Measured seconds of each step.
    pub step_s: f64,
    /// Seconds of each step before its measured window (not measured).
    pub warmup_s: f64,
    /// Climbing steps at most (the first included).
    pub max_steps: usize,
    /// Bisection rounds between the last good and the first bad rate.
    pub refine: usize,
    /// Runs of a broken step again before it counts as broken (a rate holds when any run held).
    #[serde(default)]
    pub confirm: usize,
}

/// Whether a step was one of the climb or of the refinement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Climb,
    Refine,
}

/// Why a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// A step broke an objective; the refinement is done.
    Broken,
    /// The first step already broke an objective: no rate holds.
    FirstStepFailed,
    /// Every climbing step held: the answer is a lower bound (raise `--max-steps`).
    MaxSteps,
    /// A signal stopped the search; what was measured is reported.
    Interrupted,
    /// A step could not judge the target (it did not answer the probe).
    Error,
}

/// One measured step, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// 1, 2, … in the order run.
    pub step: usize,
    pub phase: Phase,
    /// Offered arrival rate, per second.
    pub rate_per_s: f64,
    /// Every objective held (and nothing was dropped).
    pub passed: bool,
    /// A signal cut the step short: neither held nor broken.
    pub interrupted: bool,
    /// Successful headline requests (logins) per second in the step's measured window.
    pub headline_per_s: Option<f64>,
    pub requests: u64,
    pub failures: u64,
    pub error_rate_pct: f64,
    /// Arrivals that found no free user (they break the step).
    pub dropped: u64,
    /// Seconds of the step's measured window.
    pub duration_s: f64,
    /// The first latency objective's observed value in milliseconds (the plot's y).
    pub latency_ms: Option<f64>,
    /// Every objective's outcome at this step.
    pub thresholds: Vec<ThresholdOutcome>,
}

/// A whole search, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// The objectives each step was held to, as written (`errors<1%` added when none judges errors).
    pub objectives: Vec<String>,
    /// The first latency objective (`login:p95<250ms`), whose values the plot shows.
    pub latency_objective: Option<String>,
    pub search: SearchParams,
    /// Pool of users serving each step's arrivals.
    pub users: usize,
    /// The longest the search could take, seconds (printed before it starts).
    pub bound_s: u64,
    pub steps: Vec<CapacityStep>,
    /// The highest offered rate that held.
    pub max_rate_per_s: Option<f64>,
    /// Successful headline requests per second measured at that rate: the answer.
    pub max_headline_per_s: Option<f64>,
    /// The lowest offered rate that broke an objective.
    pub broke_at_per_s: Option<f64>,
    pub stopped: Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_per_operation_and_total_stats() {
        let info = RunInfo {
            scenario: "s".into(),
            spec: "drf-sessions".into(),
            headline: Some("login".into()),
            skipped: HashMap::from([("list".to_string(), 2)]),
            ..RunInfo::default()
        };
        let login = Sample::of(9, 1, &[10_000; 10], &[(201, 9), (500, 1)]);
        let list = Sample::of(10, 0, &[2_000; 10], &[(200, 10)]);
        let r = build(
            &info,
            vec![
                ("login".into(), "POST".into(), login),
                ("list".into(), "GET".into(), list),
            ],
            2.0,
            4,
            vec![],
        );
        assert_eq!(r.operations.len(), 2);
        let login = r.stats(Some("login")).unwrap();
        assert_eq!((login.requests, login.failures), (10, 1));
        assert_eq!(login.rps, 5.0);
        assert_eq!(login.error_rate_pct, 10.0);
        assert_eq!(login.latency_ms.unwrap().max, 10.007);
        let h = r.headline.clone().unwrap();
        assert_eq!((h.successes, h.per_second), (9, 4.5));
        assert_eq!(r.total.requests, 20);
        assert_eq!(r.total.skipped, 2);
        assert_eq!(r.total.status_codes.get(&201), Some(&9));
        let total = r.total.latency_ms.unwrap();
        assert_eq!((total.min, total.max), (2.0, 10.007));
        assert!(total.p50 <= total.p95 && total.p95 <= total.max);
        assert_eq!(r.verdict, Verdict::Pass);
        // The histograms carried by the results give back the same stats.
        let back = record::decode(&r.total.histogram).unwrap();
        assert_eq!(back.len(), 20);
        assert_eq!(summarize(&back), r.total.latency_ms);
        assert_eq!(r.latency_from, LatencyFrom::Send);
        assert_eq!(r.total.service_ms, None);
    }

    #[test]
    fn no_requests_no_latency() {
        let r = build(
            &RunInfo::default(),
            vec![("x".into(), "GET".into(), Sample::empty(false))],
            0.0,
            0,
            vec![],
        );
        assert_eq!(r.operations[0].latency_ms, None);
        assert_eq!(r.operations[0].rps, 0.0);
    }
}
