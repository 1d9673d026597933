//! Our own recording of a load run, instead of goose's per-request metrics: exact latency
//! histograms ([`hdrhistogram`], microseconds from 1 µs to 60 s, 3 significant figures, values
//! beyond saturating at the top), status and error counters per request name, and one interval
//! of every second for the series and the progress line.
//!
//! Users record into shards ([`Recorder::shard_of`]): each user is given one shard when it
//! starts, and records into it under a lock nobody else takes except the once-a-second
//! collector. Up to [`MAX_SHARDS`] users each have a shard of their own; beyond that users share
//! (a shard holds several 140 KB histograms, and 10,000 of them would cost gigabytes). Merging
//! histograms is exact, so how users are spread over shards changes nothing in the results.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// Highest latency recorded exactly, in microseconds (60 s); longer ones count as 60 s.
pub const HIGHEST_US: u64 = 60_000_000;

/// Significant figures of every histogram.
pub const SIGFIG: u8 = 3;

/// Most shards a run records into (see the module's documentation).
pub const MAX_SHARDS: usize = 64;

/// An empty histogram with the bounds every recorder uses.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (1 ≤ low, high ≥ 2·low, sigfig ≤ 5).
    Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).unwrap_or_else(|_| unreachable!())
}

/// A histogram in HdrHistogram's V2 encoding (not compressed), base64 (standard alphabet).
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail; V2 fails only for histograms it cannot encode, which a
    // histogram of ours is not.
    if V2Serializer::new().serialize(h, &mut bytes).is_err() {
        bytes.clear();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes what [`encode`] wrote (or any V2 or V2+deflate histogram another tool wrote).
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("histogram: not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram: not an HdrHistogram V2 encoding: {e:?}"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// One request's timings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// From the send to the response headers.
    pub headers: Duration,
    /// From the send to the last byte of the body.
    pub body: Duration,
    /// Open model: from the intended start of the request (its arrival's time) to the last
    /// byte of the body; `None` in the closed model.
    pub scheduled: Option<Duration>,
}

/// What one request name recorded.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// The judged latency: to the last byte, from the send (closed model) or from the intended
    /// start (open model).
    pub latency: Histogram<u64>,
    /// From the send to the response headers.
    pub headers: Histogram<u64>,
    /// Open model only: from the send to the last byte.
    pub service: Option<Histogram<u64>>,
    pub successes: u64,
    pub failures: u64,
    pub status_codes: BTreeMap<u16, u64>,
}

impl RequestRecord {
    /// Nothing recorded yet; `open` records the service time besides.
    pub fn empty(open: bool) -> Self {
        RequestRecord {
            latency: histogram(),
            headers: histogram(),
            service: open.then(histogram),
            successes: 0,
            failures: 0,
            status_codes: BTreeMap::new(),
        }
    }

    /// A closed-model record of `successes` and `failures` whose latencies (to the last byte
    /// and to the headers alike) are `times_us`, with these status counts.
    pub fn of(
        successes: u64,
        failures: u64,
        times_us: &[u64],
        status_codes: &[(u16, u64)],
    ) -> Self {
        let mut r = RequestRecord::empty(false);
        for t in times_us {
            r.latency.saturating_record(*t);
            r.headers.saturating_record(*t);
        }
        r.successes = successes;
        r.failures = failures;
        r.status_codes = status_codes.iter().copied().collect();
        r
    }

    /// Adds another record of the same bounds (a merge is exact).
    pub fn add(&mut self, other: &RequestRecord) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.headers.add(&other.headers);
        if let (Some(a), Some(b)) = (&mut self.service, &other.service) {
            let _ = a.add(b);
        }
        self.successes += other.successes;
        self.failures += other.failures;
        for (k, v) in &other.status_codes {
            *self.status_codes.entry(*k).or_default() += v;
        }
    }

    fn clear(&mut self) {
        self.latency.reset();
        self.headers.reset();
        if let Some(s) = &mut self.service {
            s.reset();
        }
        self.successes = 0;
        self.failures = 0;
        self.status_codes.clear();
    }
}

/// One second's worth of a shard.
#[derive(Debug)]
struct Interval {
    requests: u64,
    errors: u64,
    headline_successes: u64,
    /// Judged latency of every request.
    all: Histogram<u64>,
    /// Judged latency of the headline request.
    headline: Histogram<u64>,
}

impl Interval {
    fn new() -> Self {
        Interval {
            requests: 0,
            errors: 0,
            headline_successes: 0,
            all: histogram(),
            headline: histogram(),
        }
    }
}

#[derive(Debug)]
struct Shard {
    requests: Vec<RequestRecord>,
    /// `(request index, error text)` → count.
    errors: HashMap<(usize, String), u64>,
    interval: Interval,
}

/// One wall-clock second of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Second {
    /// Unix time of the second's start.
    pub t: u64,
    pub requests: u64,
    pub errors: u64,
    /// Successful headline requests.
    pub headline_successes: u64,
    /// Users started by then.
    pub users: u64,
    /// Open model: arrivals no user was free for.
    pub dropped: u64,
    /// Judged latency of every request of the second.
    pub histogram: Histogram<u64>,
    /// Whether the second lies in the measured window (after ramp-up).
    pub measured: bool,
}

