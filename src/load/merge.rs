//! `sessionspec merge`: the JSON reports of the shards of one distributed run
//! ([`super::shard`]) added up into the report of the whole run, exactly.
//!
//! - Histograms are HdrHistograms of microseconds; they are decoded, checked to have the same
//!   bucket configuration (lowest and highest trackable value, significant figures) and added:
//!   the merged percentiles are those of one histogram fed every sample, not an average of
//!   percentiles.
//! - Counters, status codes, skipped steps, cancelled requests, dropped arrivals and errors are
//!   summed; the per-second series is aligned by wall-clock second.
//! - Rates: a request's `rps` is the sum of the shards' (each over its own window); the headline
//!   (logins/s) counts the headline successes of the series' whole seconds inside the overlap of
//!   the shards' windows, divided by those seconds (when the overlap holds no whole second, it is
//!   the sum of the shards' own rates, and `merged.headline_seconds` is 0).
//! - The thresholds the shards were judged by (the scenario's and their command line's, read back
//!   from their reports) and the merge's own are judged again on the merged data by the same
//!   [`judge`] as a run; a shard's own verdict counts for nothing.
//!
//! Reports of different scenarios, specs, models or format versions are refused, and so are a
//! shard index given twice and a missing one.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

use super::record::{self, RequestRecord};
use super::results::{
    self, ErrorCount, Gate, LoadResults, Model, PlanSummary, RunInfo, SeriesPoint, FORMAT_VERSION,
};
use super::shard::{parse_rfc3339, rfc3339, MergeInfo, ShardInfo};
use super::threshold::{judge, parse_all};
use crate::document::{self, LazySchema, Schema};

/// The load report's JSON Schema.
pub const SCHEMA_TEXT: &str = include_str!("../../reports/schema/load-report.schema.json");

static SCHEMA: LazySchema = LazySchema::new(|| Schema::compile("load report", SCHEMA_TEXT));

/// Largest report read (a report carries a histogram per request and per second).
const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// One shard's report and where it came from.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, as shown in messages.
    pub path: String,
    pub results: LoadResults,
}

/// Why the reports cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// A report that does not read (one line per problem, `file:line:column: /pointer: …`).
    #[error("{}", .0.join("\n"))]
    Unreadable(Vec<String>),
    #[error("nothing to merge: give the JSON reports of every shard")]
    Empty,
    #[error("{path}: format_version {found}, but this sessionspec merges format_version {expected}: merge reports written by one version")]
    FormatVersion {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error("{path}: {what} `{found}`, but {first} has {what} `{expected}`: merge the shards of one run")]
    Different {
        path: String,
        first: String,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error("{path} is not the report of a shard (it has no `shard`): run each process with `load --shard I/N`")]
    NotAShard { path: String },
    #[error("shard {index}/{count} is given twice: {first} and {second}")]
    Duplicate {
        index: usize,
        count: usize,
        first: String,
        second: String,
    },
    #[error("{path}: shard {index}/{count} ran users {first}..={last}, but {other} (shard {other_index}) ran {other_first}..={other_last}: the shards ran with different --users")]
    Users {
        path: String,
        index: usize,
        count: usize,
        first: usize,
        last: usize,
        other: String,
        other_index: usize,
        other_first: usize,
        other_last: usize,
    },
    #[error("{} of {count} missing (no report given): merge every shard's report", missing_list(.missing))]
    Missing { missing: Vec<usize>, count: usize },
    #[error("{path}: {pointer}: {message}")]
    Histogram {
        path: String,
        pointer: String,
        message: String,
    },
    #[error("{0}")]
    Threshold(String),
}

