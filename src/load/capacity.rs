//! Capacity search (`load --find-max 'login:p95<250ms'`): the highest open-model arrival rate
//! at which every objective holds.
//!
//! The search climbs: a first step at the start rate, then each step's rate grows by a factor
//! (or by a fixed amount) until a step breaks an objective or the steps run out. It then refines
//! between the last good and the first bad rate by bisection (`refine` rounds). Each step is one
//! open-model run of the plan (its own embedded server when the target is embedded): a warm-up,
//! not measured, then the measured window. A step **holds** when every objective, the
//! `dropped<=0` gate (an arrival that found no free user breaks the step: the rate was not
//! served) and the rule that something succeeded hold; otherwise it breaks.
//!
//! The decisions are pure functions of the steps tried ([`next`], [`best`]), so the search is
//! tested with synthetic step results; [`find_max`] runs the steps.

use std::time::Duration;

use super::arrival::{Rate, MAX_RATE};
use super::plan::{LoadPlan, OpenModel};
pub use super::results::{Capacity, CapacityStep, Growth, Phase, SearchParams, Stopped};
use super::results::{Gate, LoadResults, ThresholdOutcome, Verdict};
use super::run::{LoadError, LoadOutcome, Observer};
use super::threshold::{Metric, Threshold};
use crate::stop::Stop;

/// Defaults of the command line's flags (see `docs/load.md`, "Capacity search").
pub const DEFAULT_START: f64 = 10.0;
pub const DEFAULT_GROWTH: f64 = 2.0;
pub const DEFAULT_STEP: Duration = Duration::from_secs(10);
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(3);
pub const DEFAULT_MAX_STEPS: usize = 10;
pub const DEFAULT_REFINE: usize = 3;
pub const DEFAULT_CONFIRM: usize = 1;
/// The pool of users serving a step's arrivals unless `--users` says.
pub const DEFAULT_POOL: usize = 100;
/// Besides a step's own bound: starting and stopping its embedded server.
pub const STEP_OVERHEAD: Duration = Duration::from_secs(2);

impl SearchParams {
    /// The rate of the climbing step after one at `rate`.
    pub fn grow(&self, rate: f64) -> f64 {
        let next = match self.growth {
            Growth::Factor(f) => rate * f,
            Growth::Step(s) => rate + s,
        };
        round_rate(next.min(MAX_RATE))
    }

    /// Steps a search runs at most: every climbing step and every refinement, and the runs
    /// confirming each break (the climb's one, and each refinement's).
    pub fn most_steps(&self) -> usize {
        self.max_steps + self.refine + (self.refine + 1) * self.confirm
    }
}

/// A rate to 0.01/s, so that the reports show what was run.
fn round_rate(r: f64) -> f64 {
    (r * 100.0).round() / 100.0
}

/// What the decisions need of a finished step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tried {
    pub phase: Phase,
    pub rate: f64,
    pub passed: bool,
}

/// What the search does next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Run(Phase, f64),
    Done(Stopped),
}

/// The next step of a search that has tried `tried` (in order): pure, so that the search is
/// tested without a server.
///
/// A step that breaks is run again, up to `confirm` times, before it counts as broken: work
/// elsewhere on the machine only ever slows the server, so it can break a step that would hold
/// but never hold one that would break; a rate holds when any of its runs held.
pub fn next(params: &SearchParams, tried: &[Tried]) -> Next {
    if let Some(last) = tried.last() {
        let runs = tried.iter().filter(|t| t.rate == last.rate).count();
        let held = tried.iter().any(|t| t.rate == last.rate && t.passed);
        if !held && runs <= params.confirm {
            return Next::Run(last.phase, last.rate);
        }
    }
    let tried = &collapse(tried);
    let climbs: Vec<&Tried> = tried.iter().filter(|t| t.phase == Phase::Climb).collect();
    let Some(last) = climbs.last() else {
        return Next::Run(Phase::Climb, round_rate(params.start_per_s));
    };
    if last.passed {
        let rate = params.grow(last.rate);
        if climbs.len() >= params.max_steps || rate <= last.rate {
            return Next::Done(Stopped::MaxSteps);
        }
        return Next::Run(Phase::Climb, rate);
    }
    let Some(lo) = best(tried) else {
        return Next::Done(Stopped::FirstStepFailed);
    };
    let hi = tried
        .iter()
        .filter(|t| !t.passed && t.rate > lo)
        .map(|t| t.rate)
        .fold(f64::INFINITY, f64::min);
    let refined = tried.iter().filter(|t| t.phase == Phase::Refine).count();
    let mid = round_rate((lo + hi) / 2.0);
    if refined >= params.refine || !hi.is_finite() || mid <= lo || mid >= hi {
        return Next::Done(Stopped::Broken);
    }
    Next::Run(Phase::Refine, mid)
}

