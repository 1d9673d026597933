//! The open model: one shared schedule of intended start times (arrivals), which the users of
//! the pool take one at a time, each starting one iteration of its flow at its arrival's time.
//!
//! A rate is constant (`200/s`) or a linear ramp (`10/s..400/s`); a schedule is a list of such
//! stages. Arrival `k` (from 0) is due when the schedule's cumulative count reaches `k`. An
//! arrival that no user was free to start within [`LATE_LIMIT`] of its time is **dropped**
//! (counted, never sent); otherwise its latency is measured from its intended time, so a server
//! that stalls is charged for every arrival it delayed (no coordinated omission).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::record::Recorder;

/// How late a free user may start an arrival before it counts as dropped.
pub const LATE_LIMIT: Duration = Duration::from_millis(100);

/// Highest arrival rate accepted, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// One stage of a schedule: the arrival rate goes linearly from `from_per_s` to `to_per_s`
/// over `duration_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub duration_s: f64,
    pub from_per_s: f64,
    pub to_per_s: f64,
}

impl Stage {
    fn count(&self) -> f64 {
        (self.from_per_s + self.to_per_s) / 2.0 * self.duration_s
    }

    /// Seconds into the stage at which `n` arrivals (`n` < [`Self::count`]) have come.
    fn time_of(&self, n: f64) -> f64 {
        let (a, b, d) = (self.from_per_s, self.to_per_s, self.duration_s);
        let c = (b - a) / (2.0 * d);
        if c.abs() < 1e-12 {
            return if a > 0.0 { n / a } else { d };
        }
        ((a * a + 4.0 * c * n).max(0.0).sqrt() - a) / (2.0 * c)
    }
}

/// A rate as written: `200/s` or `10/s..400/s` (`/s` optional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub from: f64,
    pub to: f64,
}

impl Rate {
    /// Parses `200/s`, `200`, `10/s..400/s`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let one = |s: &str| -> Result<f64, String> {
            let n = s.trim();
            let n = n.strip_suffix("/s").unwrap_or(n).trim();
            match n.parse::<f64>() {
                Ok(v) if (0.0..=MAX_RATE).contains(&v) => Ok(v),
                _ => Err(format!(
                    "`{}` is not an arrival rate such as 200/s (0 to {MAX_RATE} per second)",
                    s.trim()
                )),
            }
        };
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (one(a)?, one(b)?),
            None => {
                let r = one(text)?;
                (r, r)
            }
        };
        if from == 0.0 && to == 0.0 {
            return Err(format!("`{}`: a rate of 0/s sends nothing", text.trim()));
        }
        Ok(Rate { from, to })
    }

    /// This rate over `duration`.
    pub fn over(self, duration: Duration) -> Stage {
        Stage {
            duration_s: duration.as_secs_f64(),
            from_per_s: self.from,
            to_per_s: self.to,
        }
    }
}

/// The intended start times of a run's arrivals.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub stages: Vec<Stage>,
}

impl Schedule {
    /// How long the schedule lasts.
    pub fn total(&self) -> Duration {
        Duration::from_secs_f64(
            self.stages
                .iter()
                .map(|s| s.duration_s)
                .sum::<f64>()
                .max(0.0),
        )
    }

    /// Arrivals the schedule makes.
    pub fn count(&self) -> u64 {
        self.stages.iter().map(Stage::count).sum::<f64>().ceil() as u64
    }

    /// When arrival `k` (from 0) is due, from the schedule's start; `None` past its end.
    pub fn offset(&self, k: u64) -> Option<Duration> {
        let mut left = k as f64;
        let mut start = 0.0;
        for s in &self.stages {
            let n = s.count();
            if left < n {
                return Some(Duration::from_secs_f64(start + s.time_of(left)));
            }
            left -= n;
            start += s.duration_s;
        }
        None
    }
}

