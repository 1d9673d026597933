//! The terminal report: one line per case, rustc-style detail for each failure, a summary and a verdict.
//!
//! ```text
//! rails-jwt — Rails JWT sessions → http://127.0.0.1:3000
//!   PASS must  login-ok              — a correct login returns a token
//!   FAIL must  login-wrong-password  — a wrong password is refused
//!
//! error: status mismatch in case `login-wrong-password` (must, 002 "when user details are incorrect")
//!   --> specs/rails-jwt.json:42:7
//!    |   check:    status
//!    |   expected: 401
//!    |   actual:   200
//!    = rule: RFC 9110 §15.5.2
//!    = reproduce: curl -i -X POST http://127.0.0.1:3000/api/v1/sessions ...
//! ```
//! Text coming from the network is stripped of control characters, so a response cannot drive the
//! terminal.

use std::io::{self, Write};

use super::compat::{compatibility_table, shows_compatibility, CompatVerdict};
use super::summary::{
    format_duration, is_uncounted_failure, plural, skipped_step_count, skipped_steps, summarize,
    Counts, Summary, Verdict,
};
use crate::check::outcome::{
    CaseOutcome, CaseStatus, CheckResult, RunOutcome, SpecOutcome, StepOutcome,
};

/// How the terminal report looks. The caller decides `color` (a TTY and no `NO_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// Show case durations, and the request and response of every failure.
    pub verbose: bool,
}

const BOLD: &str = "1";
const DIM: &str = "2";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";
const BOLD_RED: &str = "1;31";
const BOLD_GREEN: &str = "1;32";
const BOLD_YELLOW: &str = "1;33";
const BOLD_BLUE: &str = "1;34";

/// Width of the labels in the `|` lines (`expected: `).
const LABEL_WIDTH: usize = 10;
/// Longest case id that still gets aligned.
const MAX_ID_WIDTH: usize = 40;

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

struct Ctx<'a> {
    run: &'a RunOutcome,
    p: Painter,
    verbose: bool,
}

/// Writes the terminal report of a run.
pub fn write_terminal<W: Write>(
    mut w: W,
    run: &RunOutcome,
    opts: &TerminalOptions,
) -> io::Result<()> {
    let ctx = Ctx {
        run,
        p: Painter { color: opts.color },
        verbose: opts.verbose,
    };
    if let Some(profile) = &run.profile {
        writeln!(
            w,
            "{} {} adapts {}:",
            ctx.p.paint(BOLD, "profile:"),
            clean(&profile.path),
            clean(&profile.spec)
        )?;
        for o in &profile.overrides {
            writeln!(w, "  - {}", clean(o))?;
        }
        writeln!(w)?;
    }
    for (i, spec) in run.specs.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_spec(&mut w, &ctx, spec)?;
    }
    if !run.specs.is_empty() {
        writeln!(w)?;
    }
    let summary = summarize(run);
    write_summary(&mut w, &ctx, &summary)?;
    write_verdict(&mut w, &ctx, &summary)
}

