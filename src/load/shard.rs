//! Distributed runs: one run is shard `I` of `N` (`load --shard I/N`), runs its share of the
//! users (or of the arrival rate), numbers its users globally so that no two shards share a
//! user number or an account row, and may wait for a common start instant (`--start-at`) so that
//! the shards' measured windows line up. The JSON report records the shard and its window
//! ([`ShardInfo`]); `sessionspec merge` ([`super::merge`]) adds the shards up.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::accounts::Accounts;
use super::arrival::Stage;

/// Which shard of how many a run is (`index` counts from 0, like a Kubernetes Indexed Job's
/// `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// A `--shard` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("shard `{0}`: write INDEX/COUNT with INDEX counted from 0, e.g. `0/4` … `3/4`")]
    Syntax(String),
    #[error(
        "shard `{index}/{count}`: the index counts from 0 and must be below the count ({count})"
    )]
    OutOfRange { index: usize, count: usize },
    #[error("{users} users cannot be shared by {count} shards: every shard needs at least one user (raise --users to {count} or more)")]
    TooFewUsers { users: usize, count: usize },
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(text.to_owned());
        let (i, n) = text.trim().split_once('/').ok_or_else(syntax)?;
        let index: usize = i.trim().parse().map_err(|_| syntax())?;
        let count: usize = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }

    /// Shard `index` of `count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// This shard's share of `total` users: `(first global user number, users)`. Users are
    /// dealt out as evenly as they go (the first `total % count` shards take one more), so the
    /// ranges of the shards are disjoint and cover `0..total`.
    pub fn share(self, total: usize) -> Result<(usize, usize), ShardError> {
        if total < self.count {
            return Err(ShardError::TooFewUsers {
                users: total,
                count: self.count,
            });
        }
        let (base, extra) = (total / self.count, total % self.count);
        let first = self.index * base + self.index.min(extra);
        Ok((first, base + usize::from(self.index < extra)))
    }

    /// This shard's share of an arrival schedule: every rate divided by the count.
    pub fn share_stages(self, stages: &[Stage]) -> Vec<Stage> {
        let n = self.count as f64;
        stages
            .iter()
            .map(|s| Stage {
                duration_s: s.duration_s,
                from_per_s: s.from_per_s / n,
                to_per_s: s.to_per_s / n,
            })
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How one process takes part in a distributed run (all empty for a run on its own).
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    /// `None`: the run is not a shard (it may still use accounts or a start instant).
    pub shard: Option<Shard>,
    /// Global number of this process's first user (`{{$user}}` of its first user).
    pub first_user: usize,
    /// This process's rows of `--accounts`, one per user, in user order.
    pub accounts: Option<Accounts>,
    /// The common instant the measured window starts at: the users start before it (ramp-up)
    /// and the totals are reset at it.
    pub start_at: Option<SystemTime>,
}

/// A shard's place in a distributed run, as its JSON report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Counted from 0.
    pub index: usize,
    pub count: usize,
    /// Global number of the shard's first user.
    pub first_user: usize,
    /// Users of the shard (global numbers `first_user..first_user + users`).
    pub users: usize,
    /// The common start instant (RFC 3339, UTC) the shard was given, if any.
    pub start_at: Option<String>,
    /// RFC 3339 wall clock of the shard's measured window: start and end.
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    /// How late the window started after `start_at`, in milliseconds (0 when on time or
    /// without a start instant): the shard was started too late, or its ramp-up took longer.
    pub lateness_ms: u64,
}

/// Which shards a merged report adds up, and the window its headline rate is measured over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// Every shard, by index.
    pub shards: Vec<ShardInfo>,
    /// The overlap of the shards' windows (latest start, earliest end), RFC 3339; `None` when
    /// the windows do not overlap.
    pub overlap_start: Option<String>,
    pub overlap_end: Option<String>,
    /// Seconds of the overlap (0 when the windows do not overlap).
    pub overlap_s: f64,
    /// Whole wall-clock seconds of the overlap that the headline rate counts (from the
    /// per-second series); 0 when the headline is the sum of the shards' own rates instead.
    pub headline_seconds: u64,
}