fn missing_list(missing: &[usize]) -> String {
    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "shard{} {}",
        if missing.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// Reads a JSON load report: JSON, the report's schema, then the results; every problem with
/// its `file:line:column` and JSON pointer.
pub fn read_report(path: &Path) -> Result<LoadResults, MergeError> {
    let shown = path.display().to_string();
    let unreadable = |e: String| MergeError::Unreadable(vec![e]);
    let file =
        std::fs::File::open(path).map_err(|e| unreadable(format!("{shown}: cannot read: {e}")))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_REPORT_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| unreadable(format!("{shown}: cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(unreadable(format!(
            "{shown}: larger than {} MiB: not a load report",
            MAX_REPORT_BYTES / 1024 / 1024
        )));
    }
    document::load::<LoadResults>(path, &bytes, &SCHEMA, |_, _| Vec::new())
        .map(|d| d.value)
        .map_err(|es| MergeError::Unreadable(es.iter().map(ToString::to_string).collect()))
}

/// Merges the shards' results and judges the merged run by the thresholds the shards were
/// judged by plus `thresholds` (the merge's command line). `default_gate` false drops the
/// default gate even where the shards used it.
pub fn merge(
    mut inputs: Vec<Input>,
    thresholds: &[String],
    default_gate: bool,
) -> Result<LoadResults, Vec<MergeError>> {
    let first = inputs.first().ok_or_else(|| vec![MergeError::Empty])?;
    let (first_path, first_r) = (first.path.clone(), first.results.clone());
    let shards = check_compatible(&inputs, &first_path, &first_r).map_err(|e| vec![e])?;
    inputs.sort_by_key(|i| i.results.shard.as_ref().map_or(0, |s| s.index));

    let requests: Vec<(String, String)> = first_r
        .operations
        .iter()
        .map(|o| (o.name.clone(), o.method.clone()))
        .collect();
    let open = first_r.plan.model == Model::Open;
    let mut samples: Vec<RequestRecord> = Vec::new();
    let mut skipped: HashMap<String, u64> = HashMap::new();
    let mut rps = vec![0.0; requests.len()];
    let mut total_rps = 0.0;
    let mut errors: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut series: BTreeMap<u64, SeriesAcc> = BTreeMap::new();
    let mut like: Option<Histogram<u64>> = None;
    for input in &inputs {
        let r = &input.results;
        let ops: Vec<(String, String)> = r
            .operations
            .iter()
            .map(|o| (o.name.clone(), o.method.clone()))
            .collect();
        if ops != requests {
            return Err(vec![MergeError::Different {
                path: input.path.clone(),
                first: first_path.clone(),
                what: "requests",
                found: names(&ops),
                expected: names(&requests),
            }]);
        }
        let mut decode = |pointer: String, text: &str| -> Result<Histogram<u64>, MergeError> {
            let h = record::decode(text).map_err(|message| MergeError::Histogram {
                path: input.path.clone(),
                pointer: pointer.clone(),
                message,
            })?;
            match &like {
                None => like = Some(h.clone()),
                Some(l) => {
                    if (l.low(), l.high(), l.sigfig()) != (h.low(), h.high(), h.sigfig()) {
                        return Err(MergeError::Histogram {
                            path: input.path.clone(),
                            pointer,
                            message: format!(
                                "buckets {}..{} µs at {} significant figures, but {} has {}..{} µs at {}: cannot add them exactly",
                                h.low(), h.high(), h.sigfig(), first_path, l.low(), l.high(), l.sigfig()
                            ),
                        });
                    }
                }
            }
            Ok(h)
        };
        for (i, o) in r.operations.iter().enumerate() {
            let at = |field: &str| format!("/operations/{i}/{field}");
            let rec = RequestRecord {
                latency: decode(at("histogram"), &o.histogram).map_err(|e| vec![e])?,
                headers: decode(at("headers_histogram"), &o.headers_histogram)
                    .map_err(|e| vec![e])?,
                service: match (&o.service_histogram, open) {
                    (Some(s), true) => {
                        Some(decode(at("service_histogram"), s).map_err(|e| vec![e])?)
                    }
                    _ => None,
                },
                successes: o.successes,
                failures: o.failures,
                status_codes: o.status_codes.clone(),
            };
            match samples.get_mut(i) {
                Some(acc) => add(acc, &rec)
                    .map_err(|m| vec![hist_error(&input.path, &at("histogram"), m)])?,
                None => samples.push(rec),
            }
            *skipped.entry(o.name.clone()).or_default() += o.skipped;
            rps[i] += o.rps;
        }
        total_rps += r.total.rps;
        for e in &r.errors {
            *errors
                .entry((e.request.clone(), e.error.clone()))
                .or_default() += e.count;
        }
        for (k, p) in r.series.iter().enumerate() {
            let h = decode(format!("/series/{k}/histogram"), &p.histogram).map_err(|e| vec![e])?;
            let acc = series
                .entry(p.t)
                .or_insert_with(|| SeriesAcc::new(h.clone()));
            if acc.count > 0 {
                acc.histogram
                    .add(&h)
                    .map_err(|e| vec![hist_error(&input.path, "/series", format!("{e:?}"))])?;
            }
            acc.count += 1;
            acc.requests += p.requests;
            acc.errors += p.errors;
            acc.successes += p.successes;
            acc.users += p.users;
            acc.dropped += p.dropped;
            acc.measured |= p.measured;
        }
    }

    let window = Window::of(&shards);
    let series: Vec<SeriesPoint> = series.into_iter().map(|(t, a)| a.point(t)).collect();
    let duration_s = if window.overlap_s > 0.0 {
        window.overlap_s
    } else {
        inputs
            .iter()
            .map(|i| i.results.duration_s)
            .fold(0.0, f64::max)
    };
    let mut errors: Vec<ErrorCount> = errors
        .into_iter()
        .map(|((request, error), count)| ErrorCount {
            request,
            error,
            count,
        })
        .collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.count));
    let info = RunInfo {
        scenario: first_r.scenario.clone(),
        spec: first_r.spec.clone(),
        target: distinct(inputs.iter().map(|i| i.results.target.clone())),
        requests: requests.clone(),
        headline: first_r.headline.as_ref().map(|h| h.request.clone()),
        plan: merged_plan(&inputs),
        skipped,
        interrupted: inputs.iter().find_map(|i| i.results.interrupted.clone()),
        error: inputs.iter().find_map(|i| {
            let s = i.results.shard.as_ref().map_or(0, |s| s.index);
            i.results.error.as_ref().map(|e| format!("shard {s}: {e}"))
        }),
        cancelled: inputs.iter().map(|i| i.results.cancelled).sum(),
        dropped: inputs.iter().map(|i| i.results.dropped).sum(),
        started_at: window
            .first_start
            .map(rfc3339)
            .or_else(|| first_r.started_at.clone()),
        series,
    };
    let users = inputs.iter().map(|i| i.results.users).sum();
    let samples = requests
        .iter()
        .zip(samples)
        .map(|((n, m), s)| (n.clone(), m.clone(), s))
        .collect();
    let mut merged = results::build(&info, samples, duration_s, users, errors);
    for (o, r) in merged.operations.iter_mut().zip(&rps) {
        o.rps = round3(*r);
    }
    merged.total.rps = round3(total_rps);
    let headline_seconds = window.whole_seconds();
    if let Some(h) = &mut merged.headline {
        h.per_second = match headline_seconds {
            Some((from, to)) => {
                let n: u64 = merged
                    .series
                    .iter()
                    .filter(|p| p.t >= from && p.t < to)
                    .map(|p| p.successes)
                    .sum();
                round3(n as f64 / (to - from) as f64)
            }
            None => round3(
                inputs
                    .iter()
                    .filter_map(|i| i.results.headline.as_ref().map(|h| h.per_second))
                    .sum(),
            ),
        };
    }
    merged.merged = Some(MergeInfo {
        shards: shards.clone(),
        overlap_start: window.overlap.map(|(s, _)| rfc3339(s)),
        overlap_end: window.overlap.map(|(_, e)| rfc3339(e)),
        overlap_s: round3(window.overlap_s),
        headline_seconds: headline_seconds.map_or(0, |(f, t)| t - f),
    });

    // The thresholds the shards were judged by, then the merge's own.
    let mut texts: Vec<String> = Vec::new();
    let mut shards_default = false;
    for i in &inputs {
        for t in &i.results.thresholds {
            match t.gate {
                Gate::Given if !texts.contains(&t.threshold) => texts.push(t.threshold.clone()),
                Gate::Default => shards_default = true,
                _ => {}
            }
        }
    }
    for t in thresholds {
        if !texts.contains(t) {
            texts.push(t.clone());
        }
    }
    let names: Vec<String> = requests.iter().map(|(n, _)| n.clone()).collect();
    let parsed = parse_all(&texts, &names).map_err(|es| {
        es.into_iter()
            .map(|e| MergeError::Threshold(e.to_string()))
            .collect::<Vec<_>>()
    })?;
    judge(
        &mut merged,
        &parsed,
        default_gate && (shards_default || inputs.iter().all(|i| i.results.thresholds.is_empty())),
    );
    Ok(merged)
}