fn write_spec<W: Write>(w: &mut W, ctx: &Ctx<'_>, spec: &SpecOutcome) -> io::Result<()> {
    let p = &ctx.p;
    let mut target = String::new();
    if spec.embedded {
        target.push_str("built-in server at ");
    }
    target.push_str(&clean(&spec.target));
    if spec.embedded && !ctx.run.faults.is_empty() {
        target.push_str(&format!(" (fault: {})", clean(&ctx.run.faults.join(", "))));
    }
    let mut heading = p.paint(BOLD, &clean(&spec.name));
    if !spec.title.is_empty() {
        heading.push_str(" — ");
        heading.push_str(&clean(&spec.title));
    }
    writeln!(w, "{heading} {}", p.paint(DIM, &format!("→ {target}")))?;
    if let Some(e) = &spec.error {
        writeln!(
            w,
            "{} {}: {}",
            p.paint(BOLD_RED, "error:"),
            clean(&spec.name),
            clean(e)
        )?;
    }

    let level_width = spec
        .cases
        .iter()
        .map(|c| c.level.as_str().len())
        .max()
        .unwrap_or(0);
    let id_width = spec
        .cases
        .iter()
        .map(|c| c.id.chars().count())
        .filter(|&n| n <= MAX_ID_WIDTH)
        .max()
        .unwrap_or(0);
    for case in &spec.cases {
        let uncounted = is_uncounted_failure(case, ctx.run.strict);
        let (tag, style) = match case.status {
            CaseStatus::Passed => ("PASS", GREEN),
            CaseStatus::Failed if uncounted => ("FAIL", YELLOW),
            CaseStatus::Failed => ("FAIL", BOLD_RED),
            CaseStatus::Errored if uncounted => ("ERR ", YELLOW),
            CaseStatus::Errored => ("ERR ", MAGENTA),
            CaseStatus::Skipped => ("SKIP", DIM),
        };
        let mut line = format!(
            "  {} {:<lw$}  {:<iw$}",
            p.paint(style, tag),
            case.level.as_str(),
            clean(&case.id),
            lw = level_width,
            iw = id_width
        );
        if !case.title.is_empty() {
            line.push_str("  — ");
            line.push_str(&clean(&case.title));
        }
        if ctx.verbose && case.status != CaseStatus::Skipped {
            line.push_str(&p.paint(DIM, &format!(" ({})", format_duration(case.duration_ms))));
        }
        if let Some(why) = &case.skip_reason {
            line.push_str(&p.paint(DIM, &format!(" (not applicable: {})", clean(why))));
        }
        writeln!(w, "{}", line.trim_end())?;
        for skipped in skipped_steps(case) {
            writeln!(
                w,
                "         {}",
                p.paint(DIM, &format!("↳ {}", clean(&skipped)))
            )?;
        }
    }
    if let Some(pattern) = first_step_pattern(spec) {
        writeln!(w, "  {} {}", p.paint(BOLD_YELLOW, "note:"), clean(&pattern))?;
    }

    for case in &spec.cases {
        if matches!(case.status, CaseStatus::Failed | CaseStatus::Errored) {
            write_case_detail(w, ctx, case)?;
        }
    }
    Ok(())
}

/// When most cases fail the same way at their first step (e.g. the login answers 404), one
/// line that says so: the target likely does things elsewhere, not in every case.
pub fn first_step_pattern(spec: &SpecOutcome) -> Option<String> {
    let ran: Vec<&CaseOutcome> = spec
        .cases
        .iter()
        .filter(|c| c.status != CaseStatus::Skipped)
        .collect();
    let mut groups: Vec<((String, String), usize)> = Vec::new();
    for case in &ran {
        if !matches!(case.status, CaseStatus::Failed | CaseStatus::Errored) {
            continue;
        }
        let Some(first) = case.steps.first() else {
            continue;
        };
        if case.steps.len() != 1 && !first.checks.iter().any(|c| !c.passed) && first.error.is_none()
        {
            continue; // the first step held; the failure is later
        }
        let answer = match (&first.response, &first.error) {
            (_, Some(e)) => e.message.clone(),
            (Some(r), None) => r.status.to_string(),
            (None, None) => continue,
        };
        let key = (first.call.clone(), answer);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => groups.push((key, 1)),
        }
    }
    let ((call, answer), n) = groups.into_iter().max_by_key(|(_, n)| *n)?;
    (ran.len() >= 3 && n * 2 > ran.len()).then(|| {
        format!(
            "{n} of {} cases failed at their first `{call}` step: {answer} — does this target do `{call}` elsewhere? adapt it with --profile (docs/spec-format.md)",
            ran.len()
        )
    })
}

