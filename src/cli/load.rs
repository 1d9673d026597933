//! `sessionspec load`: arguments → [`LoadPlan`] → [`crate::load::run`] → summary on stdout,
//! reports on disk → exit code from the results' verdict.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::args::LoadArgs;
use super::common::{load_profile, read_env, var_map, warn_insecure};
use super::progress::LoadProgress;
use super::{exit, exit_code};
use crate::load::arrival::Rate;
use crate::load::plan::{Bounds, OpenModel, DEFAULT_USERS};
use crate::load::report::{self, LoadReportFormat};
use crate::load::threshold::parse_all;
use crate::load::{load_scenario_named, LoadOutcome, LoadPlan, LoadResults};
use crate::stop::Stop;

/// Everything `load` needs, parsed from the command line.
#[derive(Debug)]
pub struct Prepared {
    pub plan: LoadPlan,
    pub reports: Vec<(LoadReportFormat, PathBuf)>,
}

/// Turns the arguments into a plan, refusing everything it can before the run (all problems at
/// once where possible).
pub fn load_plan(args: &LoadArgs) -> Result<Prepared, Vec<String>> {
    let mut loaded =
        load_scenario_named(&args.scenarios_dir, &args.scenario, &args.target.specs_dir)
            .map_err(|e| e.lines())?;
    let mut errors: Vec<String> = Vec::new();
    let mut target_args = args.target.clone();
    if let Some(profile) = &args.target.profile {
        let p = load_profile(profile, &args.target.specs_dir).map_err(|e| vec![e])?;
        if p.spec.spec.name != loaded.spec.spec.name {
            return Err(vec![format!(
                "--profile {} adapts spec `{}`, but scenario `{}` runs spec `{}`",
                p.applied.path, p.spec.spec.name, loaded.scenario.name, loaded.spec.spec.name
            )]);
        }
        if target_args.target.is_none() {
            target_args.target.clone_from(&p.applied.target);
        }
        for o in &p.applied.overrides {
            eprintln!("profile: {o}");
        }
        loaded.spec = p.spec;
    }

    let requests = loaded.request_names();
    let mut texts = loaded.scenario.thresholds.clone();
    texts.extend(args.thresholds.iter().cloned());
    let thresholds = parse_all(&texts, &requests).unwrap_or_else(|es| {
        errors.extend(es.into_iter().map(|e| e.to_string()));
        Vec::new()
    });

    let mut reports = Vec::new();
    for r in &args.reports {
        match report::parse_report_arg(r) {
            Ok(pair) => reports.push(pair),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if args.reports.is_empty() {
        reports = LoadReportFormat::ALL
            .iter()
            .map(|f| (*f, f.default_path()))
            .collect();
    }

    // An explicit --run-time always bounds the run (with --iterations, whichever ends first);
    // the scenario's run_time is only the default when no --iterations are asked for.
    // The scenario's `stages` (open model) bound the run themselves; --rate overrides them.
    let staged = args.rate.is_none() && !loaded.scenario.stages.is_empty();
    if staged && (args.run_time.is_some() || args.iterations.is_some()) {
        errors.push(format!(
            "scenario `{}` sets `stages`, which bound the run: --run-time and --iterations go with --rate instead",
            loaded.scenario.name
        ));
    }
    let run_time = match (args.run_time, loaded.scenario.run_time, args.iterations) {
        _ if staged => Some(loaded.scenario.stages_total().as_secs_f64().ceil().max(1.0) as u64),
        (Some(d), _, _) => whole_seconds(d, "--run-time", &mut errors),
        (None, Some(d), None) => whole_seconds(d.0, "the scenario's run_time", &mut errors),
        _ => None,
    };
    if args.iterations == Some(0) {
        errors.push("--iterations must be at least 1".into());
    }
    if run_time.is_none() && args.iterations.is_none() && args.run_time.is_none() {
        errors.push(format!(
            "scenario `{}` sets no run_time: bound the run with --run-time DURATION (e.g. 30s) or --iterations N",
            loaded.scenario.name
        ));
    }
    let users = args
        .users
        .or(loaded.scenario.users)
        .unwrap_or(DEFAULT_USERS);
    if users == 0 {
        errors.push("--users must be at least 1".into());
    }
    let hatch_rate = match &args.hatch_rate {
        Some(s) => match s.trim().parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => r,
            _ => {
                errors.push(format!(
                    "--hatch-rate: `{s}` is not a positive number of users per second"
                ));
                1.0
            }
        },
        None => loaded.scenario.hatch_rate.unwrap_or(users.max(1) as f64),
    };

    // The open model: the pool starts at once, the schedule lasts the run time.
    let open = match &args.rate {
        None if staged => Some(OpenModel {
            stages: loaded.scenario.arrival_stages(),
            warmup: Duration::ZERO,
            allow_dropped: args.allow_dropped,
        }),
        None => {
            if args.allow_dropped {
                errors.push("--allow-dropped needs the open model (--rate)".into());
            }
            None
        }
        Some(text) => match (Rate::parse(text), run_time) {
            (Err(e), _) => {
                errors.push(format!("--rate: {e}"));
                None
            }
            (Ok(_), None) => {
                errors.push("--rate needs a run time (--run-time or the scenario's run_time), not --iterations".into());
                None
            }
            (Ok(rate), Some(secs)) => Some(OpenModel {
                stages: vec![rate.over(Duration::from_secs(secs))],
                warmup: Duration::ZERO,
                allow_dropped: args.allow_dropped,
            }),
        },
    };
    if !staged && open.is_some() && args.iterations.is_some() {
        errors
            .push("--rate and --iterations do not go together: the schedule bounds the run".into());
    }
    let hatch_rate = if open.is_some() && args.hatch_rate.is_none() {
        users.max(1) as f64
    } else {
        hatch_rate
    };

    let mut users = users;
    let mut hatch_rate = hatch_rate;
    let mut open = open;
    let distribution = super::distributed::distribution(
        &args.distributed,
        &loaded,
        super::distributed::Shape {
            users: &mut users,
            hatch_rate: &mut hatch_rate,
            open: &mut open,
            run_time,
            iterations: args.iterations,
        },
        &mut errors,
    );
    let spec = &loaded.spec.spec;
    let vars = var_map(&args.target.vars);
    for name in vars.keys() {
        if !spec.variables.contains_key(name) {
            errors.push(format!(
                "--var {name}: spec `{}` has no such variable (variables: {})",
                spec.name,
                spec.variables
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let target = target_args
        .resolve(args.hash_cost)
        .map_err(|e| errors.push(e));
    let tls = args
        .target
        .client_tls()
        .map_err(|e| errors.push(e))
        .unwrap_or_default();

    let (Ok(target), true) = (target, errors.is_empty()) else {
        return Err(errors);
    };
    let mut plan = LoadPlan {
        scenario: loaded,
        target,
        users,
        hatch_rate,
        bounds: Bounds {
            run_time,
            iterations: args.iterations,
        },
        open,
        thresholds,
        vars,
        env: Default::default(),
        timeout: args.target.timeout,
        default_gate: !args.no_default_gate,
        tls,
        server_metrics: args
            .server_metrics
            .clone()
            .map(|url| (url, args.server_login_metric.clone())),
        distribution,
    };
    warn_insecure(&plan.tls);
    plan.env = read_env(&plan.env_names());
    let spec = &plan.scenario.spec.spec;
    if let Err(e) = crate::spec::Vars::from_spec(spec, &plan.vars, |n| plan.env.get(n).cloned()) {
        return Err(vec![format!("spec `{}`: {e}", spec.name)]);
    }
    Ok(Prepared { plan, reports })
}

fn whole_seconds(d: Duration, what: &str, errors: &mut Vec<String>) -> Option<u64> {
    if d < Duration::from_secs(1) {
        errors.push(format!("{what}: a load run lasts at least 1s"));
        return None;
    }
    // goose counts whole seconds: round up, never run shorter than asked.
    Some(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// Runs `load` and returns its exit code.
pub async fn run(args: LoadArgs, stop: &Stop) -> u8 {
    let prepared = match load_plan(&args) {
        Ok(p) => p,
        Err(lines) => {
            for l in lines {
                eprintln!("error: {l}");
            }
            return exit::ERROR;
        }
    };
    if let Some(line) = super::distributed::describe(&prepared.plan) {
        eprintln!("{line}");
    }
    let progress = LoadProgress::new(args.progress_interval, args.quiet);
    let outcome = crate::load::run(&prepared.plan, stop, &progress).await;
    conclude(outcome, &prepared.reports, stop)
}

/// The end of a `load` (or `--find-max`) run: its reports written, its summary printed, its
/// exit code (the verdict's; 2 when a report cannot be written or the run could not start).
pub fn conclude(
    outcome: Result<LoadOutcome, crate::load::LoadError>,
    reports: &[(LoadReportFormat, PathBuf)],
    stop: &Stop,
) -> u8 {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return if stop.is_stopped() {
                exit_code(crate::verdict::Verdict::Interrupted, stop.reason())
            } else {
                exit::ERROR
            };
        }
    };
    let mut code = exit_code(outcome.results.verdict, stop.reason());
    if !write_load_reports(&outcome, reports) && code == exit::OK {
        code = exit::ERROR;
    }
    if let Some(e) = &outcome.results.error {
        // The target did not answer: one line, not a summary of a run that never happened.
        eprintln!("error: {e}");
        return code;
    }
    // Rendered first, printed with `print!` (which the test harness captures).
    let mut summary = Vec::new();
    let _ = report::write_terminal(&mut summary, &outcome.results);
    print!("{}", String::from_utf8_lossy(&summary));
    let _ = std::io::stdout().flush();
    code
}

pub fn write_load_reports(outcome: &LoadOutcome, reports: &[(LoadReportFormat, PathBuf)]) -> bool {
    let results: &LoadResults = &outcome.results;
    let mut ok = true;
    for (format, path) in reports {
        let written = match format {
            LoadReportFormat::Json => {
                crate::report::write_atomic(path, |w| report::write_json(w, results))
                    .map_err(|e| e.to_string())
            }
            LoadReportFormat::Markdown => {
                crate::report::write_atomic(path, |w| report::write_markdown(w, results))
                    .map_err(|e| e.to_string())
            }
            LoadReportFormat::Html => crate::report::write_atomic(path, |w| {
                crate::load::html::write_html(
                    w,
                    results,
                    &crate::load::html::Plots::from_results(results),
                )
            })
            .map_err(|e| e.to_string()),
            LoadReportFormat::Junit => {
                crate::report::write_atomic(path, |w| crate::load::junit::write_junit(w, results))
                    .map_err(|e| e.to_string())
            }
        };
        match written {
            Ok(()) => eprintln!("wrote {} report: {}", format.as_str(), path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    ok
}