/// One entry per rate tried, in first-run order: held when any of its runs held.
pub fn collapse(tried: &[Tried]) -> Vec<Tried> {
    let mut out: Vec<Tried> = Vec::new();
    for t in tried {
        match out.iter_mut().find(|o| o.rate == t.rate) {
            Some(o) => o.passed |= t.passed,
            None => out.push(*t),
        }
    }
    out
}

/// The lowest rate that broke (every run of it) above the highest that held, if any.
pub fn broke_at(tried: &[Tried]) -> Option<f64> {
    let max = best(tried);
    collapse(tried)
        .iter()
        .filter(|t| !t.passed && max.is_none_or(|m| t.rate > m))
        .map(|t| t.rate)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))))
}

/// The highest rate that held, if any.
pub fn best(tried: &[Tried]) -> Option<f64> {
    tried
        .iter()
        .filter(|t| t.passed)
        .map(|t| t.rate)
        .fold(None, |m, r| Some(m.map_or(r, |m: f64| m.max(r))))
}

/// A capacity search to run: the plan of its steps (scenario, target, pool, timeouts, TLS; its
/// bounds, open model and thresholds are replaced per step), the objectives, the search's shape.
#[derive(Debug, Clone)]
pub struct CapacityPlan {
    pub base: LoadPlan,
    /// Every objective (`--find-max`, the scenario's and `--threshold` thresholds).
    pub objectives: Vec<Threshold>,
    /// Whether `errors<1%` was added because no objective judges errors (shown as the default gate).
    pub default_errors: bool,
    pub search: SearchParams,
}

/// Text of the objective added when none judges errors.
pub const DEFAULT_ERRORS: &str = "errors<1%";

impl CapacityPlan {
    /// Builds a plan, adding `errors<1%` when no objective judges errors: a server that sheds its
    /// load with fast errors does not sustain it.
    pub fn new(base: LoadPlan, mut objectives: Vec<Threshold>, search: SearchParams) -> Self {
        let judges_errors = objectives
            .iter()
            .any(|t| matches!(t.metric, Metric::ErrorRate | Metric::ErrorCount));
        if !judges_errors {
            if let Ok(t) = Threshold::parse(DEFAULT_ERRORS) {
                objectives.push(t);
            }
        }
        CapacityPlan {
            base,
            objectives,
            default_errors: !judges_errors,
            search,
        }
    }

    /// The plan of one step at `rate`: warm-up and measured window at a constant rate, dropped
    /// arrivals not allowed, judged by the objectives alone.
    pub fn step_plan(&self, rate: f64) -> LoadPlan {
        let mut plan = self.base.clone();
        let warmup = Duration::from_secs_f64(self.search.warmup_s);
        let measured = Duration::from_secs_f64(self.search.step_s);
        let rate = Rate {
            from: rate,
            to: rate,
        };
        plan.open = Some(OpenModel {
            stages: vec![rate.over(warmup + measured)],
            warmup,
            allow_dropped: false,
        });
        plan.bounds.iterations = None;
        plan.bounds.run_time = Some((warmup + measured).as_secs_f64().ceil() as u64);
        plan.hatch_rate = plan.users.max(1) as f64;
        plan.thresholds.clone_from(&self.objectives);
        plan.default_gate = false;
        plan
    }

    /// The longest one step may take whatever the target does.
    pub fn step_bound(&self) -> Duration {
        self.step_plan(self.search.start_per_s)
            .bound()
            .unwrap_or_default()
            + Duration::from_secs(1)
            + STEP_OVERHEAD
    }

