//! `sessionspec load --find-max 'login:p95<250ms'`: arguments → [`CapacityPlan`] →
//! [`crate::load::capacity::find_max`] → summary, reports → exit code (0 a rate held, 1 not even
//! the first step, 2 usage errors).

use std::time::Duration;

use super::args::LoadArgs;
use super::exit;
use super::load::{conclude, load_plan, Prepared};
use super::progress::LoadProgress;
use crate::load::arrival::Rate;
use crate::load::capacity::{
    self, CapacityPlan, CapacityStep, Growth, Phase, SearchObserver, SearchParams,
};
use crate::load::report;
use crate::load::threshold::parse_all;
use crate::stop::Stop;

/// Everything a capacity search needs, parsed from the command line.
#[derive(Debug)]
pub struct PreparedSearch {
    pub plan: CapacityPlan,
    pub reports: Vec<(report::LoadReportFormat, std::path::PathBuf)>,
}

/// Turns the arguments into a capacity plan, refusing everything it can before the first step.
pub fn capacity_plan(args: &LoadArgs) -> Result<PreparedSearch, Vec<String>> {
    let f = &args.find_max;
    let mut errors = Vec::new();
    let start = match Rate::parse(&f.start_rate) {
        Ok(r) if r.from == r.to => r.from,
        Ok(_) => {
            errors.push(format!(
                "--start-rate: `{}` is a ramp; give one rate such as 10/s",
                f.start_rate
            ));
            1.0
        }
        Err(e) => {
            errors.push(format!("--start-rate: {e}"));
            1.0
        }
    };
    let growth = match &f.rate_step {
        Some(text) => match Rate::parse(text) {
            Ok(r) if r.from == r.to => Growth::Step(r.from),
            Ok(_) => {
                errors.push(format!("--rate-step: `{text}` is a ramp; give one rate"));
                Growth::Step(1.0)
            }
            Err(e) => {
                errors.push(format!("--rate-step: {e}"));
                Growth::Step(1.0)
            }
        },
        None if f.growth.is_finite() && f.growth > 1.0 && f.growth <= 100.0 => {
            Growth::Factor(f.growth)
        }
        None => {
            errors.push(format!(
                "--growth: {} is not a factor above 1 (e.g. 2 doubles the rate each step)",
                f.growth
            ));
            Growth::Factor(2.0)
        }
    };
    if f.max_steps == 0 {
        errors.push("--max-steps must be at least 1".into());
    }
    if f.step_time < Duration::from_secs(1) {
        errors.push("--step-time: a step is measured for at least 1s".into());
    }
    // The steps' plan: the load flags as for one run (reports, target, TLS, variables, the
    // scenario's and --threshold thresholds), the pool defaulting to a capacity search's.
    let mut one = args.clone();
    one.run_time = Some(f.step_time + f.step_warmup);
    // As --rate does, the search's own rates override the scenario's `stages`.
    one.rate = Some(format!("{start}/s"));
    one.users = Some(args.users.unwrap_or(capacity::DEFAULT_POOL));
    let prepared = load_plan(&one);
    let requests = match &prepared {
        Ok(p) => p.plan.scenario.request_names(),
        Err(_) => Vec::new(),
    };
    let objectives = match &prepared {
        Ok(_) => parse_all(&f.find_max, &requests).unwrap_or_else(|es| {
            errors.extend(es.into_iter().map(|e| format!("--find-max: {e}")));
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    let Prepared { plan, reports } = match prepared {
        Ok(p) => p,
        Err(mut es) => {
            es.extend(errors);
            return Err(es);
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut all = objectives;
    for t in &plan.thresholds {
        if !all.iter().any(|o| o.text == t.text) {
            all.push(t.clone());
        }
    }
    let search = SearchParams {
        start_per_s: start,
        growth,
        step_s: f.step_time.as_secs_f64(),
        warmup_s: f.step_warmup.as_secs_f64(),
        max_steps: f.max_steps,
        refine: f.refine,
        confirm: f.confirm,
    };
    Ok(PreparedSearch {
        plan: CapacityPlan::new(plan, all, search),
        reports,
    })
}

/// `find-max: scenario `x`: from 10/s ×2 per step, …, ends within 338s`.
pub fn plan_line(plan: &CapacityPlan) -> String {
    let s = &plan.search;
    let growth = match s.growth {
        Growth::Factor(f) => format!("×{f}"),
        Growth::Step(r) => format!("+{r}/s"),
    };
    format!(
        "find-max: scenario `{}`: open model from {}/s, {growth} per step, at most {} steps and {} bisection rounds (a break confirmed by {} more run{}), each {}s warm-up + {}s measured, pool of {} users; objectives {}; ends within {}s",
        plan.base.scenario.scenario.name,
        s.start_per_s,
        s.max_steps,
        s.refine,
        s.confirm,
        if s.confirm == 1 { "" } else { "s" },
        s.warmup_s,
        s.step_s,
        plan.base.users,
        plan.objectives
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        plan.bound().as_secs(),
    )
}

/// Prints a line per step on stderr.
struct StepLines;

impl SearchObserver for StepLines {
    fn step_started(&self, n: usize, phase: Phase, rate: f64) {
        let what = match phase {
            Phase::Climb => "step",
            Phase::Refine => "refine",
        };
        eprintln!("find-max: {what} {n} at {rate}/s");
    }

    fn step_finished(&self, step: &CapacityStep) {
        eprintln!(
            "find-max: {}",
            crate::load::capacity_report::step_line(step)
        );
    }
}

/// Runs `load --find-max` and returns its exit code.
pub async fn run(args: LoadArgs, stop: &Stop) -> u8 {
    let prepared = match capacity_plan(&args) {
        Ok(p) => p,
        Err(lines) => {
            for l in lines {
                eprintln!("error: {l}");
            }
            return exit::ERROR;
        }
    };
    eprintln!("{}", plan_line(&prepared.plan));
    let progress = LoadProgress::new(args.progress_interval, args.quiet);
    let outcome = capacity::find_max(&prepared.plan, stop, &progress, &StepLines).await;
    conclude(outcome, &prepared.reports, stop)
}
