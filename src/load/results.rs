//! The results of a load run as plain data, taken from goose's metrics: per request name the
//! count, rate, latency percentiles, status codes and errors, and the headline (logins per
//! second). This is what the terminal summary, the JSON and Markdown reports and the thresholds
//! read.

use std::collections::{BTreeMap, HashMap};

use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData, TimeBuckets};
use goose::test_plan::{TestPlanHistory, TestPlanStepAction};
use serde::{Deserialize, Serialize};

pub use crate::verdict::Verdict;

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResults {
    pub scenario: String,
    pub spec: String,
    /// Base URL the load went to.
    pub target: String,
    /// Most users running at once.
    pub users: usize,
    /// Seconds the measured window lasted (after ramp-up unless iterations were counted).
    pub duration_s: f64,
    /// Coordinated omission mitigation used for the latencies: disabled, average, minimum, maximum.
    pub co_mitigation: String,
    /// `SIGINT` or `SIGTERM` when the run was cut short; what was measured until then is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Why the run could not judge the target (it did not answer the probe); nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Timeout of one request, in milliseconds.
    #[serde(default)]
    pub timeout_ms: u64,
    /// Requests still waiting for their response when the run ended, abandoned (not counted as
    /// successes or failures).
    #[serde(default)]
    pub cancelled: u64,
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
    /// Response times to the response headers, in milliseconds; `None` without requests.
    pub latency_ms: Option<Latency>,
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
}

/// What the results need besides goose's metrics.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub scenario: String,
    pub spec: String,
    pub target: String,
    /// `(name, METHOD)` of every request, in scenario order.
    pub requests: Vec<(String, String)>,
    pub headline: Option<String>,
    pub co_mitigation: String,
    /// Whether goose reset its metrics when all users were launched (run-time mode).
    pub metrics_reset: bool,
    pub skipped: HashMap<String, u64>,
    pub interrupted: Option<String>,
    /// Why nothing was sent (the probe failed).
    pub error: Option<String>,
    pub timeout_ms: u64,
    /// Requests abandoned in flight when the run ended.
    pub cancelled: u64,
}

/// One request name's raw measurements, as goose keeps them.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub successes: u64,
    pub failures: u64,
    pub timing: GooseRequestMetricTimingData,
    pub status_codes: BTreeMap<u16, u64>,
}

/// Builds the results from goose's metrics (thresholds are evaluated later by the caller).
pub fn collect(metrics: &GooseMetrics, info: &RunInfo) -> LoadResults {
    let mitigated = info.co_mitigation != "disabled";
    let samples: Vec<(String, String, Sample)> = info
        .requests
        .iter()
        .map(|(name, method)| {
            let sample = metrics
                .requests
                .get(&format!("{method} {name}"))
                .map(|agg| Sample {
                    successes: agg.success_count as u64,
                    failures: agg.fail_count as u64,
                    timing: match (&agg.coordinated_omission_data, mitigated) {
                        (Some(co), true) => co.clone(),
                        _ => agg.raw_data.clone(),
                    },
                    status_codes: agg
                        .status_code_counts
                        .iter()
                        .map(|(k, v)| (*k, *v as u64))
                        .collect(),
                })
                .unwrap_or_default();
            (name.clone(), method.clone(), sample)
        })
        .collect();
    let duration_s =
        measured_seconds(&metrics.history, info.metrics_reset).unwrap_or(metrics.duration as f64);
    let errors = metrics
        .errors
        .values()
        .map(|e| ErrorCount {
            request: e.name.clone(),
            error: e.error.clone(),
            count: e.occurrences as u64,
        })
        .collect();
    build(info, samples, duration_s, metrics.maximum_users, errors)
}

/// The pure part of [`collect`]: from per-request samples to results.
pub fn build(
    info: &RunInfo,
    samples: Vec<(String, String, Sample)>,
    duration_s: f64,
    users: usize,
    errors: Vec<ErrorCount>,
) -> LoadResults {
    let mut all = Sample::default();
    let mut buckets: BTreeMap<u64, usize> = BTreeMap::new();
    let mut operations = Vec::new();
    for (name, method, s) in &samples {
        all.successes += s.successes;
        all.failures += s.failures;
        for (code, n) in &s.status_codes {
            *all.status_codes.entry(*code).or_default() += n;
        }
        merge_timing(&mut all.timing, &mut buckets, &s.timing);
        let skipped = info.skipped.get(name).copied().unwrap_or(0);
        operations.push(stats(name, method, s, skipped, duration_s));
    }
    all.timing.times_us = buckets.into_iter().collect::<TimeBuckets>();
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
        scenario: info.scenario.clone(),
        spec: info.spec.clone(),
        target: info.target.clone(),
        users,
        duration_s: round3(duration_s),
        co_mitigation: info.co_mitigation.clone(),
        interrupted: info.interrupted.clone(),
        error: info.error.clone(),
        timeout_ms: info.timeout_ms,
        cancelled: info.cancelled,
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
    }
}

