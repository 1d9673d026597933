//! The flags of a distributed `load` run (`--shard`, `--accounts`, `--start-at`) and the
//! environment a Kubernetes Indexed Job gives every pod (`JOB_COMPLETION_INDEX` with
//! `SESSIONSPEC_SHARDS`), turned into a [`Distribution`] and this shard's share of the users,
//! hatch rate and arrival rate. See `docs/distributed.md`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Args;

use crate::load::accounts::Accounts;
use crate::load::shard::{parse_rfc3339, rfc3339, Distribution, Shard};
use crate::load::{LoadedScenario, OpenModel};

/// Set by a Kubernetes Indexed Job in every pod: the pod's index, from 0.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// How many shards the run has (set it in the Job's pod template beside the index).
pub const SHARDS_ENV: &str = "SESSIONSPEC_SHARDS";

#[derive(Debug, Args, Clone, Default)]
pub struct DistributedArgs {
    /// Run shard I of N (I from 0): this process runs its share of --users (and of --rate),
    /// numbering its users globally. Default: `$JOB_COMPLETION_INDEX/$SESSIONSPEC_SHARDS` when
    /// both are set.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Test accounts: a CSV file whose header names spec variables (`email,password`); user k
    /// of the whole run takes row k (shards take disjoint slices).
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// The common instant the measured window starts at: RFC 3339 (`2026-01-02T03:04:05Z`), or
    /// `+30s` after --start-base. The users start before it (ramp-up) so every shard measures
    /// from the same instant, and the run ends --run-time after it.
    #[arg(long, value_name = "WHEN", env = "SESSIONSPEC_START_AT")]
    pub start_at: Option<String>,
    /// What a relative --start-at (`+30s`) counts from: an RFC 3339 instant shared by every
    /// shard. Default: this process's start (shards started apart then do not line up).
    #[arg(long, value_name = "RFC3339", env = "SESSIONSPEC_START_BASE")]
    pub start_base: Option<String>,
}

/// What the shard changes in the plan being built.
pub struct Shape<'a> {
    /// The whole run's users, replaced by this shard's share.
    pub users: &'a mut usize,
    pub hatch_rate: &'a mut f64,
    pub open: &'a mut Option<OpenModel>,
    pub run_time: Option<u64>,
    pub iterations: Option<usize>,
}

/// The shard from `--shard`, else from the environment.
fn shard(args: &DistributedArgs) -> Result<Option<Shard>, String> {
    if let Some(text) = &args.shard {
        return Shard::parse(text)
            .map(Some)
            .map_err(|e| format!("--shard: {e}"));
    }
    let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (env(INDEX_ENV), env(SHARDS_ENV)) {
        (Some(i), Some(n)) => Shard::parse(&format!("{i}/{n}"))
            .map(Some)
            .map_err(|e| format!("{INDEX_ENV}={i} {SHARDS_ENV}={n}: {e}")),
        (None, Some(n)) => Err(format!(
            "{SHARDS_ENV}={n} is set but {INDEX_ENV} is not: pass --shard I/{n}"
        )),
        (Some(i), None) => {
            // An Indexed Job that does not shard the load: every pod runs the whole load.
            eprintln!(
                "note: {INDEX_ENV}={i} is set but {SHARDS_ENV} is not: this process runs the whole load, not a shard (set {SHARDS_ENV} or pass --shard I/N)"
            );
            Ok(None)
        }
        (None, None) => Ok(None),
    }
}

/// Parses `--start-at` (absolute, or `+DURATION` after `base`, or after `now`).
fn start_at(text: &str, base: Option<&str>, now: SystemTime) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Some(rel) = text.strip_prefix('+') {
        let d = humantime::parse_duration(rel.trim()).map_err(|e| {
            format!("--start-at {text}: `{rel}` is not a duration such as 30s ({e})")
        })?;
        let from = match base {
            Some(b) => parse_rfc3339(b).ok_or_else(|| {
                format!("--start-base {b}: not an RFC 3339 instant such as 2026-01-02T03:04:05Z")
            })?,
            None => now,
        };
        return Ok(from + d);
    }
    parse_rfc3339(text).ok_or_else(|| {
        format!(
            "--start-at {text}: not an RFC 3339 instant (2026-01-02T03:04:05Z) or +DURATION (+30s)"
        )
    })
}

