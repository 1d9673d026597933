//! `sessionspec load`: loads and checks the scenario, parses thresholds and reports, starts the
//! reference server (unless `--target`), runs goose, then prints the summary and writes reports.
//!
//! Exit codes: 0 every threshold held, 1 a threshold was violated, 2 usage/scenario/run error,
//! 130/143 interrupted by SIGINT/SIGTERM (what was measured is still reported).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use goose::metrics::GooseCoordinatedOmissionMitigation;
use indexmap::IndexMap;

use super::compile::{compile, Plan};
use super::control::{self, Interruption};
use super::report::{self, LoadReportFormat};
use super::results::{self, LoadResults, RunInfo, Verdict};
use super::runner::{self, Counters, RunSettings};
use super::scenario::{find_scenario, load_scenario, LoadedScenario, DEFAULT_USERS};
use super::threshold::{parse_all, Threshold};
use crate::cli::{exit, LoadArgs};
use crate::server::{self, Dialect, Fault, HashCost, ServerConfig};
use crate::spec::Vars;

/// Everything decided before the run.
struct Prepared {
    loaded: LoadedScenario,
    thresholds: Vec<Threshold>,
    reports: Vec<(LoadReportFormat, PathBuf)>,
    settings: RunSettings,
    co_name: String,
    vars: Vars,
    target: Target,
}

enum Target {
    Url(String),
    Embedded(ServerConfig),
}

/// Runs `load` and returns its exit code.
pub async fn run(args: LoadArgs) -> u8 {
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(lines) => {
            for l in lines {
                eprintln!("error: {l}");
            }
            return exit::ERROR;
        }
    };
    let (server, host) = match &prepared.target {
        Target::Url(u) => (None, u.clone()),
        Target::Embedded(config) => match server::start(config.clone()).await {
            Ok(s) => {
                let url = s.base_url();
                (Some(s), url)
            }
            Err(e) => {
                eprintln!("error: cannot start the reference server: {e}");
                return exit::ERROR;
            }
        },
    };
    let code = run_with(prepared, host).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    code
}

async fn run_with(mut p: Prepared, host: String) -> u8 {
    let prefix = reqwest::Url::parse(&host)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let plan: Plan = match compile(&p.loaded, &p.vars, &prefix) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {}: {e}", p.loaded.path.display());
            return exit::ERROR;
        }
    };
    p.settings.host = host.clone();

    // goose writes its HTML report to a temporary file beside the destination, renamed into
    // place once the run is over: a reader never sees half a report.
    let html = p
        .reports
        .iter()
        .find(|(f, _)| *f == LoadReportFormat::Html)
        .map(|(_, path)| path.clone());
    let html_tmp = match html.as_ref().map(|path| html_temp(path)).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    p.settings.html_report = html_tmp.as_ref().map(|t| t.display().to_string());

    control::install_logger();
    let interruption = Arc::new(Interruption::default());
    let signals = match control::watch_signals(Arc::clone(&interruption)) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let counters = Arc::new(Counters::new(plan.requests.len()));
    let progress = control::progress_wanted()
        .then(|| control::progress(Arc::clone(&counters), p.settings.users));
    eprintln!(
        "load: `{}` with {} user{} against {} ({})…",
        p.loaded.scenario.name,
        p.settings.users,
        if p.settings.users == 1 { "" } else { "s" },
        host,
        match (p.settings.iterations, p.settings.run_time) {
            (Some(n), _) => format!("{n} iteration{} per user", if n == 1 { "" } else { "s" }),
            (None, Some(s)) => format!("{s}s"),
            (None, None) => "unbounded".into(),
        }
    );
    let outcome = runner::execute(&plan, &p.settings, &counters).await;
    if let Some(h) = progress {
        h.abort();
        control::clear_progress();
    }
    drop(signals);
    let metrics = match outcome {
        Ok(m) => m,
        Err(e) => {
            if let Some(t) = &html_tmp {
                let _ = std::fs::remove_file(t);
            }
            eprintln!("error: the load run failed: {e}");
            return interruption.exit_code().unwrap_or(exit::ERROR);
        }
    };

    let info = RunInfo {
        scenario: p.loaded.scenario.name.clone(),
        spec: p.loaded.spec.spec.name.clone(),
        target: host,
        requests: plan.requests.clone(),
        headline: p.loaded.headline(),
        co_mitigation: p.co_name.clone(),
        metrics_reset: p.settings.iterations.is_none(),
        skipped: plan
            .requests
            .iter()
            .zip(&counters.skipped)
            .map(|((name, _), n)| (name.clone(), n.load(Ordering::Relaxed)))
            .collect(),
        interrupted: interruption.signal().map(str::to_owned),
    };
    let mut results = results::collect(&metrics, &info);
    judge(&mut results, &p.thresholds);

    let mut code = match (interruption.exit_code(), results.verdict) {
        (Some(c), _) => c,
        (None, Verdict::Failed) => exit::FAILED,
        (None, _) => exit::OK,
    };
    if write_reports(&results, &p.reports, html_tmp.as_deref(), html.as_deref()).is_err()
        && code == exit::OK
    {
        code = exit::ERROR;
    }
    // Rendered first, printed with `print!` (which the test harness captures).
    let mut summary = Vec::new();
    let _ = report::write_terminal(&mut summary, &results);
    print!("{}", String::from_utf8_lossy(&summary));
    let _ = std::io::stdout().flush();
    code
}