fn merge_timing(
    into: &mut GooseRequestMetricTimingData,
    buckets: &mut BTreeMap<u64, usize>,
    from: &GooseRequestMetricTimingData,
) {
    if from.counter == 0 {
        return;
    }
    for (b, n) in from.times_us.iter() {
        *buckets.entry(*b).or_default() += n;
    }
    if into.counter == 0 || from.minimum_time_us < into.minimum_time_us {
        into.minimum_time_us = from.minimum_time_us;
    }
    into.maximum_time_us = into.maximum_time_us.max(from.maximum_time_us);
    into.total_time_us += from.total_time_us;
    into.counter += from.counter;
}

fn stats(name: &str, method: &str, s: &Sample, skipped: u64, duration_s: f64) -> OperationStats {
    let requests = s.successes + s.failures;
    let latency_ms = (s.timing.counter > 0).then(|| {
        let t = &s.timing;
        let ms = |us: u64| round3(us as f64 / 1000.0);
        Latency {
            min: ms(t.minimum_time_us),
            avg: round3(t.total_time_us as f64 / t.counter as f64 / 1000.0),
            p50: ms(t.percentile_us(0.50)),
            p90: ms(t.percentile_us(0.90)),
            p95: ms(t.percentile_us(0.95)),
            p99: ms(t.percentile_us(0.99)),
            max: ms(t.maximum_time_us),
        }
    });
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
        latency_ms,
        status_codes: s.status_codes.clone(),
    }
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

/// Seconds of the window goose counted requests in: from the start of the steady phase when
/// metrics were reset after ramp-up, else from the first step, to the end of the run.
pub fn measured_seconds(history: &[TestPlanHistory], metrics_reset: bool) -> Option<f64> {
    let start = if metrics_reset {
        history
            .iter()
            .find(|h| matches!(h.action, TestPlanStepAction::Maintaining))
            .or_else(|| history.first())?
    } else {
        history.first()?
    };
    let end = history.last()?;
    let micros = (end.timestamp - start.timestamp).num_microseconds()?;
    (micros > 0).then(|| micros as f64 / 1e6)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(times_us: &[u64]) -> GooseRequestMetricTimingData {
        let mut buckets: BTreeMap<u64, usize> = BTreeMap::new();
        for t in times_us {
            *buckets.entry(*t).or_default() += 1;
        }
        GooseRequestMetricTimingData {
            times_us: buckets.into_iter().collect(),
            minimum_time_us: *times_us.iter().min().unwrap_or(&0),
            maximum_time_us: *times_us.iter().max().unwrap_or(&0),
            total_time_us: times_us.iter().sum(),
            counter: times_us.len(),
        }
    }

    #[test]
    fn builds_per_operation_and_total_stats() {
        let info = RunInfo {
            scenario: "s".into(),
            spec: "drf-sessions".into(),
            headline: Some("login".into()),
            co_mitigation: "disabled".into(),
            skipped: HashMap::from([("list".to_string(), 2)]),
            ..RunInfo::default()
        };
        let login = Sample {
            successes: 9,
            failures: 1,
            timing: timing(&[10_000; 10]),
            status_codes: BTreeMap::from([(201, 9), (500, 1)]),
        };
        let list = Sample {
            successes: 10,
            failures: 0,
            timing: timing(&[2_000; 10]),
            status_codes: BTreeMap::from([(200, 10)]),
        };
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
        assert_eq!(login.latency_ms.unwrap().max, 10.0);
        let h = r.headline.unwrap();
        assert_eq!((h.successes, h.per_second), (9, 4.5));
        assert_eq!(r.total.requests, 20);
        assert_eq!(r.total.skipped, 2);
        assert_eq!(r.total.status_codes.get(&201), Some(&9));
        let total = r.total.latency_ms.unwrap();
        assert_eq!((total.min, total.max), (2.0, 10.0));
        assert!(total.p50 <= total.p95 && total.p95 <= total.max);
        assert_eq!(r.verdict, Verdict::Pass);
    }

    #[test]
    fn no_requests_no_latency() {
        let r = build(
            &RunInfo::default(),
            vec![("x".into(), "GET".into(), Sample::default())],
            0.0,
            0,
            vec![],
        );
        assert_eq!(r.operations[0].latency_ms, None);
        assert_eq!(r.operations[0].rps, 0.0);
    }
}
