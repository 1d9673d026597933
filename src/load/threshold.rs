//! k6-style thresholds that turn a load run into a CI gate.
//!
//! Grammar: `[REQUEST:]METRIC OP VALUE`, e.g. `login:p95<250ms`, `errors<1%`, `login:rps>=50`,
//! `p99<1s`, `list:errors<=0`.
//! - `REQUEST`: a request name of the scenario; without it the metric covers every request.
//! - `METRIC`: `p50` `p90` `p95` `p99` `max` `avg` (latency: `us`, `ms` or `s`, a bare number is
//!   milliseconds), `rps` (requests per second), `errors` (`N%` of requests, or a bare count).
//! - `OP`: `<` `<=` `>` `>=`.
//!
//! A threshold naming an unknown request or metric is an error before the run, never a silent
//! pass; a latency threshold over a request that was never made fails ("no samples").

use super::results::{Gate, LoadResults, Model, OperationStats, ThresholdOutcome};
use crate::verdict::Verdict;

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written (trimmed).
    pub text: String,
    /// The request it judges; `None` for every request together.
    pub request: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// The limit: milliseconds for latency, requests per second for `rps`, percent or count for `errors`.
    pub limit: f64,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    Max,
    Avg,
    Rps,
    /// Failed requests as a percentage of all requests.
    ErrorRate,
    /// Failed requests, counted.
    ErrorCount,
    /// Successful responses, counted.
    Successes,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Max => "max",
            Metric::Avg => "avg",
            Metric::Rps => "rps",
            Metric::ErrorRate | Metric::ErrorCount => "errors",
            Metric::Successes => "successes",
        }
    }

    fn is_latency(self) -> bool {
        matches!(
            self,
            Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::Max | Metric::Avg
        )
    }
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }
}

/// A threshold that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold `{text}`: no comparison; write e.g. `login:p95<250ms` or `errors<1%` (operators: < <= > >=)")]
    NoOperator { text: String },
    #[error("threshold `{text}`: unknown metric `{metric}`; use p50, p90, p95, p99, max, avg, rps or errors")]
    UnknownMetric { text: String, metric: String },
    #[error("threshold `{text}`: `{value}` is not {expected}")]
    BadValue {
        text: String,
        value: String,
        expected: &'static str,
    },
    #[error(
        "threshold `{text}`: no request named `{request}` in this scenario (requests: {known})"
    )]
    UnknownRequest {
        text: String,
        request: String,
        known: String,
    },
}

