//! Load reports: the terminal summary, JSON and Markdown, each a pure function of one
//! [`LoadResults`] into any `W: Write` (HTML in `load::html`, JUnit in `load::junit`); plus
//! `--report FORMAT[:PATH]` parsing.

use std::io::{self, Write};
use std::path::PathBuf;

use super::results::{Gate, Latency, LoadResults, Model, OperationStats, Verdict};

/// A load report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadReportFormat {
    /// Our results as JSON.
    Json,
    /// Our results as Markdown.
    Markdown,
    /// Our self-contained HTML page with plots (`load::html`).
    Html,
    /// JUnit XML, one test case per threshold (`load::junit`); only when asked.
    Junit,
}

impl LoadReportFormat {
    /// The reports a run writes when no `--report` is given.
    pub const ALL: [LoadReportFormat; 3] = [
        LoadReportFormat::Json,
        LoadReportFormat::Markdown,
        LoadReportFormat::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoadReportFormat::Json => "json",
            LoadReportFormat::Markdown => "markdown",
            LoadReportFormat::Html => "html",
            LoadReportFormat::Junit => "junit",
        }
    }

    /// `reports/load.json`, `reports/load.md`, `reports/load.html`.
    pub fn default_path(self) -> PathBuf {
        PathBuf::from(match self {
            LoadReportFormat::Json => "reports/load.json",
            LoadReportFormat::Markdown => "reports/load.md",
            LoadReportFormat::Html => "reports/load.html",
            LoadReportFormat::Junit => "reports/load-junit.xml",
        })
    }
}

/// A `--report` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportArgError {
    #[error("unknown load report format `{0}`: expected json, markdown, html or junit, optionally followed by `:PATH` (e.g. `json:out/load.json`)")]
    UnknownFormat(String),
    #[error(
        "`--report {0}:` has an empty path: give one after the colon, or write `--report {0}`"
    )]
    EmptyPath(String),
}

/// Parses `FORMAT[:PATH]`.
pub fn parse_report_arg(s: &str) -> Result<(LoadReportFormat, PathBuf), ReportArgError> {
    let (fmt, path) = match s.split_once(':') {
        Some((f, p)) => (f.trim(), Some(p.trim())),
        None => (s.trim(), None),
    };
    let format = match fmt.to_ascii_lowercase().as_str() {
        "json" => LoadReportFormat::Json,
        "markdown" | "md" => LoadReportFormat::Markdown,
        "html" => LoadReportFormat::Html,
        "junit" => LoadReportFormat::Junit,
        _ => return Err(ReportArgError::UnknownFormat(fmt.to_owned())),
    };
    let path = match path {
        Some("") => return Err(ReportArgError::EmptyPath(fmt.to_owned())),
        Some(p) => PathBuf::from(p),
        None => format.default_path(),
    };
    Ok((format, path))
}

/// The results as pretty JSON.
pub fn write_json<W: Write>(mut w: W, r: &LoadResults) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, r).map_err(io::Error::other)?;
    writeln!(w)
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}ms")
    } else if v >= 10.0 {
        format!("{v:.1}ms")
    } else {
        format!("{v:.2}ms")
    }
}

/// One table row per request name, then `all`, with the latency `pick` chooses.
pub(crate) fn rows(
    r: &LoadResults,
    pick: fn(&OperationStats) -> Option<Latency>,
) -> Vec<[String; 11]> {
    r.operations
        .iter()
        .chain(std::iter::once(&r.total))
        .map(|o: &OperationStats| {
            let l = pick(o);
            let lat = |f: fn(&super::results::Latency) -> f64| {
                l.as_ref().map_or("-".to_string(), |l| ms(f(l)))
            };
            [
                o.name.clone(),
                o.method.clone(),
                o.requests.to_string(),
                format!("{:.1}", o.rps),
                if o.requests == 0 {
                    o.failures.to_string()
                } else {
                    format!("{} ({:.1}%)", o.failures, o.error_rate_pct)
                },
                lat(|l| l.p50),
                lat(|l| l.p90),
                lat(|l| l.p95),
                lat(|l| l.p99),
                lat(|l| l.max),
                o.skipped.to_string(),
            ]
        })
        .collect()
}

pub(crate) const HEADERS: [&str; 11] = [
    "request", "method", "requests", "req/s", "errors", "p50", "p90", "p95", "p99", "max",
    "skipped",
];