fn write_case_detail<W: Write>(w: &mut W, ctx: &Ctx<'_>, case: &CaseOutcome) -> io::Result<()> {
    let p = &ctx.p;
    let uncounted = is_uncounted_failure(case, ctx.run.strict);
    let kind = if uncounted {
        p.paint(BOLD_YELLOW, "warning:")
    } else {
        p.paint(BOLD_RED, "error:")
    };
    let mut context = case.level.as_str().to_owned();
    if !case.doc.is_empty() {
        context.push_str(", ");
        context.push_str(&clean(&case.doc));
    }
    if uncounted {
        context.push_str("; not counted without --strict");
    }
    let id = clean(&case.id);
    let multi_step = case.steps.len() > 1;
    let mut printed = false;
    for step in &case.steps {
        // The exchange and the curl line close the last block of a step, not every block.
        let failed: Vec<&CheckResult> = step.checks.iter().filter(|c| !c.passed).collect();
        for (i, check) in failed.iter().enumerate() {
            printed = true;
            let tail = i + 1 == failed.len() && step.error.is_none();
            write_check(w, ctx, case, step, check, (&kind, &context), tail)?;
        }
        if let Some(err) = &step.error {
            printed = true;
            writeln!(w)?;
            writeln!(
                w,
                "{kind} {}",
                p.paint(BOLD, &format!("case `{id}` could not run ({context})"))
            )?;
            arrow(w, p, &case.location.to_string())?;
            if multi_step {
                field(w, ctx, "step:", &step_label(step))?;
            }
            field(w, ctx, "cause:", &err.message)?;
            if ctx.verbose {
                exchange(w, ctx, step)?;
            }
            note(w, p, "rule", case.rule.as_deref())?;
            note(w, p, "reproduce", reproduce(case, step).as_deref())?;
        }
    }
    if !printed {
        // A failed case that recorded neither a step error nor a failing check.
        writeln!(w)?;
        writeln!(
            w,
            "{kind} {}",
            p.paint(
                BOLD,
                &format!("case `{id}` {} ({context})", case.status.as_str())
            )
        )?;
        arrow(w, p, &case.location.to_string())?;
        note(w, p, "rule", case.rule.as_deref())?;
    }
    Ok(())
}

fn write_check<W: Write>(
    w: &mut W,
    ctx: &Ctx<'_>,
    case: &CaseOutcome,
    step: &StepOutcome,
    check: &CheckResult,
    (kind, context): (&str, &str),
    tail: bool,
) -> io::Result<()> {
    let p = &ctx.p;
    writeln!(w)?;
    let title = format!(
        "{} mismatch in case `{}` ({context})",
        clean(&check.check),
        clean(&case.id)
    );
    writeln!(w, "{kind} {}", p.paint(BOLD, &title))?;
    let location = check.location.as_ref().unwrap_or(&case.location);
    arrow(w, p, &location.to_string())?;
    if case.steps.len() > 1 {
        field(w, ctx, "step:", &step_label(step))?;
    }
    field(w, ctx, "check:", &check.check)?;
    if let Some(ptr) = &check.pointer {
        field(w, ctx, "at:", ptr)?;
    }
    field(w, ctx, "expected:", &check.expected)?;
    field(w, ctx, "actual:", &check.actual)?;
    if tail && ctx.verbose {
        exchange(w, ctx, step)?;
    }
    note(w, p, "rule", check.rule.as_deref().or(case.rule.as_deref()))?;
    if tail {
        note(w, p, "reproduce", reproduce(case, step).as_deref())?;
    }
    Ok(())
}

/// The reproduction to show: the script written by `--repro-dir` (every step of the case), else
/// the failing step's curl line.
fn reproduce(case: &CaseOutcome, step: &StepOutcome) -> Option<String> {
    match case.reproduction.as_ref().and_then(|r| r.path.as_ref()) {
        Some(path) => Some(format!(
            "sh {path} (all {} of the case, captures carried; secrets from the environment)",
            plural(case.steps.len(), "step", "steps")
        )),
        None => step.curl.clone(),
    }
}

/// `2 (logout)`: 1-based step number and the operation called.
fn step_label(step: &StepOutcome) -> String {
    match &step.name {
        Some(name) => format!("{} ({}, `{name}`)", step.index + 1, step.call),
        None => format!("{} ({})", step.index + 1, step.call),
    }
}

fn arrow<W: Write>(w: &mut W, p: &Painter, location: &str) -> io::Result<()> {
    writeln!(w, "  {} {}", p.paint(BOLD_BLUE, "-->"), clean(location))
}

