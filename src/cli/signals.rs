//! The one signal watcher of the process: SIGINT and SIGTERM stop the running command through a
//! [`Stop`]; the engines never install handlers themselves.
//!
//! SIGINT goes through `ctrlc`, installed before any goose attack: goose then fails to install its
//! own handler (which would `exit(1)` on a second Ctrl-C and not tell us which signal came).
//! SIGTERM goes through tokio. A second signal only says the run is already stopping.

use std::io::Write;
use std::sync::Arc;

use crate::stop::{stop_channel, Stop, StopHandle, StopReason};

fn on_signal(handle: &StopHandle, reason: StopReason) {
    let mut err = std::io::stderr().lock();
    if handle.stop(reason) {
        let _ = writeln!(
            err,
            "\nsessionspec: {}: stopping; what ran is still reported",
            reason.signal_name()
        );
    } else {
        let _ = writeln!(
            err,
            "sessionspec: already stopping; the reports are being written"
        );
    }
}

/// Starts watching SIGINT and SIGTERM (call once per process, inside the tokio runtime) and
/// returns the [`Stop`] they fire.
pub fn install() -> Result<Stop, String> {
    let (handle, stop) = stop_channel();
    let handle = Arc::new(handle);
    let on_int = Arc::clone(&handle);
    ctrlc::set_handler(move || on_signal(&on_int, StopReason::Interrupt))
        .map_err(|e| format!("cannot install the SIGINT handler: {e}"))?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| format!("cannot install the SIGTERM handler: {e}"))?;
        tokio::spawn(async move {
            while term.recv().await.is_some() {
                on_signal(&handle, StopReason::Terminate);
            }
        });
    }
    Ok(stop)
}