/// Everything a run recorded, merged.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Per request name, by index.
    pub requests: Vec<RequestRecord>,
    /// `(request index, error text, count)`, most frequent first.
    pub errors: Vec<(usize, String, u64)>,
    pub series: Vec<Second>,
    /// Wall clock of the measured window's start (`None` when it never started).
    pub started_at: Option<SystemTime>,
    /// Seconds of the measured window.
    pub window_s: f64,
    /// Open model: arrivals of the measured window no user was free for.
    pub dropped: u64,
}

/// The run's recorder, shared by every user.
#[derive(Debug)]
pub struct Recorder {
    shards: Vec<Mutex<Shard>>,
    headline: Option<usize>,
    open: bool,
    next_shard: AtomicU64,
    /// Whether samples count in the totals (the measured window has started).
    measuring: AtomicBool,
    window: Mutex<Option<(Instant, SystemTime)>>,
    series: Mutex<Vec<Second>>,
    /// Judged latency of the headline request over the measured window, merged every second.
    headline_so_far: Mutex<Histogram<u64>>,
    /// p95 of [`Self::headline_so_far`] in µs (0 before the first sample), for the progress line.
    pub headline_p95_us: AtomicU64,
    dropped_measured: AtomicU64,
    dropped_interval: AtomicU64,
    dropped_total: AtomicU64,
}