pub(crate) fn status_line(o: &OperationStats) -> String {
    o.status_codes
        .iter()
        .map(|(code, n)| {
            if *code == 0 {
                format!("no response ×{n}")
            } else {
                format!("{code} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn headline_line(r: &LoadResults) -> String {
    match &r.headline {
        Some(h) => format!(
            "{}: {:.1}  ({} successful `{}` in {:.1} s)",
            headline_label(&h.request),
            h.per_second,
            h.successes,
            h.request,
            r.duration_s
        ),
        None => format!(
            "requests/s: {:.1}  ({} requests in {:.1} s)",
            r.total.rps, r.total.requests, r.duration_s
        ),
    }
}

/// `logins/s` for the usual headline, `` `list`/s `` for another request.
pub fn headline_label(request: &str) -> String {
    if request == "login" {
        "logins/s".into()
    } else {
        format!("`{request}`/s")
    }
}

/// `200/s`, `10/s..400/s`, or stages joined by `, `.
pub fn rate_text(r: &LoadResults) -> String {
    let one = |v: f64| format!("{}/s", round_rate(v));
    r.plan
        .rate
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            if s.from_per_s == s.to_per_s {
                format!("{} for {}s", one(s.from_per_s), round_rate(s.duration_s))
            } else {
                format!(
                    "{}..{} over {}s",
                    one(s.from_per_s),
                    one(s.to_per_s),
                    round_rate(s.duration_s)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn round_rate(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// How the run was shaped and what its latencies measure, in one line.
pub(crate) fn model_line(r: &LoadResults) -> String {
    match r.plan.model {
        Model::Closed => format!(
            "closed model: {} users, {:.1} s measured; latency: from the send to the last byte of the body",
            r.users, r.duration_s
        ),
        Model::Open => format!(
            "open model: arrivals {}{}, pool of {} users ({} started), {:.1} s measured; latency: from each arrival's intended start to the last byte (service time: from the send); dropped arrivals: {}{}",
            rate_text(r),
            if r.plan.warmup_s > 0.0 {
                format!(" (first {}s warm-up, not measured)", round_rate(r.plan.warmup_s))
            } else {
                String::new()
            },
            r.plan.users,
            r.users,
            r.duration_s,
            r.dropped,
            if r.plan.allow_dropped { " (allowed)" } else { "" }
        ),
    }
}

/// The summary printed on stdout after a run.
pub fn write_terminal<W: Write>(mut w: W, r: &LoadResults) -> io::Result<()> {
    writeln!(
        w,
        "load: scenario `{}` (spec {}) against {}",
        r.scenario, r.spec, r.target
    )?;
    writeln!(
        w,
        "      {}{}",
        model_line(r),
        r.interrupted
            .as_deref()
            .map_or(String::new(), |s| format!(", INTERRUPTED by {s}"))
    )?;
    if let Some(e) = &r.error {
        writeln!(w, "      error: {e}; no load was sent")?;
    }
    if r.cancelled > 0 {
        writeln!(
            w,
            "      {} request{} still waiting at the end of the run were cancelled (timeout {} ms)",
            r.cancelled,
            if r.cancelled == 1 { "" } else { "s" },
            r.plan.timeout_ms
        )?;
    }
    writeln!(w)?;
    write_table(&mut w, &rows(r, |o| o.latency_ms))?;
    if r.plan.model == Model::Open {
        writeln!(w)?;
        writeln!(
            w,
            "  service time (from the send, not from the intended start):"
        )?;
        write_table(&mut w, &rows(r, |o| o.service_ms))?;
    }
    writeln!(w)?;
    for o in &r.operations {
        if !o.status_codes.is_empty() {
            writeln!(w, "  status {:<10} {}", o.name, status_line(o))?;
        }
    }
    if let Some(c) = &r.capacity {
        super::capacity_report::write_terminal(&mut w, c, &headline_unit(r))?;
    }
    write_tail(&mut w, r)
}

/// `logins/s` (or the headline request's) for the capacity search's tables.
fn headline_unit(r: &LoadResults) -> String {
    headline_label(r.headline.as_ref().map_or("login", |h| h.request.as_str()))
}

fn write_table<W: Write>(w: &mut W, table: &[[String; 11]]) -> io::Result<()> {
    let mut widths = HEADERS.map(str::len);
    for row in table {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |w: &mut W, cells: &[String]| -> io::Result<()> {
        let mut out = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i < 2 {
                out.push_str(&format!(" {c}{}", " ".repeat(pad)));
            } else {
                out.push_str(&format!(" {}{c}", " ".repeat(pad)));
            }
        }
        writeln!(w, "{}", out.trim_end())
    };
    line(w, &HEADERS.map(String::from))?;
    for row in table {
        line(w, row)?;
    }
    Ok(())
}

fn write_tail<W: Write>(mut w: W, r: &LoadResults) -> io::Result<()> {
    if !r.errors.is_empty() {
        writeln!(w)?;
        writeln!(w, "  errors:")?;
        for e in &r.errors {
            writeln!(w, "    {:>6} × {}: {}", e.count, e.request, e.error)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", headline_line(r))?;
    if let Some(c) = &r.server_count {
        writeln!(w, "{}", c.line())?;
    }
    if !r.thresholds.is_empty() {
        writeln!(w)?;
        writeln!(w, "thresholds:")?;
        for t in &r.thresholds {
            writeln!(
                w,
                "  {} {}  ({}){}",
                if t.passed { "pass" } else { "FAIL" },
                t.threshold,
                t.observed,
                gate_note(t.gate)
            )?;
        }
    }
    writeln!(w)?;
    let verdict = match r.verdict {
        Verdict::Pass => "passed".to_string(),
        Verdict::Incomplete => "incomplete (not every request could be judged)".to_string(),
        Verdict::Error => "ERROR (the run could not judge the target)".to_string(),
        Verdict::Fail => {
            let n = r.thresholds.iter().filter(|t| !t.passed).count();
            format!(
                "FAILED ({n} threshold{} violated)",
                if n == 1 { "" } else { "s" }
            )
        }
        Verdict::Interrupted => "interrupted (partial results)".to_string(),
    };
    writeln!(w, "result: {verdict}")
}

/// ` (default gate)` / ` (always)` after a threshold that the run did not set itself.
pub(crate) fn gate_note(gate: Gate) -> &'static str {
    match gate {
        Gate::Given => "",
        Gate::Default => " (default gate)",
        Gate::Always => " (always: a run where nothing succeeded fails)",
        Gate::Dropped => {
            " (open model: dropped arrivals fail the run; --allow-dropped allows them)"
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The results as Markdown.
pub fn write_markdown<W: Write>(mut w: W, r: &LoadResults) -> io::Result<()> {
    writeln!(w, "# Load run: `{}`", md_escape(&r.scenario))?;
    writeln!(w)?;
    writeln!(w, "- spec: `{}`", md_escape(&r.spec))?;
    writeln!(w, "- target: `{}`", md_escape(&r.target))?;
    if let Some(t) = &r.started_at {
        writeln!(w, "- started: {t}")?;
    }
    writeln!(w, "- {}", md_escape(&model_line(r)))?;
    writeln!(w, "- measured: {:.3} s", r.duration_s)?;
    if let Some(line) = super::shard::describe(r) {
        writeln!(w, "- {}", md_escape(&line))?;
    }
    if let Some(s) = &r.interrupted {
        writeln!(w, "- **interrupted by {s}**: partial results")?;
    }
    if let Some(e) = &r.error {
        writeln!(w, "- **error**: {}; no load was sent", md_escape(e))?;
    }
    writeln!(w, "- request timeout: {} ms", r.plan.timeout_ms)?;
    if r.cancelled > 0 {
        writeln!(
            w,
            "- cancelled: {} requests still waiting when the run ended",
            r.cancelled
        )?;
    }
    writeln!(w, "- verdict: **{}**", r.verdict.as_str())?;
    writeln!(w)?;
    writeln!(w, "**{}**", md_escape(&headline_line(r)))?;
    if let Some(c) = &r.server_count {
        writeln!(w)?;
        writeln!(w, "{}", md_escape(&c.line()))?;
    }
    writeln!(w)?;
    if let Some(c) = &r.capacity {
        super::capacity_report::write_markdown(&mut w, c, &headline_unit(r))?;
    }
    writeln!(w, "## Requests")?;
    writeln!(w)?;
    md_table(&mut w, &rows(r, |o| o.latency_ms))?;
    if r.plan.model == Model::Open {
        writeln!(w)?;
        writeln!(
            w,
            "### Service time (from the send, not from the intended start)"
        )?;
        writeln!(w)?;
        md_table(&mut w, &rows(r, |o| o.service_ms))?;
    }
    writeln!(w)?;
    writeln!(w, "## Status codes")?;
    writeln!(w)?;
    writeln!(w, "| request | statuses |")?;
    writeln!(w, "|---|---|")?;
    for o in &r.operations {
        writeln!(w, "| {} | {} |", md_escape(&o.name), status_line(o))?;
    }
    if !r.errors.is_empty() {
        writeln!(w)?;
        writeln!(w, "## Errors")?;
        writeln!(w)?;
        writeln!(w, "| request | error | count |")?;
        writeln!(w, "|---|---|---:|")?;
        for e in &r.errors {
            writeln!(
                w,
                "| {} | {} | {} |",
                md_escape(&e.request),
                md_escape(&e.error),
                e.count
            )?;
        }
    }
    if !r.thresholds.is_empty() {
        writeln!(w)?;
        writeln!(w, "## Thresholds")?;
        writeln!(w)?;
        writeln!(w, "| threshold | result | observed |")?;
        writeln!(w, "|---|---|---|")?;
        for t in &r.thresholds {
            writeln!(
                w,
                "| `{}`{} | {} | {} |",
                md_escape(&t.threshold),
                gate_note(t.gate),
                if t.passed { "pass" } else { "**FAIL**" },
                md_escape(&t.observed)
            )?;
        }
    }
    Ok(())
}

fn md_table<W: Write>(w: &mut W, table: &[[String; 11]]) -> io::Result<()> {
    writeln!(w, "| {} |", HEADERS.join(" | "))?;
    writeln!(
        w,
        "|{}",
        HEADERS
            .iter()
            .enumerate()
            .map(|(i, _)| if i < 2 { "---|" } else { "---:|" })
            .collect::<String>()
    )?;
    for row in table {
        let cells: Vec<String> = row.iter().map(|c| md_escape(c)).collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::results::{build, ErrorCount, PlanSummary, RunInfo, Sample};
    use crate::load::threshold::Threshold;
    use std::collections::HashMap;

    /// A fixed run: 20 logins (one answered 500), 19 lists, 19 logouts over 2 s.
    fn sample_results() -> LoadResults {
        let info = RunInfo {
            scenario: "drf-login-list-logout".into(),
            spec: "drf-sessions".into(),
            target: "http://127.0.0.1:PORT".into(),
            requests: vec![],
            headline: Some("login".into()),
            plan: PlanSummary {
                users: 4,
                hatch_rate: 4.0,
                ramp_up_s: 1,
                run_time_s: Some(2),
                timeout_ms: 10_000,
                ..PlanSummary::default()
            },
            started_at: Some("2026-01-02T03:04:05.678Z".into()),
            skipped: HashMap::from([("list".to_string(), 1), ("logout".to_string(), 1)]),
            ..RunInfo::default()
        };
        let logins: Vec<u64> = (1..=20).map(|i| i * 10_000).collect();
        let quick: Vec<u64> = (1..=19).map(|i| i * 100).collect();
        let mut r = build(
            &info,
            vec![
                (
                    "login".into(),
                    "POST".into(),
                    Sample::of(19, 1, &logins, &[(201, 19), (500, 1)]),
                ),
                (
                    "list".into(),
                    "GET".into(),
                    Sample::of(19, 0, &quick, &[(200, 19)]),
                ),
                (
                    "logout".into(),
                    "DELETE".into(),
                    Sample::of(19, 0, &quick, &[(204, 19)]),
                ),
            ],
            2.0,
            4,
            vec![ErrorCount {
                request: "login".into(),
                error: "500 Internal Server Error: login".into(),
                count: 1,
            }],
        );
        let thresholds: Vec<Threshold> = ["login:p95<250ms", "errors<1%", "list:errors<=0"]
            .iter()
            .map(|t| Threshold::parse(t).unwrap())
            .collect();
        crate::load::threshold::judge(&mut r, &thresholds, true);
        r
    }

    #[test]
    fn summaries_snapshot() {
        let r = sample_results();
        assert_eq!(r.verdict, Verdict::Fail);
        let mut terminal = Vec::new();
        write_terminal(&mut terminal, &r).unwrap();
        let mut markdown = Vec::new();
        write_markdown(&mut markdown, &r).unwrap();
        let mut json = Vec::new();
        write_json(&mut json, &r).unwrap();
        let back: LoadResults = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, r, "the JSON report reads back as the same results");
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!("load__terminal", String::from_utf8(terminal).unwrap());
            insta::assert_snapshot!("load__markdown", String::from_utf8(markdown).unwrap());
        });
    }

    #[test]
    fn report_args() {
        assert_eq!(
            parse_report_arg("json").unwrap(),
            (LoadReportFormat::Json, PathBuf::from("reports/load.json"))
        );
        assert_eq!(
            parse_report_arg("md:out/x.md").unwrap(),
            (LoadReportFormat::Markdown, PathBuf::from("out/x.md"))
        );
        assert!(matches!(
            parse_report_arg("xml"),
            Err(ReportArgError::UnknownFormat(_))
        ));
        assert!(matches!(
            parse_report_arg("json:"),
            Err(ReportArgError::EmptyPath(_))
        ));
        assert_eq!(
            parse_report_arg("junit").unwrap(),
            (
                LoadReportFormat::Junit,
                PathBuf::from("reports/load-junit.xml")
            )
        );
    }
}
