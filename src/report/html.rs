//! The HTML report: one self-contained file (inline CSS, no script, no external resource) a person
//! can read: a summary table, the compatibility table when a `--target` was checked, and per spec
//! every case behind a `<details>` (open when it failed) with its checks, expected vs actual, the
//! request and response excerpts and the curl line. Every value is HTML-escaped.

use std::io::{self, Write};

use super::compat::{compatibility_table, CompatVerdict};
use super::summary::{format_duration, is_uncounted_failure, plural, summarize, Verdict};
use crate::check::outcome::{CaseOutcome, CaseStatus, RunOutcome, SpecOutcome, StepOutcome};

const CSS: &str = r#"
:root { --fg:#1f2328; --muted:#59636e; --bg:#fff; --panel:#f6f8fa; --line:#d1d9e0;
  --pass:#1a7f37; --fail:#cf222e; --err:#8250df; --warn:#9a6700; --skip:#59636e; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#e6edf3; --muted:#9198a1; --bg:#0d1117; --panel:#151b23; --line:#3d444d;
    --pass:#3fb950; --fail:#f85149; --err:#ab7df8; --warn:#d29922; --skip:#9198a1; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem;
  margin: .25rem 0; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.meta, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; }
.badge { display: inline-block; min-width: 3.2rem; text-align: center; border-radius: 2em; padding: 0 .55em;
  font-size: 12px; font-weight: 600; color: #fff; vertical-align: middle; }
.pass { background: var(--pass); } .fail { background: var(--fail); } .error { background: var(--err); }
.warn { background: var(--warn); } .skip, .incomplete, .interrupted { background: var(--skip); }
.level { display: inline-block; width: 3.5rem; color: var(--muted); font-size: 13px; }
details.case { border: 1px solid var(--line); border-radius: 6px; margin: .35rem 0; }
details.case > summary { cursor: pointer; padding: .35rem .6rem; list-style-position: inside; }
details.case > div { padding: 0 .9rem .6rem; border-top: 1px solid var(--line); }
.step { margin-top: .6rem; }
.checks td:first-child { width: 1.5rem; font-weight: 700; }
tr.ok td:first-child { color: var(--pass); } tr.ko td:first-child { color: var(--fail); }
.problem { border-left: 4px solid var(--fail); padding: .3rem .75rem; background: var(--panel); margin: .5rem 0; }
.note { border-left: 4px solid var(--warn); padding: .3rem .75rem; background: var(--panel); margin: .5rem 0; }
"#;

/// Longest request or response body shown.
const MAX_BODY: usize = 4096;

/// Writes the HTML report.
pub fn write_html<W: Write>(mut w: W, run: &RunOutcome) -> io::Result<()> {
    let summary = summarize(run);
    let verdict = summary.verdict;
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        w,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        w,
        "<title>sessionspec check — {}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        verdict.as_str().to_ascii_uppercase()
    )?;
    writeln!(
        w,
        "<header>\n<h1>sessionspec check {}</h1>",
        badge(
            verdict_class(verdict),
            &verdict.as_str().to_ascii_uppercase()
        )
    )?;
    let mut meta = vec![match &run.target {
        Some(t) => format!("target <code>{}</code>", esc(t)),
        None => "built-in reference servers".to_owned(),
    }];
    if !run.faults.is_empty() {
        meta.push(format!(
            "faults <code>{}</code>",
            esc(&run.faults.join(", "))
        ));
    }
    meta.push(format!("started {}", esc(&run.started_at)));
    meta.push(format!("took {}", format_duration(run.duration_ms)));
    meta.push(if run.strict {
        "strict: should cases count".to_owned()
    } else {
        "must cases count (no --strict)".to_owned()
    });
    meta.push(esc(&run.tool));
    writeln!(w, "<p class=\"meta\">{}</p>", meta.join(" · "))?;
    if summary.uncounted_should_failures > 0 {
        writeln!(
            w,
            "<p class=\"note\">{} not counted (run with <code>--strict</code> to count {}).</p>",
            plural(
                summary.uncounted_should_failures,
                "should-level failure is",
                "should-level failures are"
            ),
            if summary.uncounted_should_failures == 1 {
                "it"
            } else {
                "them"
            }
        )?;
    }
    if let Some(profile) = &run.profile {
        writeln!(
            w,
            "<p class=\"note\">Profile <code>{}</code> adapted <code>{}</code>: {}.</p>",
            esc(&profile.path),
            esc(&profile.spec),
            esc(&profile.overrides.join("; "))
        )?;
    }
    if let Some(e) = &run.error {
        writeln!(
            w,
            "<p class=\"note\"><strong>error</strong>: {}</p>",
            esc(e)
        )?;
    }
    if let Some(h) = &run.halted {
        writeln!(w, "<p class=\"note\">{}</p>", esc(h))?;
    }
    if run.interrupted {
        writeln!(
            w,
            "<p class=\"note\">The run was interrupted: {} not run.</p>",
            plural(summary.total.skipped, "case was", "cases were")
        )?;
    }
    writeln!(w, "</header>\n<main>")?;

    writeln!(w, "<section>\n<h2>Summary</h2>\n<table>")?;
    writeln!(w, "<thead><tr><th>spec</th><th>title</th><th class=\"num\">must</th><th class=\"num\">should</th><th class=\"num\">failed</th><th class=\"num\">errored</th><th class=\"num\">skipped</th><th>verdict</th></tr></thead>\n<tbody>")?;
    for (i, (s, spec)) in summary.specs.iter().zip(&run.specs).enumerate() {
        let c = &s.counts;
        writeln!(
            w,
            "<tr><td><a href=\"#{}\"><code>{}</code></a></td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            anchor(i, &spec.name),
            esc(&s.name),
            esc(&spec.title),
            c.must_passed,
            c.must_total,
            c.should_passed,
            c.should_total,
            c.failed,
            c.errored,
            c.skipped,
            badge(verdict_class(s.verdict), s.verdict.describe())
        )?;
    }
    let t = &summary.total;
    writeln!(
        w,
        "</tbody>\n<tfoot><tr><td>total</td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr></tfoot>\n</table>\n</section>",
        plural(t.total, "case", "cases"),
        t.must_passed,
        t.must_total,
        t.should_passed,
        t.should_total,
        t.failed,
        t.errored,
        t.skipped,
        badge(verdict_class(verdict), verdict.as_str())
    )?;

    if let Some(target) = &run.target {
        writeln!(
            w,
            "<section>\n<h2>Compatibility of <code>{}</code></h2>\n<table>",
            esc(target)
        )?;
        writeln!(w, "<thead><tr><th>API</th><th>title</th><th class=\"num\">must</th><th class=\"num\">should</th><th>verdict</th></tr></thead>\n<tbody>")?;
        for row in compatibility_table(run) {
            writeln!(
                w,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}/{}</td><td>{}</td></tr>",
                esc(&row.spec),
                esc(&row.title),
                row.must_passed,
                row.must_total,
                row.should_passed,
                row.should_total,
                badge(compat_class(row.verdict), row.verdict.as_str())
            )?;
        }
        writeln!(w, "</tbody>\n</table>\n</section>")?;
    }

    for (i, spec) in run.specs.iter().enumerate() {
        write_spec(&mut w, run, i, spec)?;
    }
    writeln!(w, "</main>\n</body>\n</html>")
}