/// The distribution of this process, with the plan's shape changed to this shard's share;
/// problems go to `errors`.
pub fn distribution(
    args: &DistributedArgs,
    loaded: &LoadedScenario,
    shape: Shape<'_>,
    errors: &mut Vec<String>,
) -> Distribution {
    let mut dist = Distribution::default();
    let total = *shape.users;
    match shard(args) {
        Err(e) => errors.push(e),
        Ok(None) => {}
        Ok(Some(s)) => match s.share(total) {
            Err(e) => errors.push(format!("--shard {s}: {e}")),
            Ok((first, users)) => {
                if total > 0 {
                    let share = *shape.hatch_rate * users as f64 / total as f64;
                    *shape.hatch_rate = ((share * 1000.0).round() / 1000.0).max(0.001);
                }
                *shape.users = users;
                if let Some(open) = shape.open.as_mut() {
                    open.stages = s.share_stages(&open.stages);
                }
                dist.shard = Some(s);
                dist.first_user = first;
            }
        },
    }
    if let Some(path) = &args.accounts {
        let spec = &loaded.spec.spec;
        let variables: Vec<String> = spec.variables.keys().cloned().collect();
        match Accounts::read(
            path,
            &spec.name,
            &variables,
            dist.first_user,
            *shape.users,
            total,
        ) {
            Ok(a) => dist.accounts = Some(a),
            Err(e) => errors.push(format!("--accounts: {e}")),
        }
    }
    if let Some(text) = &args.start_at {
        if shape.iterations.is_some() {
            errors
                .push("--start-at needs a time-bounded run (--run-time), not --iterations".into());
        }
        let now = SystemTime::now();
        match start_at(text, args.start_base.as_deref(), now) {
            Err(e) => errors.push(e),
            Ok(at) => {
                let secs = shape.run_time.unwrap_or(0);
                let end = at + Duration::from_secs(secs);
                if end <= now + Duration::from_secs(1) {
                    errors.push(format!(
                        "--start-at {}: the window it starts ended at {} (--run-time {secs}s): nothing left to measure",
                        rfc3339(at),
                        rfc3339(end)
                    ));
                } else if let Ok(late) = now.duration_since(at) {
                    eprintln!(
                        "warning: the start instant {} passed {:.1} s ago: the users start now and this run's window starts late (its lateness is in the report)",
                        rfc3339(at),
                        late.as_secs_f64()
                    );
                }
                if args.start_base.is_none() && text.trim().starts_with('+') {
                    eprintln!(
                        "note: --start-at {} counts from this process's start; give every shard the same --start-base (or an RFC 3339 --start-at) so that their windows line up",
                        text.trim()
                    );
                }
                dist.start_at = Some(at);
            }
        }
    }
    dist
}

/// `shard 1/3: users 4..=7 of the run; window from …` (stderr, before the plan line).
pub fn describe(plan: &crate::load::LoadPlan) -> Option<String> {
    let d = &plan.distribution;
    let mut parts = Vec::new();
    if let Some(s) = d.shard {
        parts.push(format!(
            "shard {s}: users {}..={} of the run ({{{{$user}}}}), {} here",
            d.first_user,
            d.first_user + plan.users.saturating_sub(1),
            plan.users
        ));
    }
    if let Some(a) = &d.accounts {
        parts.push(format!(
            "{} account row{} ({})",
            a.rows.len(),
            if a.rows.len() == 1 { "" } else { "s" },
            a.columns.join(", ")
        ));
    }
    if let Some(at) = d.start_at {
        parts.push(format!(
            "measured from {} for {}s (users start {}s before)",
            rfc3339(at),
            plan.bounds.run_time.unwrap_or(0),
            plan.ramp_up_secs() + 1
        ));
    }
    (!parts.is_empty()).then(|| format!("load: {}", parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_at_absolute_or_relative_to_the_base() {
        let now = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        let at = start_at("+30s", Some("2026-01-02T03:00:00Z"), now).unwrap();
        assert_eq!(rfc3339(at), "2026-01-02T03:00:30.000Z");
        assert_eq!(
            rfc3339(start_at("+1m", None, now).unwrap()),
            "2026-01-02T03:05:05.000Z"
        );
        assert_eq!(
            rfc3339(start_at("2026-01-02T03:04:05.5Z", None, now).unwrap()),
            "2026-01-02T03:04:05.500Z"
        );
        assert!(start_at("soon", None, now)
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(start_at("+x", None, now).unwrap_err().contains("duration"));
        assert!(start_at("+1s", Some("yesterday"), now)
            .unwrap_err()
            .contains("--start-base"));
    }
}
