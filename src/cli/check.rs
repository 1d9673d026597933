//! `sessionspec check`: arguments → [`CheckPlan`] → [`crate::check::run`] → terminal report on
//! stdout, asked reports on disk → exit code from the outcome's verdict.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::CheckArgs;
use super::common::{load_profile, read_env, stdout_color, var_map, warn_insecure};
use super::{exit, exit_code};
use crate::check::outcome::{CaseStatus, SpecOutcome};
use crate::check::plan::case_matches;
use crate::check::{CheckPlan, Progress, RunOptions};
use crate::report::{
    parse_report_arg, write_report, write_terminal, ReportFormat, TerminalOptions,
};
use crate::spec::{all_specs, load_spec_named, LoadedSpec, Vars};
use crate::stop::Stop;

/// Everything `check` needs, parsed from the command line.
#[derive(Debug)]
pub struct Prepared {
    pub plan: CheckPlan,
    pub reports: Vec<(ReportFormat, PathBuf)>,
}

/// Turns the arguments into a plan: loads the specs, resolves their variables (from `--var` and
/// the process environment), parses the reports. A one-line error otherwise.
pub fn check_plan(args: &CheckArgs) -> Result<Prepared, String> {
    let reports = args
        .reports
        .iter()
        .map(|r| parse_report_arg(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let profile = match &args.target.profile {
        Some(path) => Some(load_profile(path, &args.target.specs_dir)?),
        None => None,
    };
    let mut target_args = args.target.clone();
    if let (None, Some(p)) = (&target_args.target, &profile) {
        target_args.target.clone_from(&p.applied.target);
    }
    let target = target_args.resolve(args.hash_cost)?;
    let mut specs = match &profile {
        Some(p) if args.specs.is_empty() => Vec::new(),
        _ => load_specs(&args.specs, &args.target.specs_dir)?,
    };
    if let Some(p) = &profile {
        let name = &p.spec.spec.name;
        if specs.is_empty() {
            specs.push(p.spec.clone());
        } else if let Some(slot) = specs.iter_mut().find(|s| &s.spec.name == name) {
            *slot = p.spec.clone();
        } else {
            return Err(format!(
                "--profile {} adapts spec `{name}`, which --spec does not name",
                p.applied.path
            ));
        }
    }
    if !args.cases.is_empty() {
        let matches = |l: &LoadedSpec, p: &str| l.spec.cases.iter().any(|c| case_matches(p, &c.id));
        if let Some(p) = args
            .cases
            .iter()
            .find(|p| !specs.iter().any(|l| matches(l, p)))
        {
            return Err(format!(
                "--case {p}: no case of the specs run has a matching id"
            ));
        }
        specs.retain(|l| args.cases.iter().any(|p| matches(l, p)));
    }
    if !args.tags.is_empty() {
        let tagged =
            |l: &LoadedSpec, t: &str| l.spec.cases.iter().any(|c| c.tags.iter().any(|x| x == t));
        if let Some(t) = args
            .tags
            .iter()
            .find(|t| !specs.iter().any(|l| tagged(l, t)))
        {
            return Err(format!("--tag {t}: no case of the specs run has this tag"));
        }
        specs.retain(|l| args.tags.iter().any(|t| tagged(l, t)));
    }
    let mut plan = CheckPlan::new(specs, target);
    plan.profile = profile.map(|p| p.applied);
    plan.tls = args.target.client_tls()?;
    warn_insecure(&plan.tls);
    plan.vars = var_map(&args.target.vars);
    plan.env = read_env(&plan.env_names());
    plan.options = RunOptions {
        timeout: args.target.timeout,
        concurrency: usize::from(args.concurrency),
        max_body: args.max_body,
        strict: args.strict,
        probe: true,
        cases: args.cases.clone(),
        tags: args.tags.clone(),
        fail_fast: args.fail_fast,
        max_transport_errors: args.max_transport_errors,
    };
    for name in plan.vars.keys() {
        let defined = |l: &Arc<LoadedSpec>| l.spec.variables.contains_key(name);
        if !plan.specs.iter().any(defined) {
            let mut known: Vec<&str> = plan
                .specs
                .iter()
                .flat_map(|l| l.spec.variables.keys().map(String::as_str))
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "--var {name}: no spec defines `{name}` (known: {})",
                known.join(", ")
            ));
        }
    }
    for loaded in &plan.specs {
        Vars::from_spec(&loaded.spec, &plan.vars, |n| plan.env.get(n).cloned())
            .map_err(|e| format!("spec `{}`: {e}", loaded.spec.name))?;
    }
    Ok(Prepared { plan, reports })
}

/// Loads the named specs (names or files), or every spec of `dir` (the shipped ones when `dir`
/// does not exist).
fn load_specs(names: &[String], dir: &Path) -> Result<Vec<LoadedSpec>, String> {
    if names.is_empty() {
        let specs = all_specs(dir).map_err(|e| e.to_string())?;
        if specs.is_empty() {
            return Err(format!(
                "no spec files (*.json) in {}: pass --spec FILE or --specs-dir DIR",
                dir.display()
            ));
        }
        return Ok(specs);
    }
    let mut specs: Vec<LoadedSpec> = Vec::new();
    for n in names {
        let loaded = load_spec_named(dir, n).map_err(|e| e.to_string())?;
        if !specs.iter().any(|s| s.path == loaded.path) {
            specs.push(loaded);
        }
    }
    Ok(specs)
}