impl Recorder {
    /// A recorder for `requests` request names, `users` users, the headline request's index,
    /// and whether the run is open-model (records the service time besides).
    pub fn new(requests: usize, users: usize, headline: Option<usize>, open: bool) -> Self {
        let shards = users.clamp(1, MAX_SHARDS);
        Recorder {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        requests: (0..requests).map(|_| RequestRecord::empty(open)).collect(),
                        errors: HashMap::new(),
                        interval: Interval::new(),
                    })
                })
                .collect(),
            headline,
            open,
            next_shard: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
            window: Mutex::new(None),
            series: Mutex::new(Vec::new()),
            headline_so_far: Mutex::new(histogram()),
            headline_p95_us: AtomicU64::new(0),
            dropped_measured: AtomicU64::new(0),
            dropped_interval: AtomicU64::new(0),
            dropped_total: AtomicU64::new(0),
        }
    }

    /// The shard a newly started user records into.
    pub fn shard_of_new_user(&self) -> usize {
        let n = self.next_shard.fetch_add(1, Ordering::Relaxed);
        usize::try_from(n).unwrap_or(0) % self.shards.len()
    }

    /// Starts the measured window now: what was recorded before (ramp-up) leaves the totals
    /// (the series keeps it). Only the first call counts.
    pub fn start_window(&self) {
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        if w.is_some() {
            return;
        }
        for shard in &self.shards {
            if let Ok(mut s) = shard.lock() {
                s.requests.iter_mut().for_each(RequestRecord::clear);
                s.errors.clear();
            }
        }
        *w = Some((Instant::now(), SystemTime::now()));
        self.measuring.store(true, Ordering::Release);
    }

    /// Ends the measured window now: later samples go to the series only (a common window's
    /// end, `--start-at`).
    pub fn stop_measuring(&self) {
        self.measuring.store(false, Ordering::Release);
    }

    /// When the measured window started.
    pub fn window_start(&self) -> Option<Instant> {
        self.window.lock().ok().and_then(|w| w.map(|(i, _)| i))
    }

    /// Records one response (`status` 0: none came); `error` is why it failed, if it did.
    pub fn record(
        &self,
        shard: usize,
        request: usize,
        status: u16,
        timing: Timing,
        error: Option<&str>,
    ) {
        let Some(Ok(mut s)) = self.shards.get(shard).map(Mutex::lock) else {
            return;
        };
        let judged = micros(timing.scheduled.unwrap_or(timing.body));
        let success = error.is_none();
        s.interval.requests += 1;
        s.interval.all.saturating_record(judged);
        if success && Some(request) == self.headline {
            s.interval.headline_successes += 1;
        }
        if Some(request) == self.headline {
            s.interval.headline.saturating_record(judged);
        }
        if !success {
            s.interval.errors += 1;
        }
        if !self.measuring.load(Ordering::Acquire) {
            return;
        }
        let open = self.open;
        let Some(r) = s.requests.get_mut(request) else {
            return;
        };
        r.latency.saturating_record(judged);
        r.headers.saturating_record(micros(timing.headers));
        if open {
            if let Some(h) = &mut r.service {
                h.saturating_record(micros(timing.body));
            }
        }
        *r.status_codes.entry(status).or_default() += 1;
        if success {
            r.successes += 1;
        } else {
            r.failures += 1;
        }
        if let Some(e) = error {
            match s.errors.get_mut(&(request, e.to_owned())) {
                Some(n) => *n += 1,
                None => {
                    s.errors.insert((request, e.to_owned()), 1);
                }
            }
        }
    }

    /// Counts an arrival no user was free for.
    pub fn dropped(&self) {
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        self.dropped_interval.fetch_add(1, Ordering::Relaxed);
        if self.measuring.load(Ordering::Acquire) {
            self.dropped_measured.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every arrival dropped so far (for the progress line).
    pub fn dropped_so_far(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    /// Collects the second that began at unix time `t` from every shard into the series, and
    /// updates the headline's p95 so far.
    pub fn collect_second(&self, t: u64, users: u64) {
        let mut second = Second {
            t,
            requests: 0,
            errors: 0,
            headline_successes: 0,
            users,
            dropped: self.dropped_interval.swap(0, Ordering::Relaxed),
            histogram: histogram(),
            measured: self.measuring.load(Ordering::Acquire),
        };
        let mut headline = histogram();
        for shard in &self.shards {
            let Ok(mut s) = shard.lock() else { continue };
            let i = &mut s.interval;
            second.requests += i.requests;
            second.errors += i.errors;
            second.headline_successes += i.headline_successes;
            let _ = second.histogram.add(&i.all);
            let _ = headline.add(&i.headline);
            i.requests = 0;
            i.errors = 0;
            i.headline_successes = 0;
            i.all.reset();
            i.headline.reset();
        }
        if second.measured {
            if let Ok(mut so_far) = self.headline_so_far.lock() {
                let _ = so_far.add(&headline);
                if !so_far.is_empty() {
                    self.headline_p95_us
                        .store(so_far.value_at_quantile(0.95), Ordering::Relaxed);
                }
            }
        }
        if let Ok(mut series) = self.series.lock() {
            series.push(second);
        }
    }

    /// Merges every shard: the run's recording, its measured window ending at `end`.
    pub fn finish(&self, end: Instant) -> Recorded {
        let requests = self
            .shards
            .first()
            .and_then(|s| s.lock().ok().map(|s| s.requests.len()))
            .unwrap_or(0);
        let mut merged: Vec<RequestRecord> = (0..requests)
            .map(|_| RequestRecord::empty(self.open))
            .collect();
        let mut errors: HashMap<(usize, String), u64> = HashMap::new();
        for shard in &self.shards {
            let Ok(s) = shard.lock() else { continue };
            for (m, r) in merged.iter_mut().zip(&s.requests) {
                m.add(r);
            }
            for (k, v) in &s.errors {
                *errors.entry(k.clone()).or_default() += v;
            }
        }
        let mut errors: Vec<(usize, String, u64)> =
            errors.into_iter().map(|((r, e), n)| (r, e, n)).collect();
        errors.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        let window = self.window.lock().ok().and_then(|w| *w);
        Recorded {
            requests: merged,
            errors,
            series: self.series.lock().map(|s| s.clone()).unwrap_or_default(),
            started_at: window.map(|(_, wall)| wall),
            window_s: window.map_or(0.0, |(i, _)| end.saturating_duration_since(i).as_secs_f64()),
            dropped: self.dropped_measured.load(Ordering::Relaxed),
        }
    }
}

/// Unix seconds of a wall-clock time.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timing {
        Timing {
            headers: Duration::from_millis(ms / 2),
            body: Duration::from_millis(ms),
            scheduled: None,
        }
    }

    #[test]
    fn shards_merge_exactly_and_the_window_resets_totals() {
        let r = Recorder::new(2, 3, Some(0), false);
        let (a, b) = (r.shard_of_new_user(), r.shard_of_new_user());
        assert_ne!(a, b);
        r.record(a, 0, 201, t(500), None); // ramp-up: series only
        r.start_window();
        for ms in 1..=100 {
            r.record(if ms % 2 == 0 { a } else { b }, 0, 201, t(ms), None);
        }
        r.record(a, 1, 500, t(3), Some("500: list"));
        r.record(b, 1, 500, t(3), Some("500: list"));
        r.collect_second(1_000, 2);
        let done = r.finish(Instant::now());
        let login = &done.requests[0];
        assert_eq!((login.successes, login.failures), (100, 0));
        assert_eq!(login.latency.len(), 100);
        assert_eq!(login.latency.max(), 100_031, "{}", login.latency.max());
        let p95 = login.latency.value_at_quantile(0.95);
        assert!((94_900..=95_100).contains(&p95), "{p95}");
        assert_eq!(login.headers.value_at_quantile(1.0) / 1000, 50);
        assert_eq!(done.errors, vec![(1, "500: list".to_string(), 2)]);
        assert_eq!(done.series.len(), 1);
        let s = &done.series[0];
        assert_eq!((s.requests, s.errors, s.headline_successes), (103, 2, 101));
        assert_eq!(s.histogram.len(), 103);
        assert!(r.headline_p95_us.load(Ordering::Relaxed) > 90_000);
    }

    #[test]
    fn histograms_round_trip_through_v2_base64_and_saturate() {
        let mut h = histogram();
        h.saturating_record(1);
        h.saturating_record(250_000);
        h.saturating_record(HIGHEST_US * 10);
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.len(), 3);
        assert!(back.max() >= HIGHEST_US && back.max() < HIGHEST_US + HIGHEST_US / 500);
        assert!(decode("not base64!").is_err());
        assert!(decode("AAAA").is_err());
    }
}
