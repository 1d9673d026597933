//! What `load` shows while it runs: the plan before it starts and a live progress line on a
//! terminal's stderr, redrawn every second.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::common::live_stderr;
use crate::load::runner::Counters;
use crate::load::{LoadPlan, Observer};

/// Prints the plan, then (on a terminal) `users · req/s · errors` every second.
pub struct LoadProgress {
    live: bool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl LoadProgress {
    pub fn new() -> LoadProgress {
        LoadProgress {
            live: live_stderr(),
            task: Mutex::new(None),
        }
    }
}

impl Observer for LoadProgress {
    fn started(&self, plan: &LoadPlan, host: &str, counters: &Arc<Counters>) {
        let users = plan.users;
        eprintln!(
            "load: `{}` with {} user{} against {} ({})…",
            plan.scenario.scenario.name,
            users,
            if users == 1 { "" } else { "s" },
            crate::redact::mask_userinfo(host),
            match (plan.bounds.iterations, plan.bounds.run_time) {
                (Some(n), _) => format!("{n} iteration{} per user", if n == 1 { "" } else { "s" }),
                (None, Some(s)) => format!("{s}s"),
                (None, None) => "unbounded".into(),
            }
        );
        if self.live {
            let task = live_line(Arc::clone(counters), users);
            if let Ok(mut slot) = self.task.lock() {
                *slot = Some(task);
            }
        }
    }

    fn finished(&self) {
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            task.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

fn live_line(counters: Arc<Counters>, users: usize) -> JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut last_requests = 0;
        let mut last = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let requests = counters.requests.load(Ordering::Relaxed);
            let errors = counters.errors.load(Ordering::Relaxed);
            let running = counters.users.load(Ordering::Relaxed);
            let rate = (requests - last_requests) as f64 / last.elapsed().as_secs_f64().max(0.001);
            last_requests = requests;
            last = Instant::now();
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K  {:>4}s  users {running}/{users}  {rate:>8.1} req/s  {requests} requests  {errors} errors",
                started.elapsed().as_secs()
            );
            let _ = err.flush();
        }
    })
}