/// One line per spec on stderr.
struct StderrProgress;

impl Progress for StderrProgress {
    fn spec_started(&self, spec: &LoadedSpec, target: &str) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "sessionspec: checking {} ({} cases) against {target}",
            spec.spec.name,
            spec.spec.cases.len()
        );
    }

    fn spec_finished(&self, outcome: &SpecOutcome) {
        let count = |s: CaseStatus| outcome.cases.iter().filter(|c| c.status == s).count();
        let line = match &outcome.error {
            Some(e) => format!("sessionspec: {}: error: {e}", outcome.name),
            None => format!(
                "sessionspec: {}: {} passed, {} failed, {} errored, {} skipped ({} ms)",
                outcome.name,
                count(CaseStatus::Passed),
                count(CaseStatus::Failed),
                count(CaseStatus::Errored),
                count(CaseStatus::Skipped),
                outcome.duration_ms
            ),
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// Writes each case's reproduction as `DIR/SPEC--CASE.sh` (atomically, executable) and records the
/// path in the outcome; how many were written.
fn write_reproductions(
    outcome: &mut crate::check::outcome::RunOutcome,
    dir: &std::path::Path,
) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut n = 0;
    for spec in &mut outcome.specs {
        for case in &mut spec.cases {
            let Some(repro) = &mut case.reproduction else {
                continue;
            };
            let path = dir.join(format!("{}--{}.sh", spec.name, case.id));
            crate::report::write_atomic(&path, |w| w.write_all(repro.script.as_bytes()))
                .map_err(|e| e.to_string())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
            }
            repro.path = Some(path.display().to_string());
            n += 1;
        }
    }
    Ok(n)
}

/// Runs `check`; returns the exit code.
pub async fn run(args: CheckArgs, stop: &Stop) -> u8 {
    let prepared = match check_plan(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ERROR;
        }
    };
    let mut outcome = crate::check::run(&prepared.plan, stop, &StderrProgress).await;
    let mut repro_failed = false;
    if let Some(dir) = &args.repro_dir {
        match write_reproductions(&mut outcome, dir) {
            Ok(0) => {}
            Ok(n) => eprintln!(
                "sessionspec: wrote {n} reproduction script{} to {}",
                if n == 1 { "" } else { "s" },
                dir.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                repro_failed = true;
            }
        }
    }

    let opts = TerminalOptions {
        color: stdout_color(args.no_color),
        verbose: false,
    };
    let printed = match &outcome.error {
        // The target did not answer: one line, not a report of cases that never ran.
        Some(e) => {
            eprintln!("error: {e}");
            Ok(())
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            write_terminal(&mut stdout, &outcome, &opts).and_then(|()| stdout.flush())
        }
    };
    if let Err(e) = printed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot print the report: {e}");
        }
    }
    let mut code = exit_code(outcome.verdict(), stop.reason());
    if repro_failed && (code == exit::OK || code == exit::FAILED) {
        code = exit::ERROR;
    }
    for (format, path) in &prepared.reports {
        match write_report(*format, &outcome, path) {
            Ok(()) => eprintln!(
                "sessionspec: wrote the {format} report to {}",
                path.display()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                if code == exit::OK || code == exit::FAILED {
                    code = exit::ERROR;
                }
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> CheckArgs {
        let mut argv = vec!["sessionspec", "check"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Check(a) => a,
            other => panic!("not check: {other:?}"),
        }
    }

    #[test]
    fn usage_errors_are_one_line() {
        let e = check_plan(&args(&[
            "--fault",
            "no-revoke",
            "--target",
            "http://127.0.0.1:1",
        ]))
        .unwrap_err();
        assert!(e.starts_with("--fault needs the embedded server"), "{e}");
        let e = check_plan(&args(&["--report", "yaml"])).unwrap_err();
        assert!(e.contains("yaml"), "{e}");
        let e = check_plan(&args(&["--target", "ftp://x"])).unwrap_err();
        assert!(e.contains("http(s)"), "{e}");
        let e = check_plan(&args(&["--spec", "rails-jwt", "--var", "nope=1"])).unwrap_err();
        assert!(
            e.contains("no spec defines `nope`") && e.contains("password"),
            "{e}"
        );
        let e = check_plan(&args(&[
            "--spec",
            "no-such-spec",
            "--specs-dir",
            "no/such/dir",
        ]))
        .unwrap_err();
        assert!(!e.contains('\n') && e.contains("rails-jwt"), "{e}");
        // No such folder: the shipped specs, built in.
        let p = check_plan(&args(&["--specs-dir", "no/such/dir"])).unwrap();
        assert_eq!(p.plan.specs.len(), crate::builtin::SPECS.len());
    }

    #[test]
    fn https_targets_are_accepted() {
        let p = check_plan(&args(&[
            "--spec",
            "rails-jwt",
            "--target",
            "https://127.0.0.1:1/",
        ]))
        .unwrap();
        assert_eq!(p.plan.target.url(), Some("https://127.0.0.1:1"));
    }
}