    /// The longest the whole search may take: every step it may run, each within its bound.
    pub fn bound(&self) -> Duration {
        self.step_bound() * u32::try_from(self.search.most_steps()).unwrap_or(u32::MAX)
    }

    /// The first latency objective, whose value each step's plot point shows.
    pub fn latency_objective(&self) -> Option<&Threshold> {
        self.objectives.iter().find(|t| latency_metric(t.metric))
    }
}

fn latency_metric(m: Metric) -> bool {
    matches!(
        m,
        Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::Max | Metric::Avg
    )
}

/// The value a latency objective reads from a step's results, milliseconds.
pub fn latency_of(t: &Threshold, r: &LoadResults) -> Option<f64> {
    let l = r.stats(t.request.as_deref())?.latency_ms?;
    Some(match t.metric {
        Metric::P50 => l.p50,
        Metric::P90 => l.p90,
        Metric::P95 => l.p95,
        Metric::P99 => l.p99,
        Metric::Max => l.max,
        Metric::Avg => l.avg,
        _ => return None,
    })
}

/// Hears about a search as it goes.
pub trait SearchObserver: Send + Sync {
    /// Step `n` (from 1) at `rate` is about to run.
    fn step_started(&self, _n: usize, _phase: Phase, _rate: f64) {}
    /// A step is measured and judged.
    fn step_finished(&self, _step: &CapacityStep) {}
}

impl SearchObserver for super::run::Silent {}

/// Shows the added `errors<1%` as the default gate it is.
fn mark_default_errors(plan: &CapacityPlan, thresholds: &mut [ThresholdOutcome]) {
    if plan.default_errors {
        for t in thresholds {
            if t.threshold == DEFAULT_ERRORS && t.gate == Gate::Given {
                t.gate = Gate::Default;
            }
        }
    }
}

/// The step as the reports show it, from its judged results.
pub fn summarize_step(
    plan: &CapacityPlan,
    n: usize,
    phase: Phase,
    rate: f64,
    r: &LoadResults,
) -> CapacityStep {
    let mut thresholds = r.thresholds.clone();
    mark_default_errors(plan, &mut thresholds);
    CapacityStep {
        step: n,
        phase,
        rate_per_s: rate,
        passed: r.verdict == Verdict::Pass,
        interrupted: r.verdict == Verdict::Interrupted,
        headline_per_s: r.headline.as_ref().map(|h| h.per_second),
        requests: r.total.requests,
        failures: r.total.failures,
        error_rate_pct: r.total.error_rate_pct,
        dropped: r.dropped,
        duration_s: r.duration_s,
        latency_ms: plan.latency_objective().and_then(|t| latency_of(t, r)),
        thresholds,
    }
}