fn write_spec<W: Write>(
    w: &mut W,
    run: &RunOutcome,
    i: usize,
    spec: &SpecOutcome,
) -> io::Result<()> {
    writeln!(
        w,
        "<section id=\"{}\">\n<h2><code>{}</code> {}</h2>",
        anchor(i, &spec.name),
        esc(&spec.name),
        esc(&spec.title)
    )?;
    let mut meta = vec![
        format!("spec <code>{}</code>", esc(&spec.file)),
        format!("source <code>{}</code>", esc(&spec.source)),
    ];
    if spec.embedded {
        meta.push(format!(
            "built-in server at <code>{}</code>",
            esc(&spec.target)
        ));
    } else {
        meta.push(format!("target <code>{}</code>", esc(&spec.target)));
    }
    meta.push(format_duration(spec.duration_ms));
    writeln!(w, "<p class=\"meta\">{}</p>", meta.join(" · "))?;
    if let Some(e) = &spec.error {
        writeln!(
            w,
            "<p class=\"problem\"><strong>error:</strong> {}</p>",
            esc(e)
        )?;
    }
    for case in &spec.cases {
        write_case(w, run, case)?;
    }
    writeln!(w, "</section>")
}

fn write_case<W: Write>(w: &mut W, run: &RunOutcome, case: &CaseOutcome) -> io::Result<()> {
    let uncounted = is_uncounted_failure(case, run.strict);
    let (class, label) = match case.status {
        CaseStatus::Passed => ("pass", "PASS"),
        CaseStatus::Failed if uncounted => ("warn", "FAIL"),
        CaseStatus::Failed => ("fail", "FAIL"),
        CaseStatus::Errored if uncounted => ("warn", "ERROR"),
        CaseStatus::Errored => ("error", "ERROR"),
        CaseStatus::Skipped => ("skip", "SKIP"),
    };
    let open = if matches!(case.status, CaseStatus::Failed | CaseStatus::Errored) && !uncounted {
        " open"
    } else {
        ""
    };
    writeln!(
        w,
        "<details class=\"case\"{open}>\n<summary>{} <span class=\"level\">{}</span> <code>{}</code> — {} <span class=\"muted\">{}</span></summary>\n<div>",
        badge(class, label),
        case.level.as_str(),
        esc(&case.id),
        esc(&case.title),
        format_duration(case.duration_ms)
    )?;
    let mut about = Vec::new();
    if !case.doc.is_empty() {
        about.push(esc(&case.doc));
    }
    if let Some(rule) = &case.rule {
        about.push(format!("rule: {}", esc(rule)));
    }
    about.push(format!("<code>{}</code>", esc(&case.location.to_string())));
    if !case.tags.is_empty() {
        about.push(format!("tags: {}", esc(&case.tags.join(", "))));
    }
    writeln!(w, "<p class=\"meta\">{}</p>", about.join(" · "))?;
    if uncounted {
        writeln!(
            w,
            "<p class=\"note\">should-level: not counted without <code>--strict</code>.</p>"
        )?;
    }
    if case.status == CaseStatus::Skipped {
        match &case.skip_reason {
            Some(why) => writeln!(
                w,
                "<p class=\"muted\">Not applicable to this target (profile): {}</p>",
                esc(why)
            )?,
            None => writeln!(w, "<p class=\"muted\">Not run.</p>")?,
        }
    }
    for step in &case.steps {
        write_step(w, case, step)?;
    }
    writeln!(w, "</div>\n</details>")
}

