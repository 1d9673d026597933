//! What `load` shows while it runs: the plan before it starts, then progress on stderr — a live
//! line redrawn every second on a terminal, or (stderr not a terminal, or `CI` set) one plain
//! line every `--progress-interval` that a CI log can read.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::common::live_stderr;
use crate::load::runner::Counters;
use crate::load::{LoadPlan, Observer};

/// Prints the plan, then progress until the attack ends.
pub struct LoadProgress {
    live: bool,
    interval: Duration,
    quiet: bool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl LoadProgress {
    pub fn new(interval: Duration, quiet: bool) -> LoadProgress {
        LoadProgress {
            live: live_stderr(),
            interval,
            quiet,
            task: Mutex::new(None),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `load: `rails-jwt-login` against URL: 10 users at 10/s (ramp-up 1s), measured 5s, timeout 10s, ends within 18s`.
pub fn plan_line(plan: &LoadPlan, host: &str) -> String {
    let window = match (plan.bounds.iterations, plan.bounds.run_time) {
        (Some(n), Some(s)) => format!(
            "{} per user, at most {s}s",
            plural(n as u64, "iteration", "iterations")
        ),
        (Some(n), None) => format!("{} per user", plural(n as u64, "iteration", "iterations")),
        (None, Some(s)) => format!("measured {s}s"),
        (None, None) => "unbounded".into(),
    };
    let ends = plan
        .bound()
        .map(|b| format!(", ends within {}s", b.as_secs()))
        .unwrap_or_default();
    let open = plan
        .open
        .as_ref()
        .map(|o| {
            let stages: Vec<String> = o
                .stages
                .iter()
                .map(|s| {
                    if s.from_per_s == s.to_per_s {
                        format!("{}/s", s.from_per_s)
                    } else {
                        format!("{}/s..{}/s", s.from_per_s, s.to_per_s)
                    }
                })
                .collect();
            format!(
                ", open model: arrivals at {} served by the pool",
                stages.join(" then ")
            )
        })
        .unwrap_or_default();
    format!(
        "load: scenario `{}` against {}: {} at {}/s (ramp-up {}s){open}, {window}, timeout {}{ends}",
        plan.scenario.scenario.name,
        crate::redact::mask_userinfo(host),
        plural(plan.users as u64, "user", "users"),
        plan.hatch_rate,
        plan.ramp_up_secs(),
        humantime::format_duration(plan.timeout),
    )
}

impl Observer for LoadProgress {
    fn started(&self, plan: &LoadPlan, host: &str, counters: &Arc<Counters>) {
        eprintln!("{}", plan_line(plan, host));
        if self.quiet {
            return;
        }
        let headline = plan
            .scenario
            .headline()
            .and_then(|h| plan.scenario.request_names().iter().position(|n| *n == h));
        let total = plan.planned();
        let task = tokio::spawn(report(
            Arc::clone(counters),
            plan.users,
            headline,
            total,
            self.live,
            if self.live {
                Duration::from_secs(1)
            } else {
                self.interval
            },
        ));
        if let Ok(mut slot) = self.task.lock() {
            *slot = Some(task);
        }
    }

    fn finished(&self) {
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            task.abort();
            if self.live {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        }
    }
}

async fn report(
    counters: Arc<Counters>,
    users: usize,
    headline: Option<usize>,
    total: Option<Duration>,
    live: bool,
    every: Duration,
) {
    let started = Instant::now();
    let (mut last_requests, mut last_logins) = (0, 0);
    let mut last = Instant::now();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let requests = counters.requests.load(Ordering::Relaxed);
        let errors = counters.errors.load(Ordering::Relaxed);
        let running = counters.users.load(Ordering::Relaxed);
        let logins = headline
            .and_then(|i| counters.successes.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed));
        let secs = last.elapsed().as_secs_f64().max(0.001);
        let rate = (requests - last_requests) as f64 / secs;
        let login_rate = (logins - last_logins) as f64 / secs;
        (last_requests, last_logins, last) = (requests, logins, Instant::now());
        let p95_us = counters.recorder.headline_p95_us.load(Ordering::Relaxed);
        let p95 = if p95_us == 0 {
            "p95 -".to_owned()
        } else {
            format!("p95 {:.1}ms", p95_us as f64 / 1000.0)
        };
        let dropped = counters.recorder.dropped_so_far();
        let dropped = if dropped > 0 {
            format!("  {dropped} dropped")
        } else {
            String::new()
        };
        let elapsed = started.elapsed().as_secs();
        let of = total
            .map(|t| format!("/{}s", t.as_secs()))
            .unwrap_or_default();
        let line = format!(
            "{elapsed:>4}s{of}  users {running}/{users}  {rate:.1} req/s  {login_rate:.1} logins/s  {requests} requests  {errors} errors  {p95}{dropped}"
        );
        let mut err = std::io::stderr().lock();
        let _ = if live {
            write!(err, "\r\x1b[2K  {line}")
        } else {
            writeln!(err, "progress: {line}")
        };
        let _ = err.flush();
    }
}