/// Runs the search to its end (a broken step and the refinement, the last step, or `stop`) and
/// returns the results of the step at the highest rate that held (of the first step when none
/// held), carrying the whole search in [`LoadResults::capacity`]. The verdict: `pass` when a
/// rate held, `fail` when even the first step broke, `interrupted` or `error` when a step was.
pub async fn find_max(
    plan: &CapacityPlan,
    stop: &Stop,
    progress: &dyn Observer,
    observer: &dyn SearchObserver,
) -> Result<LoadOutcome, LoadError> {
    let mut tried: Vec<Tried> = Vec::new();
    let mut steps: Vec<CapacityStep> = Vec::new();
    // The results of the best step so far, and of the first step (reported when none held).
    let mut best_results: Option<(f64, LoadResults)> = None;
    let mut first_results: Option<LoadResults> = None;
    let mut stopped = Stopped::Interrupted;
    while !stop.is_stopped() {
        let (phase, rate) = match next(&plan.search, &tried) {
            Next::Run(phase, rate) => (phase, rate),
            Next::Done(why) => {
                stopped = why;
                break;
            }
        };
        let n = steps.len() + 1;
        observer.step_started(n, phase, rate);
        let outcome = super::run::run(&plan.step_plan(rate), stop, progress).await?;
        let results = outcome.results;
        let step = summarize_step(plan, n, phase, rate, &results);
        observer.step_finished(&step);
        let (passed, interrupted, error) = (
            step.passed,
            step.interrupted,
            results.verdict == Verdict::Error,
        );
        steps.push(step);
        if first_results.is_none() {
            first_results = Some(results.clone());
        }
        if interrupted || error {
            if best_results.is_none() {
                first_results = Some(results);
            }
            stopped = if error {
                Stopped::Error
            } else {
                Stopped::Interrupted
            };
            break;
        }
        tried.push(Tried {
            phase,
            rate,
            passed,
        });
        if passed && best_results.as_ref().is_none_or(|(r, _)| rate > *r) {
            best_results = Some((rate, results));
        }
    }
    let max_rate = best(&tried);
    let broke_at = broke_at(&tried);
    let mut results = match (best_results, first_results) {
        (Some((_, r)), _) | (None, Some(r)) => r,
        // Stopped before the first step ran: an empty run of the first step's plan.
        (None, None) => {
            super::run::run(&plan.step_plan(plan.search.start_per_s), stop, progress)
                .await?
                .results
        }
    };
    let capacity = Capacity {
        objectives: plan.objectives.iter().map(|t| t.text.clone()).collect(),
        latency_objective: plan.latency_objective().map(|t| t.text.clone()),
        search: plan.search,
        users: plan.base.users,
        bound_s: plan.bound().as_secs(),
        max_headline_per_s: max_rate.and_then(|m| {
            steps
                .iter()
                .find(|s| s.passed && s.rate_per_s == m)
                .and_then(|s| s.headline_per_s)
        }),
        max_rate_per_s: max_rate,
        broke_at_per_s: broke_at,
        steps,
        stopped,
    };
    if let Some(signal) = stop.reason() {
        results.interrupted = Some(signal.signal_name().to_owned());
        results.verdict = Verdict::Interrupted;
    } else if stopped == Stopped::Error {
        results.verdict = Verdict::Error;
    } else if capacity.max_rate_per_s.is_some() {
        results.verdict = Verdict::Pass;
    } else {
        results.verdict = Verdict::Fail;
    }
    mark_default_errors(plan, &mut results.thresholds);
    results.capacity = Some(capacity);
    Ok(LoadOutcome { results })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SearchParams {
        SearchParams {
            start_per_s: 10.0,
            growth: Growth::Factor(2.0),
            step_s: 10.0,
            warmup_s: 3.0,
            max_steps: 6,
            refine: 3,
            confirm: 0,
        }
    }

    /// Runs the pure search against a server that holds every rate up to `capacity`.
    fn search(p: &SearchParams, capacity: f64) -> (Vec<Tried>, Stopped) {
        let mut tried = Vec::new();
        loop {
            match next(p, &tried) {
                Next::Run(phase, rate) => tried.push(Tried {
                    phase,
                    rate,
                    passed: rate <= capacity,
                }),
                Next::Done(why) => return (tried, why),
            }
            assert!(tried.len() <= p.most_steps(), "bounded: {tried:?}");
        }
    }

    fn rates(tried: &[Tried]) -> Vec<f64> {
        tried.iter().map(|t| t.rate).collect()
    }

    #[test]
    fn climbs_until_a_step_breaks_then_bisects() {
        let (tried, why) = search(&params(), 33.0);
        assert_eq!(why, Stopped::Broken);
        // 10, 20 hold, 40 breaks; bisection 30 (holds), 35 (breaks), 32.5 (holds).
        assert_eq!(rates(&tried), vec![10.0, 20.0, 40.0, 30.0, 35.0, 32.5]);
        assert_eq!(best(&tried), Some(32.5));
        assert_eq!(tried[3].phase, Phase::Refine);
    }

    #[test]
    fn the_answer_is_within_an_eighth_of_the_bracket() {
        // With factor 2 and 3 bisection rounds the answer is below the capacity by at most
        // (hi - lo) / 8 = lo / 8: at least 87.5 % of the capacity, whatever it is.
        for capacity in [11.0, 15.0, 19.9, 20.0, 27.0, 39.9, 41.0, 77.0, 150.0, 299.0] {
            let (tried, _) = search(&params(), capacity);
            let found = best(&tried).unwrap();
            assert!(found <= capacity, "{capacity}: {found}");
            assert!(found >= capacity * 0.875 - 0.01, "{capacity}: {found}");
        }
    }

    #[test]
    fn a_break_is_confirmed_by_a_second_run() {
        let p = SearchParams {
            confirm: 1,
            ..params()
        };
        // Capacity 50, but the first run at 40/s is slowed by other work and breaks.
        let mut tried = Vec::new();
        let mut runs_at_40 = 0;
        while let Next::Run(phase, rate) = next(&p, &tried) {
            if rate == 40.0 {
                runs_at_40 += 1;
            }
            let passed = rate <= 50.0 && !(rate == 40.0 && runs_at_40 == 1);
            tried.push(Tried {
                phase,
                rate,
                passed,
            });
            assert!(tried.len() <= p.most_steps(), "bounded: {tried:?}");
        }
        // 10, 20, 40 (broke), 40 again (held), 80 (broke twice), then 60 ×2, 50, 55 ×2.
        assert_eq!(
            rates(&tried),
            vec![10.0, 20.0, 40.0, 40.0, 80.0, 80.0, 60.0, 60.0, 50.0, 55.0, 55.0]
        );
        assert_eq!(best(&tried), Some(50.0));
        assert_eq!(broke_at(&tried), Some(55.0));
        // Every step breaking: the bound holds with confirmations too.
        let (all, why) = search(&p, 1.0);
        assert_eq!(
            (rates(&all), why),
            (vec![10.0, 10.0], Stopped::FirstStepFailed)
        );
    }

    #[test]
    fn a_first_step_that_breaks_finds_nothing() {
        let (tried, why) = search(&params(), 5.0);
        assert_eq!(why, Stopped::FirstStepFailed);
        assert_eq!(rates(&tried), vec![10.0]);
        assert_eq!(best(&tried), None);
    }

    #[test]
    fn every_step_holding_ends_at_max_steps_with_a_lower_bound() {
        let (tried, why) = search(&params(), 1e9);
        assert_eq!(why, Stopped::MaxSteps);
        assert_eq!(rates(&tried), vec![10.0, 20.0, 40.0, 80.0, 160.0, 320.0]);
        assert_eq!(best(&tried), Some(320.0));
    }

    #[test]
    fn additive_growth_and_no_refinement() {
        let p = SearchParams {
            growth: Growth::Step(15.0),
            refine: 0,
            ..params()
        };
        let (tried, why) = search(&p, 30.0);
        assert_eq!(why, Stopped::Broken);
        assert_eq!(rates(&tried), vec![10.0, 25.0, 40.0]);
        assert_eq!(best(&tried), Some(25.0));
    }

    #[test]
    fn a_noisy_refinement_never_leaves_the_bracket() {
        // A refinement step that breaks below one that held (noise) narrows the bracket from
        // above; the answer stays the highest rate that held.
        let p = params();
        let tried = vec![
            Tried {
                phase: Phase::Climb,
                rate: 10.0,
                passed: true,
            },
            Tried {
                phase: Phase::Climb,
                rate: 20.0,
                passed: false,
            },
            Tried {
                phase: Phase::Refine,
                rate: 15.0,
                passed: false,
            },
        ];
        assert_eq!(next(&p, &tried), Next::Run(Phase::Refine, 12.5));
        assert_eq!(best(&tried), Some(10.0));
    }

    #[test]
    fn rates_are_capped_and_rounded() {
        let p = SearchParams {
            start_per_s: 3.333_333,
            growth: Growth::Factor(1.5),
            ..params()
        };
        assert_eq!(next(&p, &[]), Next::Run(Phase::Climb, 3.33));
        assert_eq!(p.grow(3.33), 5.0);
        assert_eq!(p.grow(MAX_RATE), MAX_RATE);
        let at_cap = [Tried {
            phase: Phase::Climb,
            rate: MAX_RATE,
            passed: true,
        }];
        assert_eq!(next(&p, &at_cap), Next::Done(Stopped::MaxSteps));
    }
}