impl Threshold {
    /// Parses one expression.
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let text = text.trim();
        let err_text = || text.to_owned();
        let at = text
            .find(['<', '>'])
            .ok_or_else(|| ThresholdError::NoOperator { text: err_text() })?;
        let (lhs, rest) = text.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else {
            return Err(ThresholdError::NoOperator { text: err_text() });
        };
        let (request, metric_text) = match lhs.split_once(':') {
            Some((r, m)) => (Some(r.trim()), m.trim()),
            None => (None, lhs.trim()),
        };
        if request.is_some_and(str::is_empty) {
            return Err(ThresholdError::UnknownRequest {
                text: err_text(),
                request: String::new(),
                known: "a request name goes before `:`".into(),
            });
        }
        let value = value.trim();
        let bad = |expected| ThresholdError::BadValue {
            text: err_text(),
            value: value.to_owned(),
            expected,
        };
        let (metric, limit) = match metric_text.to_ascii_lowercase().as_str() {
            m @ ("p50" | "p90" | "p95" | "p99" | "max" | "avg") => {
                let metric = match m {
                    "p50" => Metric::P50,
                    "p90" => Metric::P90,
                    "p95" => Metric::P95,
                    "p99" => Metric::P99,
                    "max" => Metric::Max,
                    _ => Metric::Avg,
                };
                let ms =
                    parse_millis(value).ok_or_else(|| bad("a time such as 250ms, 1s or 800us"))?;
                (metric, ms)
            }
            "rps" => {
                let n = value.strip_suffix("/s").unwrap_or(value).trim();
                (
                    Metric::Rps,
                    number(n).ok_or_else(|| bad("a rate such as 50 or 12.5/s"))?,
                )
            }
            "successes" => (
                Metric::Successes,
                number(value)
                    .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                    .ok_or_else(|| bad("a whole count such as 1"))?,
            ),
            "errors" => match value.strip_suffix('%') {
                Some(p) => (
                    Metric::ErrorRate,
                    number(p.trim())
                        .filter(|p| *p <= 100.0)
                        .ok_or_else(|| bad("a percentage from 0% to 100% or a count"))?,
                ),
                None => (
                    Metric::ErrorCount,
                    number(value)
                        .filter(|n| n.fract() == 0.0)
                        .ok_or_else(|| bad("a percentage such as 1% or a whole count such as 0"))?,
                ),
            },
            _ => {
                return Err(ThresholdError::UnknownMetric {
                    text: err_text(),
                    metric: metric_text.to_owned(),
                })
            }
        };
        Ok(Threshold {
            text: text.to_owned(),
            request: request.map(str::to_owned),
            metric,
            op,
            limit,
        })
    }

    /// Fails when the threshold names a request the scenario does not make.
    pub fn check_names(&self, requests: &[String]) -> Result<(), ThresholdError> {
        match &self.request {
            Some(r) if !requests.iter().any(|k| k == r) => Err(ThresholdError::UnknownRequest {
                text: self.text.clone(),
                request: r.clone(),
                known: requests.join(", "),
            }),
            _ => Ok(()),
        }
    }

    /// Judges the threshold against a run's results.
    pub fn evaluate(&self, results: &LoadResults) -> ThresholdOutcome {
        let outcome = |passed: bool, observed: String| ThresholdOutcome {
            threshold: self.text.clone(),
            passed,
            observed,
            gate: Gate::Given,
        };
        let Some(stats) = results.stats(self.request.as_deref()) else {
            return outcome(false, "no such request in the results".into());
        };
        match self.observe(stats) {
            Some((value, shown)) => outcome(self.op.holds(value, self.limit), shown),
            None => outcome(false, format!("{}: no samples", self.metric.name())),
        }
    }

    /// The observed value and how to show it; `None` when nothing was measured.
    fn observe(&self, s: &OperationStats) -> Option<(f64, String)> {
        let name = self.metric.name();
        if self.metric.is_latency() {
            let l = s.latency_ms?;
            let v = match self.metric {
                Metric::P50 => l.p50,
                Metric::P90 => l.p90,
                Metric::P95 => l.p95,
                Metric::P99 => l.p99,
                Metric::Max => l.max,
                _ => l.avg,
            };
            return Some((v, format!("{name} = {v}ms")));
        }
        match self.metric {
            Metric::Rps => Some((s.rps, format!("rps = {}", s.rps))),
            Metric::Successes => Some((
                s.successes as f64,
                format!("successes = {} of {}", s.successes, s.requests),
            )),
            Metric::ErrorRate => (s.requests > 0).then(|| {
                (
                    s.error_rate_pct,
                    format!(
                        "errors = {}% ({} of {})",
                        s.error_rate_pct, s.failures, s.requests
                    ),
                )
            }),
            _ => Some((s.failures as f64, format!("errors = {}", s.failures))),
        }
    }

    /// `login:p95 < 250ms` in a canonical form (for messages).
    pub fn describe(&self) -> String {
        let target = self
            .request
            .as_deref()
            .map_or(String::new(), |r| format!("{r}:"));
        format!(
            "{target}{} {} {}",
            self.metric.name(),
            self.op.as_str(),
            self.limit
        )
    }
}

