//! What runs beside an attack: the SIGINT/SIGTERM handler (which stops goose through its
//! killswitch so the run still ends with its measurements), the live progress line on stderr,
//! and a logger that keeps goose's log lines off our stdout.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::runner::Counters;

/// Which signal interrupted the run (0: none).
#[derive(Debug, Default)]
pub struct Interruption(AtomicU8);

impl Interruption {
    const SIGINT: u8 = 2;
    const SIGTERM: u8 = 15;

    /// `SIGINT` / `SIGTERM` once interrupted.
    pub fn signal(&self) -> Option<&'static str> {
        match self.0.load(Ordering::SeqCst) {
            Self::SIGINT => Some("SIGINT"),
            Self::SIGTERM => Some("SIGTERM"),
            _ => None,
        }
    }

    /// Exit code of an interrupted run (130 / 143).
    pub fn exit_code(&self) -> Option<u8> {
        match self.0.load(Ordering::SeqCst) {
            Self::SIGINT => Some(crate::cli::exit::SIGINT),
            Self::SIGTERM => Some(crate::cli::exit::SIGTERM),
            _ => None,
        }
    }

    fn record(&self, signal: u8) -> bool {
        self.0
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// The run that signals interrupt, if one is going.
static ACTIVE: Mutex<Option<Arc<Interruption>>> = Mutex::new(None);

/// Whether our SIGINT handler is installed (once per process).
static SIGINT_HANDLER: OnceLock<Result<(), String>> = OnceLock::new();

fn on_signal(code: u8) {
    let active = ACTIVE
        .lock()
        .map(|a| a.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    let Some(interruption) = active else {
        return;
    };
    if interruption.record(code) {
        eprintln!("\nsessionspec: stopping the load run, writing what was measured…");
        goose::trigger_killswitch("interrupted by a signal");
    } else {
        eprintln!("sessionspec: already stopping; the reports are being written");
    }
}

/// Routes SIGINT and SIGTERM to `interruption` while the returned guard lives: the first signal
/// triggers goose's killswitch, so users stop, goose writes its report and we write ours, marked
/// interrupted.
///
/// SIGINT goes through `ctrlc`, installed before goose's first attack: goose then fails to
/// install its own (which would `exit(1)` on a second Ctrl-C and not tell us which signal came).
/// SIGTERM goes through tokio. Between runs a signal is ignored (reports are being written).
pub fn watch_signals(interruption: Arc<Interruption>) -> Result<SignalGuard, String> {
    SIGINT_HANDLER
        .get_or_init(|| {
            ctrlc::set_handler(|| on_signal(Interruption::SIGINT)).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| format!("cannot install the SIGINT handler: {e}"))?;
    #[cfg(unix)]
    let term = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot install the SIGTERM handler: {e}"))?;
        Some(tokio::spawn(async move {
            while term.recv().await.is_some() {
                on_signal(Interruption::SIGTERM);
            }
        }))
    };
    #[cfg(not(unix))]
    let term = None;
    match ACTIVE.lock() {
        Ok(mut a) => *a = Some(interruption),
        Err(p) => *p.into_inner() = Some(interruption),
    }
    Ok(SignalGuard { term })
}

/// Stops routing signals to the run when dropped.
pub struct SignalGuard {
    term: Option<JoinHandle<()>>,
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        if let Some(t) = self.term.take() {
            t.abort();
        }
        match ACTIVE.lock() {
            Ok(mut a) => *a = None,
            Err(p) => *p.into_inner() = None,
        }
    }
}

/// Whether to draw the live progress line: stderr is a terminal and this is not CI.
pub fn progress_wanted() -> bool {
    let ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false);
    !ci && std::io::stderr().is_terminal()
}

/// Redraws `users · req/s · errors` on stderr every second until aborted.
pub fn progress(counters: Arc<Counters>, users: usize) -> JoinHandle<()> {
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

/// Clears the progress line.
pub fn clear_progress() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// Sends goose's warnings and errors to stderr (at most a few dozen lines), and nothing else.
/// Lines from the request path are dropped: each failed request is counted in the results
/// anyway, and its URL could carry a session id.
struct StderrLogger {
    printed: std::sync::atomic::AtomicUsize,
}

const MAX_LOG_LINES: usize = 20;

impl log::Log for StderrLogger {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn && meta.target() != "goose::goose"
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let n = self.printed.fetch_add(1, Ordering::Relaxed);
        if n < MAX_LOG_LINES {
            eprintln!("goose: {}: {}", record.level(), record.args());
        } else if n == MAX_LOG_LINES {
            eprintln!("goose: more messages suppressed");
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger {
    printed: std::sync::atomic::AtomicUsize::new(0),
};

/// Installs the stderr logger unless the process already has one (goose then fails to install
/// its stdout logger, harmlessly).
pub fn install_logger() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
