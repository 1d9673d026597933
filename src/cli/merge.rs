//! `sessionspec merge REPORT.json...`: the shards' JSON reports → [`crate::load::merge`] → the
//! merged summary on stdout, every report format on disk → the exit code of the merged verdict
//! (0 pass, 1 a threshold failed, 2 reports that cannot be merged).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{exit, exit_code, write_load_reports};
use crate::load::merge::{self, Input};
use crate::load::report::{self, LoadReportFormat};
use crate::load::{LoadOutcome, LoadResults};

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The JSON report of every shard (`load --shard I/N --report json:PATH`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub inputs: Vec<PathBuf>,
    /// Write a report of the merged run: `json`, `markdown`, `html` or `junit`, optionally
    /// `:PATH` (default: `reports/merged.json`, `.md`, `.html`); repeatable.
    #[arg(long = "report", value_name = "FORMAT[:PATH]")]
    pub reports: Vec<String>,
    /// A gate judged on the merged data besides the shards' own (`login:p95<250ms`); repeatable.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Drop the default gate (headline succeeded, errors < 1%) even where the shards used it.
    #[arg(long)]
    pub no_default_gate: bool,
}

/// Where a merged report goes when `--report FORMAT` names no path.
fn default_path(format: LoadReportFormat) -> PathBuf {
    PathBuf::from(match format {
        LoadReportFormat::Json => "reports/merged.json",
        LoadReportFormat::Markdown => "reports/merged.md",
        LoadReportFormat::Html => "reports/merged.html",
        LoadReportFormat::Junit => "reports/merged-junit.xml",
    })
}

fn report_targets(args: &MergeArgs) -> Result<Vec<(LoadReportFormat, PathBuf)>, Vec<String>> {
    if args.reports.is_empty() {
        return Ok(LoadReportFormat::ALL
            .iter()
            .map(|f| (*f, default_path(*f)))
            .collect());
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in &args.reports {
        match report::parse_report_arg(r) {
            Ok((f, _)) if !r.contains(':') => out.push((f, default_path(f))),
            Ok(pair) => out.push(pair),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Runs `merge` and returns its exit code.
pub fn run(args: &MergeArgs) -> u8 {
    let fail = |lines: Vec<String>| {
        for l in lines {
            eprintln!("error: {l}");
        }
        exit::ERROR
    };
    let targets = match report_targets(args) {
        Ok(t) => t,
        Err(lines) => return fail(lines),
    };
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in &args.inputs {
        match merge::read_report(path) {
            Ok(results) => inputs.push(Input {
                path: path.display().to_string(),
                results,
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return fail(errors);
    }
    let results = match merge::merge(inputs, &args.thresholds, !args.no_default_gate) {
        Ok(r) => r,
        Err(es) => return fail(es.iter().map(ToString::to_string).collect()),
    };
    for line in window_lines(&results) {
        eprintln!("{line}");
    }
    let mut code = exit_code(results.verdict, None);
    let outcome = LoadOutcome { results };
    if !write_load_reports(&outcome, &targets) && code == exit::OK {
        code = exit::ERROR;
    }
    let mut summary = Vec::new();
    let _ = report::write_terminal(&mut summary, &outcome.results);
    print!("{}", String::from_utf8_lossy(&summary));
    let _ = std::io::stdout().flush();
    code
}

/// `merge: 3 shards, …` and a line per late shard.
fn window_lines(r: &LoadResults) -> Vec<String> {
    let Some(m) = &r.merged else {
        return Vec::new();
    };
    let mut lines = vec![match (&m.overlap_start, &m.overlap_end) {
        (Some(s), Some(e)) => format!(
            "merge: {} shards; their windows overlap {:.3} s ({s} to {e}); the headline counts {} whole second{} of it",
            m.shards.len(),
            m.overlap_s,
            m.headline_seconds,
            if m.headline_seconds == 1 { "" } else { "s" }
        ),
        _ => format!(
            "merge: {} shards; their windows do not overlap: the headline is the sum of the shards' own rates",
            m.shards.len()
        ),
    }];
    if m.headline_seconds == 0 && m.overlap_s > 0.0 {
        lines.push("merge: the overlap holds no whole second: the headline is the sum of the shards' own rates".into());
    }
    if let Some(at) = m.shards.iter().find_map(|s| s.start_at.as_deref()) {
        let late: Vec<String> = m
            .shards
            .iter()
            .map(|s| format!("{}: {} ms", s.index, s.lateness_ms))
            .collect();
        lines.push(format!(
            "merge: windows started after the start instant {at} by (shard: lateness) {}",
            late.join(", ")
        ));
    }
    lines
}
