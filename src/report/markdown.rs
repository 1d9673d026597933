//! The Markdown report, for a CI job summary (`$GITHUB_STEP_SUMMARY`): a table of specs × must/should,
//! the compatibility table when a `--target` was checked, then every failure with expected, actual
//! and the curl line in a code block.

use std::io::{self, Write};

use super::compat::{compatibility_table, CompatVerdict};
use super::summary::{
    format_duration, is_uncounted_failure, plural, skipped_steps, summarize, Verdict,
};
use crate::check::outcome::{CaseOutcome, CaseStatus, RunOutcome, SpecOutcome, StepOutcome};

/// Longest value shown in a table cell.
const MAX_CELL: usize = 200;

/// Writes the Markdown report.
pub fn write_markdown<W: Write>(mut w: W, run: &RunOutcome) -> io::Result<()> {
    let summary = summarize(run);
    writeln!(
        w,
        "## sessionspec check: {} {}\n",
        icon(summary.verdict),
        summary.verdict.as_str().to_ascii_uppercase()
    )?;
    let mut meta = vec![match &run.target {
        Some(t) => format!("target {}", code(t)),
        None => "built-in reference servers".to_owned(),
    }];
    if !run.faults.is_empty() {
        meta.push(format!("faults {}", code(&run.faults.join(", "))));
    }
    meta.push(format!("started {}", escape(&run.started_at)));
    meta.push(format_duration(run.duration_ms));
    meta.push(if run.strict {
        "strict: should cases count".to_owned()
    } else {
        "must cases count (no `--strict`)".to_owned()
    });
    writeln!(w, "{}\n", meta.join(" · "))?;

    writeln!(
        w,
        "| spec | must | should | failed | errored | skipped | verdict |"
    )?;
    writeln!(
        w,
        "|:-----|-----:|-------:|-------:|--------:|--------:|:--------|"
    )?;
    for s in &summary.specs {
        let c = &s.counts;
        writeln!(
            w,
            "| {} | {}/{} | {}/{} | {} | {} | {} | {} {} |",
            code(&s.name),
            c.must_passed,
            c.must_total,
            c.should_passed,
            c.should_total,
            c.failed,
            c.errored,
            c.skipped,
            icon(s.verdict),
            s.verdict.describe()
        )?;
    }
    let t = &summary.total;
    writeln!(
        w,
        "| **total** | **{}/{}** | **{}/{}** | **{}** | **{}** | **{}** | {} **{}** |\n",
        t.must_passed,
        t.must_total,
        t.should_passed,
        t.should_total,
        t.failed,
        t.errored,
        t.skipped,
        icon(summary.verdict),
        summary.verdict.as_str()
    )?;

    if let Some(target) = &run.target {
        writeln!(w, "### Compatibility of {}\n", code(target))?;
        writeln!(w, "| API | title | must | should | verdict |")?;
        writeln!(w, "|:----|:------|-----:|-------:|:--------|")?;
        for row in compatibility_table(run) {
            writeln!(
                w,
                "| {} | {} | {}/{} | {}/{} | {} {} |",
                code(&row.spec),
                escape(&row.title),
                row.must_passed,
                row.must_total,
                row.should_passed,
                row.should_total,
                compat_icon(row.verdict),
                row.verdict
            )?;
        }
        writeln!(w)?;
    }

    if summary.uncounted_should_failures > 0 {
        writeln!(
            w,
            "> [!NOTE]\n> {} not counted (run with `--strict` to count {}).\n",
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
            "Profile `{}` adapted `{}`:\n",
            escape(&profile.path),
            escape(&profile.spec)
        )?;
        for o in &profile.overrides {
            writeln!(w, "- {}", escape(o))?;
        }
        writeln!(w)?;
    }
    if let Some(e) = &run.error {
        writeln!(w, "> [!CAUTION]\n> {}\n", escape(e))?;
    }
    if let Some(h) = &run.halted {
        writeln!(w, "> [!WARNING]\n> {}\n", escape(h))?;
    }
    if run.interrupted {
        writeln!(
            w,
            "> [!WARNING]\n> The run was interrupted: {} not run.\n",
            plural(t.skipped, "case was", "cases were")
        )?;
    }

    let counted: Vec<(&SpecOutcome, &CaseOutcome)> = failures(run, false);
    let uncounted = failures(run, true);
    let spec_errors: Vec<&SpecOutcome> = run.specs.iter().filter(|s| s.error.is_some()).collect();
    if !counted.is_empty() || !spec_errors.is_empty() {
        writeln!(w, "### Failures\n")?;
        for spec in spec_errors {
            writeln!(w, "#### 💥 {}: spec error\n", code(&spec.name))?;
            writeln!(w, "{}\n", escape(spec.error.as_deref().unwrap_or_default()))?;
        }
        for (spec, case) in counted {
            write_case(&mut w, spec, case, false)?;
        }
    }
    if !uncounted.is_empty() {
        writeln!(w, "### Not counted (should-level, no `--strict`)\n")?;
        for (spec, case) in uncounted {
            write_case(&mut w, spec, case, true)?;
        }
    }
    let skipped: Vec<(&SpecOutcome, &CaseOutcome, Vec<String>)> = run
        .specs
        .iter()
        .flat_map(|s| s.cases.iter().map(move |c| (s, c, skipped_steps(c))))
        .filter(|(_, _, steps)| !steps.is_empty())
        .collect();
    if !skipped.is_empty() {
        writeln!(w, "### Skipped steps (their `when` was false)\n")?;
        for (spec, case, steps) in skipped {
            for step in steps {
                writeln!(
                    w,
                    "- {} › {} ({}): {}",
                    code(&spec.name),
                    code(&case.id),
                    case.status.as_str(),
                    escape(&step)
                )?;
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

/// Failed and errored cases, counted (`uncounted == false`) or not.
fn failures(run: &RunOutcome, uncounted: bool) -> Vec<(&SpecOutcome, &CaseOutcome)> {
    run.specs
        .iter()
        .flat_map(|s| s.cases.iter().map(move |c| (s, c)))
        .filter(|(_, c)| matches!(c.status, CaseStatus::Failed | CaseStatus::Errored))
        .filter(|(_, c)| is_uncounted_failure(c, run.strict) == uncounted)
        .collect()
}

fn write_case<W: Write>(
    w: &mut W,
    spec: &SpecOutcome,
    case: &CaseOutcome,
    uncounted: bool,
) -> io::Result<()> {
    let (mark, what) = match case.status {
        _ if uncounted => ("⚠️", ""),
        CaseStatus::Errored => ("💥", " — could not run"),
        _ => ("❌", ""),
    };
    writeln!(
        w,
        "#### {mark} {} › {} ({}){what}\n",
        code(&spec.name),
        code(&case.id),
        case.level.as_str()
    )?;
    let mut about = Vec::new();
    if !case.title.is_empty() {
        about.push(escape(&case.title));
    }
    if !case.doc.is_empty() {
        about.push(escape(&case.doc));
    }
    about.push(code(&case.location.to_string()));
    writeln!(w, "{}\n", about.join(" · "))?;
    for step in &case.steps {
        write_step(w, case, step)?;
    }
    Ok(())
}

fn write_step<W: Write>(w: &mut W, case: &CaseOutcome, step: &StepOutcome) -> io::Result<()> {
    let failed: Vec<_> = step.checks.iter().filter(|c| !c.passed).collect();
    if step.error.is_none() && failed.is_empty() {
        return Ok(());
    }
    let step_name = format!("Step {} ({})", step.index + 1, escape(&step.call));
    if let Some(e) = &step.error {
        writeln!(w, "{step_name} could not run: {}\n", code(&e.message))?;
    }
    if !failed.is_empty() {
        if case.steps.len() > 1 {
            writeln!(w, "{step_name}:\n")?;
        }
        writeln!(w, "| check | expected | actual | rule | at |")?;
        writeln!(w, "|:------|:---------|:-------|:-----|:---|")?;
        for c in failed {
            let check = match &c.pointer {
                Some(p) => format!("{} at {}", code(&c.check), code(p)),
                None => code(&c.check),
            };
            let rule = c.rule.as_ref().or(case.rule.as_ref());
            let at = c.location.as_ref().unwrap_or(&case.location);
            writeln!(
                w,
                "| {check} | {} | {} | {} | {} |",
                code(&cell(&c.expected)),
                code(&cell(&c.actual)),
                rule.map(|r| escape(r)).unwrap_or_default(),
                code(&at.to_string())
            )?;
        }
        writeln!(w)?;
    }
    if let Some(curl) = &step.curl {
        let curl: String = curl
            .chars()
            .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
            .collect();
        let fence = fence_for(&curl);
        writeln!(w, "{fence}sh\n{curl}\n{fence}\n")?;
    }
    Ok(())
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Incomplete => "⏸️",
        Verdict::Fail => "❌",
        Verdict::Error => "💥",
        Verdict::Interrupted => "⏹️",
    }
}

fn compat_icon(v: CompatVerdict) -> &'static str {
    icon(v.verdict())
}

/// One line, at most [`MAX_CELL`] characters.
fn cell(s: &str) -> String {
    let one_line = s.replace("\r\n", " ").replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_CELL {
        one_line
    } else {
        let mut out: String = one_line.chars().take(MAX_CELL).collect();
        out.push('…');
        out
    }
}

/// Text with Markdown and HTML syntax escaped, on one line.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that survives backticks, pipes (in tables) and newlines in the value.
fn code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = s.replace('|', "\\|");
    let longest = longest_backtick_run(&s);
    let ticks = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// A code fence longer than any backtick run in the content.
fn fence_for(s: &str) -> String {
    "`".repeat((longest_backtick_run(s) + 1).max(3))
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "`` x`y ``");
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("````"), "`````");
        assert_eq!(escape("<b>*x*</b>\n"), "\\<b\\>\\*x\\*\\</b\\> ");
    }
}