fn hist_error(path: &str, pointer: &str, message: String) -> MergeError {
    MergeError::Histogram {
        path: path.to_owned(),
        pointer: pointer.to_owned(),
        message,
    }
}

/// Adds `b` into `a`, refusing histograms that would not add exactly.
fn add(a: &mut RequestRecord, b: &RequestRecord) -> Result<(), String> {
    let e = |e: hdrhistogram::AdditionError| format!("cannot add: {e:?}");
    a.latency.add(&b.latency).map_err(e)?;
    a.headers.add(&b.headers).map_err(e)?;
    if let (Some(x), Some(y)) = (&mut a.service, &b.service) {
        x.add(y).map_err(e)?;
    }
    a.successes += b.successes;
    a.failures += b.failures;
    for (k, v) in &b.status_codes {
        *a.status_codes.entry(*k).or_default() += v;
    }
    Ok(())
}

/// Refuses reports that are not the shards of one run; returns their shard infos by index.
fn check_compatible(
    inputs: &[Input],
    first_path: &str,
    first: &LoadResults,
) -> Result<Vec<ShardInfo>, MergeError> {
    let mut seen: BTreeMap<usize, (&str, &ShardInfo)> = BTreeMap::new();
    for input in inputs {
        let r = &input.results;
        let path = input.path.clone();
        if r.format_version != FORMAT_VERSION {
            return Err(MergeError::FormatVersion {
                path,
                found: r.format_version,
                expected: FORMAT_VERSION,
            });
        }
        let different = |what, found: &str, expected: &str| MergeError::Different {
            path: input.path.clone(),
            first: first_path.to_owned(),
            what,
            found: found.to_owned(),
            expected: expected.to_owned(),
        };
        if r.scenario != first.scenario {
            return Err(different("scenario", &r.scenario, &first.scenario));
        }
        if r.spec != first.spec {
            return Err(different("spec", &r.spec, &first.spec));
        }
        if r.plan.model != first.plan.model {
            return Err(different(
                "model",
                model_name(r.plan.model),
                model_name(first.plan.model),
            ));
        }
        let Some(shard) = &r.shard else {
            return Err(MergeError::NotAShard { path });
        };
        let count = first.shard.as_ref().map_or(shard.count, |s| s.count);
        if shard.count != count {
            return Err(different(
                "shard count",
                &shard.count.to_string(),
                &count.to_string(),
            ));
        }
        if let Some((other, _)) = seen.get(&shard.index) {
            return Err(MergeError::Duplicate {
                index: shard.index,
                count,
                first: (*other).to_owned(),
                second: path,
            });
        }
        seen.insert(shard.index, (input.path.as_str(), shard));
    }
    let count = first.shard.as_ref().map_or(0, |s| s.count);
    let missing: Vec<usize> = (0..count).filter(|i| !seen.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    // The shards' users tile the run's: each starts where the one before it ends.
    let mut before: Option<(&str, &ShardInfo)> = None;
    for (path, s) in seen.values() {
        if let Some((other, o)) = before {
            if s.first_user != o.first_user + o.users {
                let last = |s: &ShardInfo| (s.first_user + s.users).saturating_sub(1);
                return Err(MergeError::Users {
                    path: (*path).to_owned(),
                    index: s.index,
                    count,
                    first: s.first_user,
                    last: last(s),
                    other: other.to_owned(),
                    other_index: o.index,
                    other_first: o.first_user,
                    other_last: last(o),
                });
            }
        }
        before = Some((path, s));
    }
    Ok(seen.into_values().map(|(_, s)| s.clone()).collect())
}

fn model_name(m: Model) -> &'static str {
    match m {
        Model::Closed => "closed",
        Model::Open => "open",
    }
}