/// `   |   label:    value`, continuation lines aligned under the value.
fn field<W: Write>(w: &mut W, ctx: &Ctx<'_>, label: &str, value: &str) -> io::Result<()> {
    let bar = ctx.p.paint(BOLD_BLUE, "|");
    let value = excerpt(&clean(value), ctx.verbose);
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    writeln!(
        w,
        "{}",
        format!("   {bar}   {label:<LABEL_WIDTH$}{first}").trim_end()
    )?;
    for line in lines {
        writeln!(
            w,
            "{}",
            format!("   {bar}   {:LABEL_WIDTH$}{line}", "").trim_end()
        )?;
    }
    Ok(())
}

/// `   = name: value`.
fn note<W: Write>(w: &mut W, p: &Painter, name: &str, value: Option<&str>) -> io::Result<()> {
    match value {
        Some(v) if !v.is_empty() => writeln!(
            w,
            "   {} {name}: {}",
            p.paint(BOLD_BLUE, "="),
            clean(v).replace('\n', " ")
        ),
        _ => Ok(()),
    }
}

/// Verbose: the request line and the response (status, headers, body excerpt).
fn exchange<W: Write>(w: &mut W, ctx: &Ctx<'_>, step: &StepOutcome) -> io::Result<()> {
    if let Some(req) = &step.request {
        field(w, ctx, "request:", &format!("{} {}", req.method, req.url))?;
    }
    if let Some(resp) = &step.response {
        let mut text = format!("{} ({} bytes)", resp.status, resp.body_len);
        for (n, v) in &resp.headers {
            text.push_str(&format!("\n{n}: {v}"));
        }
        if !resp.body.is_empty() {
            text.push_str("\n\n");
            text.push_str(&resp.body);
            if resp.truncated {
                text.push_str("\n… (truncated)");
            }
        }
        field(w, ctx, "response:", &text)?;
    }
    Ok(())
}

fn write_summary<W: Write>(w: &mut W, ctx: &Ctx<'_>, summary: &Summary) -> io::Result<()> {
    let p = &ctx.p;
    let run = ctx.run;
    if run.specs.is_empty() {
        return Ok(());
    }
    let compat = shows_compatibility(run).then(|| compatibility_table(run));
    let heading = match (&compat, &run.target) {
        (Some(_), Some(t)) => format!("compatibility of {}", clean(t)),
        _ => "summary".to_owned(),
    };
    writeln!(w, "{}", p.paint(BOLD, &heading))?;
    let name_width = summary
        .specs
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let must = |c: &Counts| format!("{}/{}", c.must_passed, c.must_total);
    let should = |c: &Counts| format!("{}/{}", c.should_passed, c.should_total);
    let must_width = summary
        .specs
        .iter()
        .map(|s| must(&s.counts).len())
        .max()
        .unwrap_or(0);
    let should_width = summary
        .specs
        .iter()
        .map(|s| should(&s.counts).len())
        .max()
        .unwrap_or(0);
    for (i, s) in summary.specs.iter().enumerate() {
        let verdict = match compat.as_ref().and_then(|rows| rows.get(i)) {
            Some(row) => paint_compat(p, row.verdict),
            None => paint_verdict(p, s.verdict, s.verdict.describe()),
        };
        writeln!(
            w,
            "  {:<nw$}  must {:>mw$}  should {:>sw$}  {verdict}",
            clean(&s.name),
            must(&s.counts),
            should(&s.counts),
            nw = name_width,
            mw = must_width,
            sw = should_width
        )?;
    }
    Ok(())
}

