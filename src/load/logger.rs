//! A logger that keeps goose's log lines off our stdout: its warnings and errors go to stderr (at
//! most a few dozen lines), nothing else.

use std::sync::atomic::Ordering;

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
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