/// RFC 3339 (UTC, milliseconds) of a wall-clock time.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Parses what [`rfc3339`] writes (or any RFC 3339 UTC time).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z'))
        .ok()
        .or_else(|| humantime::parse_rfc3339(text.trim()).ok())
}

/// A shard's info from its plan and what it measured: the window is `started_at` and
/// `duration_s` of its results.
pub fn shard_info(
    shard: Shard,
    first_user: usize,
    users: usize,
    start_at: Option<SystemTime>,
    started_at: Option<&str>,
    duration_s: f64,
) -> ShardInfo {
    let start = started_at.and_then(parse_rfc3339);
    let end = start.map(|s| s + Duration::from_secs_f64(duration_s.max(0.0)));
    let lateness_ms = match (start_at, start) {
        (Some(at), Some(s)) => s
            .duration_since(at)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        _ => 0,
    };
    ShardInfo {
        index: shard.index,
        count: shard.count,
        first_user,
        users,
        start_at: start_at.map(rfc3339),
        window_start: start.map(rfc3339),
        window_end: end.map(rfc3339),
        lateness_ms,
    }
}

/// One line on a shard's or a merged report's distribution (`None` for a run on its own).
pub fn describe(r: &super::LoadResults) -> Option<String> {
    if let Some(m) = &r.merged {
        let late = m.shards.iter().map(|s| s.lateness_ms).max().unwrap_or(0);
        return Some(format!(
            "merged from {} shards; their windows overlap {:.3} s; the headline counts {} whole second{} of it{}; latest window start {late} ms after the start instant",
            m.shards.len(),
            m.overlap_s,
            m.headline_seconds,
            if m.headline_seconds == 1 { "" } else { "s" },
            if m.headline_seconds == 0 { " (it is the sum of the shards' rates)" } else { "" },
        ));
    }
    r.shard.as_ref().map(|s| {
        format!(
            "shard {}/{}: users {}..={} of the run; window {} to {}, {} ms after the start instant",
            s.index,
            s.count,
            s.first_user,
            (s.first_user + s.users).saturating_sub(1),
            s.window_start.as_deref().unwrap_or("-"),
            s.window_end.as_deref().unwrap_or("-"),
            s.lateness_ms
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_disjoint_and_cover_every_user() {
        for count in 1..7 {
            for total in count..40 {
                let mut next = 0;
                for index in 0..count {
                    let (first, n) = Shard::new(index, count).unwrap().share(total).unwrap();
                    assert_eq!(first, next, "{index}/{count} of {total}");
                    assert!(n >= 1);
                    next += n;
                }
                assert_eq!(next, total);
            }
        }
        assert!(matches!(
            Shard::new(0, 3).unwrap().share(2),
            Err(ShardError::TooFewUsers { .. })
        ));
    }

    #[test]
    fn parses_index_over_count() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(matches!(
            Shard::parse("4/4"),
            Err(ShardError::OutOfRange { .. })
        ));
        assert!(matches!(Shard::parse("1"), Err(ShardError::Syntax(_))));
        assert!(matches!(Shard::parse("a/2"), Err(ShardError::Syntax(_))));
        assert!(matches!(
            Shard::parse("0/0"),
            Err(ShardError::OutOfRange { .. })
        ));
    }

    #[test]
    fn window_and_lateness() {
        let at = parse_rfc3339("2026-01-02T03:04:05.000Z").unwrap();
        let s = shard_info(
            Shard::new(1, 2).unwrap(),
            5,
            5,
            Some(at),
            Some("2026-01-02T03:04:05.250Z"),
            2.5,
        );
        assert_eq!(s.lateness_ms, 250);
        assert_eq!(s.window_end.as_deref(), Some("2026-01-02T03:04:07.750Z"));
        assert_eq!(s.start_at.as_deref(), Some("2026-01-02T03:04:05.000Z"));
    }
}