/// Evaluates the thresholds into the results and sets the verdict.
pub fn judge(results: &mut LoadResults, thresholds: &[Threshold]) {
    results.thresholds = thresholds.iter().map(|t| t.evaluate(results)).collect();
    if results.interrupted.is_some() {
        results.verdict = Verdict::Interrupted;
    } else if results.thresholds.iter().any(|t| !t.passed) {
        results.verdict = Verdict::Failed;
    } else {
        results.verdict = Verdict::Passed;
    }
}

/// A temporary `.html` path beside `dest` for goose to write into.
fn html_temp(dest: &std::path::Path) -> Result<PathBuf, String> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "cannot create the report directory `{}`: {e}",
            dir.display()
        )
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".sessionspec-load-")
        .suffix(".html")
        .tempfile_in(&dir)
        .map_err(|e| format!("cannot create a report in `{}`: {e}", dir.display()))?;
    tmp.into_temp_path()
        .keep()
        .map_err(|e| format!("cannot keep a temporary report file: {e}"))
}

fn write_reports(
    results: &LoadResults,
    reports: &[(LoadReportFormat, PathBuf)],
    html_tmp: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
) -> Result<(), ()> {
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
            LoadReportFormat::Html => match (html_tmp, html) {
                (Some(tmp), Some(dest)) if tmp.is_file() => publish(tmp, dest)
                    .map_err(|e| format!("cannot write the report `{}`: {e}", dest.display())),
                _ => Err(format!(
                    "goose wrote no HTML report for `{}`",
                    path.display()
                )),
            },
        };
        match written {
            Ok(()) => eprintln!("wrote {} report: {}", format.as_str(), path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    if let Some(tmp) = html_tmp {
        let _ = std::fs::remove_file(tmp);
    }
    if ok {
        Ok(())
    } else {
        Err(())
    }
}

/// Renames goose's finished report into place, readable like any other report.
fn publish(tmp: &std::path::Path, dest: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o644))?;
    }
    std::fs::rename(tmp, dest)
}

