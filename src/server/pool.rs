//! The bounded pool that runs argon2 verifications: at most `workers` at once, each in argon2 memory
//! of its own that is reused (19 MiB at OWASP cost), at most `queue` more waiting, and anything beyond
//! that refused at once so the dialect can answer 503 (`docs/dialects.md`, "Overload: 503 and
//! Retry-After").

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use super::passwords::Memory;

/// Why a job did not produce a result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// Every worker is busy and the queue is full; nothing was run.
    #[error("every hash worker is busy and the queue is full")]
    Overloaded,
    /// The job panicked or the runtime is shutting down.
    #[error("the password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A fixed number of workers on tokio's blocking pool and a bounded queue in front of them.
#[derive(Debug, Clone)]
pub(crate) struct HashPool {
    /// One permit per worker: held while a job runs.
    workers: Arc<Semaphore>,
    /// One permit per admitted job (running or waiting): `workers + queue` in all.
    admitted: Arc<Semaphore>,
    /// The argon2 memory of the idle workers. A running job takes one (or makes one) and puts it
    /// back, so no more than `workers` ever exist.
    memory: Arc<Mutex<Vec<Memory>>>,
}

impl HashPool {
    /// A pool of `workers` (at least 1) with room for `queue` waiting jobs.
    pub(crate) fn new(workers: usize, queue: usize) -> HashPool {
        let workers = workers.clamp(1, Semaphore::MAX_PERMITS);
        let admitted = workers.saturating_add(queue).min(Semaphore::MAX_PERMITS);
        HashPool {
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(admitted)),
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Runs `job` with a worker's argon2 memory once a worker is free, or fails at once with
    /// [`PoolError::Overloaded`] when `workers + queue` jobs are already admitted. If the caller stops
    /// waiting, a job not yet started leaves the queue; a started one runs to its end and keeps its
    /// worker until then, so the number of jobs running never exceeds `workers`.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce(&mut Memory) -> T + Send + 'static,
        T: Send + 'static,
    {
        let admission = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolError::Overloaded)?;
        // Never closed, so acquiring only waits.
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Overloaded)?;
        let idle = self.memory.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut memory = lock(&idle).pop().unwrap_or_default();
            let result = job(&mut memory);
            lock(&idle).push(memory);
            drop((worker, admission));
            result
        })
        .await?;
        Ok(result)
    }
}

/// The list is only pushed to and popped from, so a poisoned lock still holds a valid list.
fn lock(memory: &Mutex<Vec<Memory>>) -> std::sync::MutexGuard<'_, Vec<Memory>> {
    memory.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Waits (bounded) until `cond` holds.
    async fn eventually(cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached within 5 s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_at_most_workers_and_refuses_beyond_the_queue() {
        let pool = HashPool::new(2, 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let mut jobs = Vec::new();
        for _ in 0..5 {
            let (pool, running, peak, gate) =
                (pool.clone(), running.clone(), peak.clone(), gate.clone());
            jobs.push(tokio::spawn(async move {
                pool.run(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        // 2 running, 3 waiting: the pool is full.
        eventually(|| {
            running.load(Ordering::SeqCst) == 2 && pool.admitted.available_permits() == 0
        })
        .await;
        assert!(matches!(pool.run(|_| ()).await, Err(PoolError::Overloaded)));
        for _ in 0..5 {
            release.send(()).unwrap();
        }
        for job in jobs {
            assert!(job.await.unwrap().is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "never more than 2 at once");
        // Drained: every permit is back and a new job runs.
        assert_eq!(pool.admitted.available_permits(), 5);
        assert_eq!(pool.workers.available_permits(), 2);
        assert_eq!(pool.run(|_| 7).await.unwrap(), 7);
        assert_eq!(
            lock(&pool.memory).len(),
            2,
            "one argon2 memory per worker, reused"
        );
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_queue() {
        let pool = HashPool::new(1, 1);
        let (release, gate) = mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move |_| {
                    let _ = gate.recv_timeout(Duration::from_secs(5));
                })
                .await
            })
        };
        eventually(|| pool.workers.available_permits() == 0).await;
        // Waits in the queue, then gives up.
        let waited = tokio::time::timeout(Duration::from_millis(50), pool.run(|_| ())).await;
        assert!(waited.is_err(), "the worker is busy, so the job waits");
        assert_eq!(
            pool.admitted.available_permits(),
            1,
            "its queue slot is free again"
        );
        release.send(()).unwrap();
        assert!(busy.await.unwrap().is_ok());
        assert!(pool.run(|_| ()).await.is_ok());
    }

    #[test]
    fn zero_workers_means_one() {
        let pool = HashPool::new(0, 0);
        assert_eq!(pool.workers.available_permits(), 1);
        assert_eq!(pool.admitted.available_permits(), 1);
    }
}
