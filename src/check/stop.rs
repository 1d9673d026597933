//! Stopping a run from outside (SIGINT/SIGTERM in the CLI, or a test): cases not started are
//! skipped, running exchanges are abandoned, and what ran is still reported.
//!
//! The engine never installs signal handlers itself; it only watches a [`Stop`].

use tokio::sync::watch;

/// Asks a run to stop. Dropping it without calling [`StopHandle::stop`] never stops the run.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

/// Watched by a run to know it must stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

/// A connected pair.
pub fn stop_channel() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), Stop(rx))
}

impl StopHandle {
    /// Stops the run (idempotent).
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Stop {
    /// A signal that never fires.
    pub fn never() -> Stop {
        stop_channel().1
    }

    /// Whether the run was asked to stop.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when the run is asked to stop; never completes if the handle is dropped unused.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|stopped| *stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_fires_once_asked() {
        let (handle, stop) = stop_channel();
        assert!(!stop.is_stopped());
        let waiter = stop.clone();
        let task = tokio::spawn(async move { waiter.stopped().await });
        handle.stop();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("stopped() completes")
            .expect("task ran");
        assert!(stop.is_stopped());
    }

    #[tokio::test]
    async fn never_never_fires() {
        let stop = Stop::never();
        assert!(!stop.is_stopped());
        let waited = tokio::time::timeout(Duration::from_millis(50), stop.stopped()).await;
        assert!(waited.is_err());
    }
}