fn names(ops: &[(String, String)]) -> String {
    ops.iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn distinct(values: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(", ")
}

/// The whole run's plan: the shards' users, hatch rates and arrival rates added up.
fn merged_plan(inputs: &[Input]) -> PlanSummary {
    let mut plan = inputs[0].results.plan.clone();
    for i in &inputs[1..] {
        let p = &i.results.plan;
        plan.users += p.users;
        plan.hatch_rate += p.hatch_rate;
        if let (Some(a), Some(b)) = (&mut plan.rate, &p.rate) {
            for (x, y) in a.iter_mut().zip(b) {
                x.from_per_s += y.from_per_s;
                x.to_per_s += y.to_per_s;
            }
        }
    }
    plan.hatch_rate = round3(plan.hatch_rate);
    plan
}

/// The shards' windows.
struct Window {
    /// Earliest window start.
    first_start: Option<SystemTime>,
    /// Latest start and earliest end, when every shard has a window and they overlap.
    overlap: Option<(SystemTime, SystemTime)>,
    overlap_s: f64,
}

impl Window {
    fn of(shards: &[ShardInfo]) -> Window {
        let windows: Vec<Option<(SystemTime, SystemTime)>> = shards
            .iter()
            .map(|s| {
                let start = s.window_start.as_deref().and_then(parse_rfc3339)?;
                let end = s.window_end.as_deref().and_then(parse_rfc3339)?;
                Some((start, end))
            })
            .collect();
        let first_start = windows.iter().flatten().map(|w| w.0).min();
        let overlap = if windows.iter().all(Option::is_some) {
            let start = windows.iter().flatten().map(|w| w.0).max();
            let end = windows.iter().flatten().map(|w| w.1).min();
            start.zip(end).filter(|(s, e)| e > s)
        } else {
            None
        };
        let overlap_s = overlap.map_or(0.0, |(s, e)| {
            e.duration_since(s).unwrap_or(Duration::ZERO).as_secs_f64()
        });
        Window {
            first_start,
            overlap,
            overlap_s,
        }
    }

    /// The whole unix seconds `from..to` inside the overlap (at least one).
    fn whole_seconds(&self) -> Option<(u64, u64)> {
        let (s, e) = self.overlap?;
        let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).ok();
        let (s, e) = (secs(s)?, secs(e)?);
        let from = s.as_secs() + u64::from(s.subsec_nanos() > 0);
        let to = e.as_secs();
        (to > from).then_some((from, to))
    }
}

/// One wall-clock second of every shard.
struct SeriesAcc {
    count: usize,
    requests: u64,
    errors: u64,
    successes: u64,
    users: u64,
    dropped: u64,
    measured: bool,
    histogram: Histogram<u64>,
}

impl SeriesAcc {
    fn new(histogram: Histogram<u64>) -> SeriesAcc {
        SeriesAcc {
            count: 0,
            requests: 0,
            errors: 0,
            successes: 0,
            users: 0,
            dropped: 0,
            measured: false,
            histogram,
        }
    }

    fn point(self, t: u64) -> SeriesPoint {
        let h = &self.histogram;
        let q = |q: f64| (!h.is_empty()).then(|| round3(h.value_at_quantile(q) as f64 / 1000.0));
        SeriesPoint {
            t,
            requests: self.requests,
            errors: self.errors,
            successes: self.successes,
            users: self.users,
            dropped: self.dropped,
            measured: self.measured,
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            histogram: record::encode(h),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
