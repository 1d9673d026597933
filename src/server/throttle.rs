//! Per-account throttling of failed logins (OWASP ASVS 5.0 V6.3.1, V6.1.1): after
//! [`THRESHOLD`] failed logins in a row for one login name, every login of that name, correct
//! password or not, is answered 429 with `Retry-After` for [`LOCK`]. A successful login resets the
//! count, so a load run (correct passwords) is never throttled. Unknown names are tracked like
//! known ones: the lockout itself tells nothing about which accounts exist.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] names are tracked; when the table is full, entries
//! that are not locked are dropped first, then (only if every tracked name is locked) the oldest
//! lock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins in a row that lock a login name.
pub(crate) const THRESHOLD: u32 = 40;
/// How long a locked name is refused.
pub(crate) const LOCK: Duration = Duration::from_secs(60);
/// Most login names tracked at once.
pub(crate) const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
}

/// The failure counts of one server.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    /// How long `name` stays locked, if it is locked at `now`.
    pub(crate) fn locked(&self, name: &str, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(name)
            .and_then(|e| e.locked_until)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Records the outcome of a login of `name` that was not refused as locked.
    pub(crate) fn record(&self, name: &str, success: bool, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if success {
            entries.remove(name);
            return;
        }
        if !entries.contains_key(name) && entries.len() >= MAX_TRACKED {
            entries.retain(|_, e| e.locked_until.is_some_and(|u| u > now));
            if entries.len() >= MAX_TRACKED {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.locked_until)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
        }
        let entry = entries.entry(name.to_owned()).or_insert(Entry {
            failures: 0,
            locked_until: None,
        });
        if entry.locked_until.is_some_and(|u| u <= now) {
            entry.locked_until = None;
        }
        entry.failures += 1;
        if entry.failures >= THRESHOLD {
            entry.failures = 0;
            entry.locked_until = Some(now + LOCK);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_threshold_and_a_success_resets() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..THRESHOLD - 1 {
            t.record("a", false, now);
        }
        assert_eq!(t.locked("a", now), None);
        t.record("a", true, now);
        for _ in 0..THRESHOLD - 1 {
            t.record("a", false, now);
        }
        assert_eq!(t.locked("a", now), None, "the success reset the count");
        t.record("a", false, now);
        assert_eq!(t.locked("a", now), Some(LOCK));
        assert_eq!(t.locked("b", now), None, "per name");
        assert_eq!(t.locked("a", now + LOCK), None, "the lock ends");
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 500 {
            t.record(&format!("user{i}"), false, now);
        }
        assert!(t.tracked() <= MAX_TRACKED);
        // Locked names survive the eviction of unlocked ones.
        for _ in 0..THRESHOLD {
            t.record("locked", false, now);
        }
        for i in 0..MAX_TRACKED {
            t.record(&format!("more{i}"), false, now);
        }
        assert!(t.tracked() <= MAX_TRACKED);
        assert!(t.locked("locked", now).is_some());
    }
}