fn number(s: &str) -> Option<f64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// `250ms`, `1.5s`, `800us`/`800µs`, or a bare number of milliseconds.
fn parse_millis(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("us").or_else(|| s.strip_suffix("µs")) {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    number(num.trim()).map(|v| v * factor)
}

/// Parses every expression and checks its request names; all problems, not just the first.
pub fn parse_all(
    texts: &[String],
    requests: &[String],
) -> Result<Vec<Threshold>, Vec<ThresholdError>> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for t in texts {
        match Threshold::parse(t).and_then(|th| th.check_names(requests).map(|()| th)) {
            Ok(th) => ok.push(th),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

/// The gate of a run that sets no threshold of its own: the headline request (or, without one,
/// any request) succeeded at least once, and fewer than 1 % of requests failed.
pub fn default_gate(headline: Option<&str>) -> Vec<Threshold> {
    let first = match headline {
        Some(h) => format!("{h}:successes>=1"),
        None => "successes>=1".to_owned(),
    };
    [first.as_str(), "errors<1%"]
        .into_iter()
        .filter_map(|t| Threshold::parse(t).ok())
        .collect()
}

/// Evaluates the thresholds into the results and sets the verdict:
/// - `error` when the run could not judge the target (the probe failed);
/// - `interrupted` when a signal cut the run short;
/// - `fail` when a threshold was violated, and always when not one request succeeded (a run in
///   which everything failed never passes, whatever its thresholds say);
/// - `pass` otherwise.
///
/// `thresholds` empty and `default_gate` true: [`default_gate`] judges the run.
pub fn judge(results: &mut LoadResults, thresholds: &[Threshold], default_gate: bool) {
    if results.error.is_some() {
        // Nothing was measured: no threshold can be judged.
        results.thresholds.clear();
        results.verdict = Verdict::Error;
        return;
    }
    let defaults;
    let (judged, gate) = if thresholds.is_empty() && default_gate {
        defaults = self::default_gate(results.headline.as_ref().map(|h| h.request.as_str()));
        (defaults.as_slice(), Gate::Default)
    } else {
        (thresholds, Gate::Given)
    };
    results.thresholds = judged
        .iter()
        .map(|t| ThresholdOutcome {
            gate,
            ..t.evaluate(results)
        })
        .collect();
    if results.plan.model == Model::Open && !results.plan.allow_dropped {
        let n = results.dropped;
        results.thresholds.push(ThresholdOutcome {
            threshold: "dropped<=0".into(),
            passed: n == 0,
            observed: format!(
                "{n} arrival{} found no free user of {}",
                if n == 1 { "" } else { "s" },
                results.plan.users
            ),
            gate: Gate::Dropped,
        });
    }
    if results.error.is_none() && results.total.successes == 0 {
        results.thresholds.push(ThresholdOutcome {
            threshold: "successes>=1".into(),
            passed: false,
            observed: format!(
                "not one of {} request{} succeeded",
                results.total.requests,
                if results.total.requests == 1 { "" } else { "s" }
            ),
            gate: Gate::Always,
        });
    }
    results.verdict = if results.error.is_some() {
        Verdict::Error
    } else if results.interrupted.is_some() {
        Verdict::Interrupted
    } else if results.thresholds.iter().any(|t| !t.passed) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::results::{build, Model, RunInfo, Sample};

    #[test]
    fn parses_the_documented_forms() {
        let t = Threshold::parse("login:p95<250ms").unwrap();
        assert_eq!(t.request.as_deref(), Some("login"));
        assert_eq!((t.metric, t.op, t.limit), (Metric::P95, Op::Lt, 250.0));
        let t = Threshold::parse(" errors < 1% ").unwrap();
        assert_eq!(
            (t.request, t.metric, t.limit),
            (None, Metric::ErrorRate, 1.0)
        );
        let t = Threshold::parse("login:rps>=50").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rps, Op::Ge, 50.0));
        assert_eq!(Threshold::parse("p99<1s").unwrap().limit, 1000.0);
        assert_eq!(Threshold::parse("max<=800us").unwrap().limit, 0.8);
        assert_eq!(Threshold::parse("avg>2").unwrap().limit, 2.0);
        let t = Threshold::parse("list:errors<=0").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::ErrorCount, Op::Le, 0.0));
        assert_eq!(Threshold::parse("rps>12.5/s").unwrap().limit, 12.5);
        assert_eq!(t.describe(), "list:errors <= 0");
    }

    #[test]
    fn refuses_what_it_cannot_judge() {
        assert!(matches!(
            Threshold::parse("login:p97<1s"),
            Err(ThresholdError::UnknownMetric { .. })
        ));
        assert!(matches!(
            Threshold::parse("latency<1s"),
            Err(ThresholdError::UnknownMetric { .. })
        ));
        assert!(matches!(
            Threshold::parse("p95 250ms"),
            Err(ThresholdError::NoOperator { .. })
        ));
        assert!(matches!(
            Threshold::parse("p95=250ms"),
            Err(ThresholdError::NoOperator { .. })
        ));
        assert!(matches!(
            Threshold::parse("p95<fast"),
            Err(ThresholdError::BadValue { .. })
        ));
        assert!(matches!(
            Threshold::parse("p95<-1ms"),
            Err(ThresholdError::BadValue { .. })
        ));
        assert!(matches!(
            Threshold::parse("errors<150%"),
            Err(ThresholdError::BadValue { .. })
        ));
        assert!(matches!(
            Threshold::parse("errors<0.5"),
            Err(ThresholdError::BadValue { .. })
        ));
        assert!(matches!(
            Threshold::parse(":p95<1s"),
            Err(ThresholdError::UnknownRequest { .. })
        ));
        let known = vec!["login".to_string(), "logout".to_string()];
        let e = Threshold::parse("lgin:p95<1s")
            .unwrap()
            .check_names(&known)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "threshold `lgin:p95<1s`: no request named `lgin` in this scenario (requests: login, logout)"
        );
        let errs = parse_all(
            &["lgin:p95<1s".into(), "p95<x".into(), "p95<1s".into()],
            &known,
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2);
    }

    fn results() -> LoadResults {
        let info = RunInfo {
            headline: Some("login".into()),
            ..RunInfo::default()
        };
        build(
            &info,
            vec![
                (
                    "login".into(),
                    "POST".into(),
                    Sample::of(99, 1, &[300_000; 100], &[(201, 99), (500, 1)]),
                ),
                ("logout".into(), "DELETE".into(), Sample::empty(false)),
            ],
            10.0,
            2,
            vec![],
        )
    }

    #[test]
    fn dropped_arrivals_fail_an_open_run_unless_allowed() {
        let mut r = results();
        r.plan.model = Model::Open;
        r.dropped = 3;
        judge(&mut r, &[], true);
        let d = r
            .thresholds
            .iter()
            .find(|t| t.gate == Gate::Dropped)
            .unwrap();
        assert!(!d.passed);
        assert_eq!(d.observed, "3 arrivals found no free user of 0");
        assert_eq!(r.verdict, Verdict::Fail);
        r.plan.allow_dropped = true;
        judge(&mut r, &[Threshold::parse("login:p95<1s").unwrap()], true);
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.thresholds);
        r.plan.allow_dropped = false;
        r.dropped = 0;
        judge(&mut r, &[Threshold::parse("login:p95<1s").unwrap()], true);
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.thresholds);
    }

    #[test]
    fn evaluates_both_ways() {
        let r = results();
        let judge = |t: &str| Threshold::parse(t).unwrap().evaluate(&r);
        assert!(!judge("login:p95<250ms").passed);
        assert!(judge("login:p95<1s").passed);
        assert_eq!(judge("login:p95<1s").observed, "p95 = 300.031ms");
        assert!(!judge("errors<1%").passed);
        assert!(judge("errors<=1%").passed);
        assert!(judge("login:rps>=10").passed);
        assert!(!judge("login:rps>10").passed);
        assert!(!judge("login:errors<=0").passed);
        assert!(judge("logout:errors<=0").passed);
        let none = judge("logout:p99<1s");
        assert!(!none.passed);
        assert_eq!(none.observed, "p99: no samples");
        assert!(!judge("logout:errors<1%").passed);
        assert!(judge("p99<1s").passed);
        assert!(!judge("max<100").passed);
    }
}