/// Everything that can be refused before the run, all problems at once where possible.
fn prepare(args: &LoadArgs) -> Result<Prepared, Vec<String>> {
    let path =
        find_scenario(&args.scenarios_dir, &args.scenario).map_err(|e| vec![e.to_string()])?;
    let loaded = load_scenario(&path, &args.specs_dir).map_err(|e| e.lines())?;
    let mut errors: Vec<String> = Vec::new();

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
    let run_time = match (args.run_time, loaded.scenario.run_time, args.iterations) {
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
    let (co, co_name) = match args.co_mitigation.trim().to_ascii_lowercase().as_str() {
        "disabled" | "off" | "none" => (GooseCoordinatedOmissionMitigation::Disabled, "disabled"),
        "average" => (GooseCoordinatedOmissionMitigation::Average, "average"),
        "minimum" => (GooseCoordinatedOmissionMitigation::Minimum, "minimum"),
        "maximum" => (GooseCoordinatedOmissionMitigation::Maximum, "maximum"),
        other => {
            errors.push(format!(
                "--co-mitigation: `{other}` is not one of disabled, average, minimum, maximum"
            ));
            (GooseCoordinatedOmissionMitigation::Disabled, "disabled")
        }
    };

    let vars = variables(&loaded, &args.vars, &mut errors);
    let target = target(args, &loaded, &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Prepared {
        thresholds,
        reports,
        settings: RunSettings {
            host: String::new(),
            users,
            hatch_rate,
            run_time,
            iterations: args.iterations,
            co_mitigation: co,
            html_report: None,
        },
        co_name: co_name.to_owned(),
        vars: vars.unwrap_or_default(),
        target: target.unwrap_or(Target::Url(String::new())),
        loaded,
    })
}

fn whole_seconds(d: Duration, what: &str, errors: &mut Vec<String>) -> Option<u64> {
    if d < Duration::from_secs(1) {
        errors.push(format!("{what}: a load run lasts at least 1s"));
        return None;
    }
    // goose counts whole seconds: round up, never run shorter than asked.
    Some(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

fn variables(loaded: &LoadedScenario, given: &[String], errors: &mut Vec<String>) -> Option<Vars> {
    let spec = &loaded.spec.spec;
    let mut overrides = IndexMap::new();
    for v in given {
        match crate::spec::parse_var(v) {
            Ok((name, value)) if spec.variables.contains_key(&name) => {
                overrides.insert(name, value);
            }
            Ok((name, _)) => errors.push(format!(
                "--var {name}: spec `{}` has no such variable (variables: {})",
                spec.name,
                spec.variables
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(e) => errors.push(e),
        }
    }
    Vars::from_spec(spec, &overrides, |k| std::env::var(k).ok())
        .map_err(|e| errors.push(e.to_string()))
        .ok()
}

fn target(args: &LoadArgs, loaded: &LoadedScenario, errors: &mut Vec<String>) -> Option<Target> {
    if let Some(url) = &args.target {
        if !args.faults.is_empty() {
            errors.push("--fault switches the built-in reference server: it cannot be combined with --target".into());
        }
        return match reqwest::Url::parse(url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(Target::Url(url.trim().trim_end_matches('/').to_owned()))
            }
            _ => {
                errors.push(format!(
                    "--target: `{url}` is not an http(s) URL such as http://127.0.0.1:8080"
                ));
                None
            }
        };
    }
    let spec = &loaded.spec.spec;
    let dialect = match spec.dialect().parse::<Dialect>() {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(format!(
                "spec `{}`: {e}; pass --target to load another server",
                spec.name
            ));
            None
        }
    };
    let faults: Vec<Fault> = args
        .faults
        .iter()
        .filter_map(|f| {
            f.parse()
                .map_err(|e| errors.push(format!("--fault: {e}")))
                .ok()
        })
        .collect();
    let hash_cost: Option<HashCost> = args
        .hash_cost
        .parse()
        .map_err(|e| errors.push(format!("--hash-cost: {e}")))
        .ok();
    let mut config = ServerConfig::new(dialect?);
    config.faults = faults;
    config.hash_cost = hash_cost?;
    Some(Target::Embedded(config))
}
