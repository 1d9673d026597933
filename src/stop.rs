//! Stopping a run from outside (SIGINT/SIGTERM caught by the CLI, or a test): engines watch a
//! [`Stop`]; none installs a signal handler itself.

use tokio::sync::watch;

/// Why a run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopReason {
    /// `SIGINT` / `SIGTERM`.
    pub fn signal_name(self) -> &'static str {
        match self {
            StopReason::Interrupt => "SIGINT",
            StopReason::Terminate => "SIGTERM",
        }
    }
}

/// Asks a run to stop. Dropping it without calling [`StopHandle::stop`] never stops the run.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<Option<StopReason>>);

/// Watched by a run to know it must stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<Option<StopReason>>);

/// A connected pair.
pub fn stop_channel() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(None);
    (StopHandle(tx), Stop(rx))
}

impl StopHandle {
    /// Stops the run; the first reason given is kept. Returns whether this call stopped it.
    pub fn stop(&self, reason: StopReason) -> bool {
        self.0.send_if_modified(|current| {
            if current.is_some() {
                false
            } else {
                *current = Some(reason);
                true
            }
        })
    }
}

impl Stop {
    /// A signal that never fires.
    pub fn never() -> Stop {
        stop_channel().1
    }

    /// Whether the run was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Why the run was asked to stop, once it was.
    pub fn reason(&self) -> Option<StopReason> {
        *self.0.borrow()
    }

    /// Completes when the run is asked to stop; never completes if the handle is dropped unused.
    pub async fn stopped(&self) -> StopReason {
        let mut rx = self.0.clone();
        let reason = rx.wait_for(Option::is_some).await.map(|r| *r);
        match reason {
            Ok(reason) => reason.unwrap_or(StopReason::Interrupt),
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_fires_once_asked_and_keeps_the_first_reason() {
        let (handle, stop) = stop_channel();
        assert!(!stop.is_stopped());
        let waiter = stop.clone();
        let task = tokio::spawn(async move { waiter.stopped().await });
        assert!(handle.stop(StopReason::Terminate));
        assert!(!handle.stop(StopReason::Interrupt));
        let reason = tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("stopped() completes")
            .expect("task ran");
        assert_eq!(reason, StopReason::Terminate);
        assert!(stop.is_stopped());
        assert_eq!(stop.reason(), Some(StopReason::Terminate));
    }

    #[tokio::test]
    async fn never_never_fires() {
        let stop = Stop::never();
        assert!(!stop.is_stopped());
        let waited = tokio::time::timeout(Duration::from_millis(50), stop.stopped()).await;
        assert!(waited.is_err());
    }
}