fn write_verdict<W: Write>(w: &mut W, ctx: &Ctx<'_>, summary: &Summary) -> io::Result<()> {
    let p = &ctx.p;
    let run = ctx.run;
    let t = &summary.total;
    if !run.specs.is_empty() {
        writeln!(w)?;
    }
    if summary.uncounted_should_failures > 0 {
        let n = summary.uncounted_should_failures;
        let (what, them) = if n == 1 {
            ("should-level failure is", "it")
        } else {
            ("should-level failures are", "them")
        };
        writeln!(
            w,
            "{} {n} {what} not counted (use --strict to count {them})",
            p.paint(BOLD, "note:")
        )?;
    }
    if let Some(e) = &run.error {
        writeln!(w, "{} {e}", p.paint(BOLD_RED, "error:"))?;
    }
    if let Some(h) = &run.halted {
        writeln!(
            w,
            "{} {}; {} not run",
            p.paint(BOLD_YELLOW, "warning:"),
            clean(h),
            plural(t.skipped, "case was", "cases were")
        )?;
    }
    if run.interrupted {
        writeln!(
            w,
            "{} the run was interrupted; {} not run",
            p.paint(BOLD_YELLOW, "warning:"),
            if t.skipped == 1 {
                "1 case was".to_owned()
            } else {
                format!("{} cases were", t.skipped)
            }
        )?;
    }
    let specs = summary.specs.len();
    let bad = summary
        .specs
        .iter()
        .filter(|s| s.verdict != Verdict::Pass)
        .count();
    let of_specs = format!("{bad} of {}", plural(specs, "spec", "specs"));
    let words = match summary.verdict {
        Verdict::Pass if specs == 1 => "1 spec conforms".to_owned(),
        Verdict::Pass => format!("{specs} specs conform"),
        Verdict::Fail if bad == 1 => format!("{of_specs} does not conform"),
        Verdict::Fail => format!("{of_specs} do not conform"),
        Verdict::Error => format!("{of_specs} could not be fully checked"),
        Verdict::Incomplete => "not every case ran".to_owned(),
        Verdict::Interrupted => "stopped by a signal".to_owned(),
    };
    let mut line = format!(
        "{} {}  {words} · must {}/{} · should {}/{}",
        p.paint(BOLD, "result:"),
        paint_verdict(
            p,
            summary.verdict,
            &summary.verdict.as_str().to_ascii_uppercase()
        ),
        t.must_passed,
        t.must_total,
        t.should_passed,
        t.should_total
    );
    for (n, what) in [
        (t.failed, "failed"),
        (t.errored, "errored"),
        (t.skipped, "skipped"),
    ] {
        if n > 0 {
            line.push_str(&format!(" · {n} {what}"));
        }
    }
    let steps_skipped = skipped_step_count(run);
    if steps_skipped > 0 {
        line.push_str(&format!(
            " · {} skipped by `when`",
            plural(steps_skipped, "step", "steps")
        ));
    }
    line.push_str(&format!(
        " · {} in {}",
        plural(t.total, "case", "cases"),
        format_duration(run.duration_ms)
    ));
    if run.strict {
        line.push_str(" (strict)");
    }
    writeln!(w, "{line}")
}

fn paint_verdict(p: &Painter, v: Verdict, text: &str) -> String {
    let style = match v {
        Verdict::Pass => BOLD_GREEN,
        Verdict::Incomplete | Verdict::Interrupted => BOLD_YELLOW,
        Verdict::Fail | Verdict::Error => BOLD_RED,
    };
    p.paint(style, text)
}

fn paint_compat(p: &Painter, v: CompatVerdict) -> String {
    paint_verdict(p, v.verdict(), v.as_str())
}

/// The text with control characters (other than newline and tab) shown as escapes, and `\r\n` as `\n`.
fn clean(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// At most a few lines of a long value (more when verbose).
fn excerpt(s: &str, verbose: bool) -> String {
    let (max_lines, max_chars) = if verbose { (40, 4000) } else { (8, 400) };
    let total_chars = s.chars().count();
    let total_lines = s.lines().count();
    if total_chars <= max_chars && total_lines <= max_lines {
        return s.trim_end_matches('\n').to_owned();
    }
    let mut out: String = s
        .lines()
        .take(max_lines)
        .collect::<Vec<_>>()
        .join("\n")
        .chars()
        .take(max_chars)
        .collect();
    out.push_str(&format!(
        "\n… ({} more characters; see the JSON or HTML report)",
        total_chars.saturating_sub(out.chars().count())
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(clean("a\x1b[2Jb\r\nc\u{7}"), "a\\u{1b}[2Jb\nc\\u{7}");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(1000);
        let e = excerpt(&long, false);
        assert!(e.starts_with(&"x".repeat(400)));
        assert!(e.contains("600 more characters"));
        assert_eq!(excerpt("short\n", false), "short");
    }
}