/// The shared dispenser of a run's arrivals.
#[derive(Debug)]
pub struct Arrivals {
    schedule: Schedule,
    next: AtomicU64,
    start: OnceLock<Instant>,
    exhausted: AtomicBool,
    /// Users holding an arrival (waiting for its time or running its iteration).
    busy: AtomicI64,
}

impl Arrivals {
    pub fn new(schedule: Schedule) -> Self {
        Arrivals {
            schedule,
            next: AtomicU64::new(0),
            start: OnceLock::new(),
            exhausted: AtomicBool::new(false),
            busy: AtomicI64::new(0),
        }
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Starts the schedule at `at` (the first call counts).
    pub fn start(&self, at: Instant) {
        let _ = self.start.set(at);
    }

    pub fn started_at(&self) -> Option<Instant> {
        self.start.get().copied()
    }

    /// Whether every arrival has been taken or dropped, and no user holds one any more.
    pub fn done(&self) -> bool {
        self.exhausted.load(Ordering::Acquire) && self.busy.load(Ordering::Acquire) <= 0
    }

    /// A user that held an arrival has finished its iteration.
    pub fn release(&self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
    }

    /// The next arrival for a free user: waits for the schedule to start, skips (and counts
    /// as dropped) arrivals already more than [`LATE_LIMIT`] late, sleeps until the arrival's
    /// time and returns it; `None` when the schedule is over, or the schedule has not started
    /// by `give_up`.
    pub async fn take(&self, recorder: &Recorder, give_up: Option<Instant>) -> Option<Instant> {
        let start = loop {
            if let Some(s) = self.start.get() {
                break *s;
            }
            if give_up.is_some_and(|g| Instant::now() >= g) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        loop {
            let k = self.next.fetch_add(1, Ordering::AcqRel);
            let Some(offset) = self.schedule.offset(k) else {
                self.exhausted.store(true, Ordering::Release);
                return None;
            };
            let at = start + offset;
            if Instant::now() > at + LATE_LIMIT {
                recorder.dropped();
                continue;
            }
            self.busy.fetch_add(1, Ordering::AcqRel);
            tokio::time::sleep_until(at.into()).await;
            return Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_refuse() {
        assert_eq!(
            Rate::parse("200/s").unwrap(),
            Rate {
                from: 200.0,
                to: 200.0
            }
        );
        assert_eq!(
            Rate::parse(" 10/s..400/s ").unwrap(),
            Rate {
                from: 10.0,
                to: 400.0
            }
        );
        assert_eq!(Rate::parse("2.5").unwrap().to, 2.5);
        for bad in ["", "fast", "-1/s", "0/s", "0..0", "10/s..", "1e9/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_and_ramped_schedules_put_arrivals_where_the_rate_says() {
        let c = Schedule {
            stages: vec![Rate::parse("200/s").unwrap().over(Duration::from_secs(2))],
        };
        assert_eq!(c.count(), 400);
        assert_eq!(c.offset(0), Some(Duration::ZERO));
        assert_eq!(c.offset(200).unwrap().as_millis(), 1000);
        assert_eq!(c.offset(399).unwrap().as_millis(), 1995);
        assert_eq!(c.offset(400), None);
        // 0 → 100/s over 10 s: N(t) = 5 t², 500 arrivals, the 125th at 5 s.
        let r = Schedule {
            stages: vec![Rate::parse("0/s..100/s")
                .unwrap()
                .over(Duration::from_secs(10))],
        };
        assert_eq!(r.count(), 500);
        assert_eq!(r.offset(125).unwrap().as_millis(), 5000);
        assert_eq!(r.offset(500), None);
        let two = Schedule {
            stages: vec![
                Rate::parse("10/s").unwrap().over(Duration::from_secs(1)),
                Rate::parse("100/s").unwrap().over(Duration::from_secs(1)),
            ],
        };
        assert_eq!(two.count(), 110);
        assert_eq!(two.offset(10).unwrap().as_millis(), 1000);
        assert_eq!(two.offset(60).unwrap().as_millis(), 1500);
        assert_eq!(two.total(), Duration::from_secs(2));
    }
}