fn write_step<W: Write>(w: &mut W, case: &CaseOutcome, step: &StepOutcome) -> io::Result<()> {
    let name = step
        .name
        .as_ref()
        .map(|n| format!(" <span class=\"muted\">({})</span>", esc(n)))
        .unwrap_or_default();
    writeln!(
        w,
        "<div class=\"step\">\n<h3>Step {} · <code>{}</code>{name} <span class=\"muted\">{}</span></h3>",
        step.index + 1,
        esc(&step.call),
        format_duration(step.duration_ms)
    )?;
    if let Some(e) = &step.error {
        writeln!(
            w,
            "<p class=\"problem\"><strong>could not run:</strong> {}</p>",
            esc(&e.message)
        )?;
    }
    if let Some(why) = &step.skipped {
        writeln!(
            w,
            "<p class=\"muted\"><strong>skipped</strong> (its <code>when</code> was false): {}</p>",
            esc(why)
        )?;
    }
    if !step.checks.is_empty() {
        writeln!(w, "<table class=\"checks\">\n<thead><tr><th></th><th>check</th><th>expected</th><th>actual</th><th>where</th></tr></thead>\n<tbody>")?;
        for c in &step.checks {
            let (class, mark) = if c.passed {
                ("ok", "✓")
            } else {
                ("ko", "✗")
            };
            let mut check = format!("<code>{}</code>", esc(&c.check));
            if let Some(p) = &c.pointer {
                check.push_str(&format!(" at <code>{}</code>", esc(p)));
            }
            if let Some(rule) = &c.rule {
                check.push_str(&format!("<br><span class=\"muted\">{}</span>", esc(rule)));
            }
            let at = c.location.as_ref().unwrap_or(&case.location);
            writeln!(
                w,
                "<tr class=\"{class}\"><td>{mark}</td><td>{check}</td><td><pre>{}</pre></td><td><pre>{}</pre></td><td><code>{}</code></td></tr>",
                esc(&c.expected),
                esc(&c.actual),
                esc(&at.to_string())
            )?;
        }
        writeln!(w, "</tbody>\n</table>")?;
    }
    if let Some(req) = &step.request {
        let mut text = format!("{} {}", req.method, req.url);
        for (n, v) in &req.headers {
            text.push_str(&format!("\n{n}: {v}"));
        }
        if let Some(body) = &req.body {
            text.push_str("\n\n");
            text.push_str(&cut(body));
        }
        writeln!(
            w,
            "<details><summary>request</summary><pre>{}</pre></details>",
            esc(&text)
        )?;
    }
    if let Some(resp) = &step.response {
        let mut text = format!("{}", resp.status);
        for (n, v) in &resp.headers {
            text.push_str(&format!("\n{n}: {v}"));
        }
        if !resp.body.is_empty() {
            text.push_str("\n\n");
            text.push_str(&cut(&resp.body));
        }
        if resp.truncated {
            text.push_str(&format!("\n… (truncated; {} bytes read)", resp.body_len));
        }
        writeln!(
            w,
            "<details><summary>response {} <span class=\"muted\">({} bytes)</span></summary><pre>{}</pre></details>",
            resp.status,
            resp.body_len,
            esc(&text)
        )?;
    }
    if let Some(curl) = &step.curl {
        writeln!(w, "<pre class=\"curl\">{}</pre>", esc(curl))?;
    }
    writeln!(w, "</div>")
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", esc(text))
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Incomplete => "incomplete",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
        Verdict::Interrupted => "interrupted",
    }
}

fn compat_class(v: CompatVerdict) -> &'static str {
    verdict_class(v.verdict())
}

/// A fragment id unique within the report: `spec-0-rails-jwt`.
fn anchor(i: usize, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("spec-{i}-{safe}")
}

/// At most [`MAX_BODY`] characters.
fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_BODY {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_BODY).collect();
    out.push_str("\n…");
    out
}

/// Escapes text for HTML content and attribute values; control characters other than whitespace
/// are dropped.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x&y')</script>\u{0}"),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(anchor(2, "a b/c"), "spec-2-a-b-c");
    }
}
