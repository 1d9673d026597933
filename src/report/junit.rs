//! The JUnit XML report: one `<testsuite>` per spec, one `<testcase>` per case.
//!
//! - failed → `<failure message="FIRST FAILURE" type="CHECK">` with expected, actual, location, rule
//!   and curl line of every failing check in the text;
//! - errored → `<error>`; skipped → `<skipped/>`;
//! - a `should` case that failed or errored in a run without `--strict` passes, with a
//!   `<system-out>` saying it is not counted;
//! - a spec-level error becomes a `<testcase name="(spec)">` with an `<error>`, so CI shows it.

use std::io::{self, Write};

use super::summary::{is_uncounted_failure, skipped_steps};
use crate::check::outcome::{CaseOutcome, CaseStatus, RunOutcome, SpecOutcome};

/// Name of the test case standing for a spec-level error.
pub const SPEC_ERROR_CASE: &str = "(spec)";

#[derive(Default)]
struct SuiteCounts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

fn suite_counts(spec: &SpecOutcome, strict: bool) -> SuiteCounts {
    let mut c = SuiteCounts::default();
    for case in &spec.cases {
        c.tests += 1;
        if is_uncounted_failure(case, strict) {
            continue;
        }
        match case.status {
            CaseStatus::Passed => {}
            CaseStatus::Failed => c.failures += 1,
            CaseStatus::Errored => c.errors += 1,
            CaseStatus::Skipped => c.skipped += 1,
        }
    }
    if spec.error.is_some() {
        c.tests += 1;
        c.errors += 1;
    }
    c
}

/// Writes the JUnit XML report.
pub fn write_junit<W: Write>(mut w: W, run: &RunOutcome) -> io::Result<()> {
    let mut total = SuiteCounts::default();
    for s in &run.specs {
        let c = suite_counts(s, run.strict);
        total.tests += c.tests;
        total.failures += c.failures;
        total.errors += c.errors;
        total.skipped += c.skipped;
    }
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="sessionspec check" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}" timestamp="{}">"#,
        total.tests,
        total.failures,
        total.errors,
        total.skipped,
        seconds(run.duration_ms),
        attr(&run.started_at)
    )?;
    for spec in &run.specs {
        write_suite(&mut w, run, spec)?;
    }
    writeln!(w, "</testsuites>")
}

fn write_suite<W: Write>(w: &mut W, run: &RunOutcome, spec: &SpecOutcome) -> io::Result<()> {
    let c = suite_counts(spec, run.strict);
    let name = attr(&spec.name);
    writeln!(
        w,
        r#"  <testsuite name="{name}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}">"#,
        c.tests,
        c.failures,
        c.errors,
        c.skipped,
        seconds(spec.duration_ms)
    )?;
    writeln!(w, "    <properties>")?;
    let mut props: Vec<(&str, String)> = vec![
        ("title", spec.title.clone()),
        ("source", spec.source.clone()),
        ("file", spec.file.clone()),
        ("target", spec.target.clone()),
        ("embedded", spec.embedded.to_string()),
        ("strict", run.strict.to_string()),
    ];
    if spec.embedded && !run.faults.is_empty() {
        props.push(("faults", run.faults.join(",")));
    }
    for (k, v) in props {
        writeln!(w, r#"      <property name="{k}" value="{}"/>"#, attr(&v))?;
    }
    writeln!(w, "    </properties>")?;
    if let Some(e) = &spec.error {
        writeln!(
            w,
            r#"    <testcase classname="{name}" name="{SPEC_ERROR_CASE}" time="0.000" file="{}">"#,
            attr(&spec.file)
        )?;
        writeln!(
            w,
            r#"      <error message="{}" type="spec">{}</error>"#,
            attr(e),
            text(e)
        )?;
        writeln!(w, "    </testcase>")?;
    }
    for case in &spec.cases {
        write_case(w, run, &name, case)?;
    }
    writeln!(w, "  </testsuite>")
}

fn write_case<W: Write>(
    w: &mut W,
    run: &RunOutcome,
    classname: &str,
    case: &CaseOutcome,
) -> io::Result<()> {
    let open = format!(
        r#"    <testcase classname="{classname}" name="{}" time="{}" file="{}" line="{}""#,
        attr(&format!("{} ({})", case.id, case.level.as_str())),
        seconds(case.duration_ms),
        attr(&case.location.file),
        case.location.line
    );
    let uncounted = is_uncounted_failure(case, run.strict);
    let skipped_steps = skipped_steps(case);
    if case.status == CaseStatus::Passed {
        if skipped_steps.is_empty() {
            return writeln!(w, "{open}/>");
        }
        writeln!(w, "{open}>")?;
        writeln!(
            w,
            "      <system-out>{}</system-out>",
            text(&skipped_steps.join("\n"))
        )?;
        return writeln!(w, "    </testcase>");
    }
    writeln!(w, "{open}>")?;
    let message = case
        .first_failure()
        .unwrap_or_else(|| format!("case {}", case.status.as_str()));
    if uncounted {
        writeln!(
            w,
            "      <system-out>{}</system-out>",
            text(&format!(
                "should-level, not counted (use --strict): {}\n{}",
                case.status.as_str(),
                details(case)
            ))
        )?;
    } else {
        match case.status {
            CaseStatus::Passed => {}
            CaseStatus::Failed => {
                let kind = case
                    .steps
                    .iter()
                    .flat_map(|s| &s.checks)
                    .find(|c| !c.passed)
                    .map_or("check", |c| c.check.as_str());
                writeln!(
                    w,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    attr(&message),
                    attr(kind),
                    text(&details(case))
                )?;
            }
            CaseStatus::Errored => writeln!(
                w,
                r#"      <error message="{}" type="step">{}</error>"#,
                attr(&message),
                text(&details(case))
            )?,
            CaseStatus::Skipped => writeln!(
                w,
                r#"      <skipped message="{}"/>"#,
                attr(&match &case.skip_reason {
                    Some(why) => format!("not applicable to this target: {why}"),
                    None if run.interrupted => "not run: the run was interrupted".to_owned(),
                    None => "not run".to_owned(),
                })
            )?,
        }
    }
    writeln!(w, "    </testcase>")
}

/// Every step error and failing check of a case, with where, why and how to reproduce.
fn details(case: &CaseOutcome) -> String {
    let mut out = String::new();
    if !case.doc.is_empty() {
        out.push_str(&format!("doc: {}\n", case.doc));
    }
    for step in &case.steps {
        let step_name = format!("step {} ({})", step.index + 1, step.call);
        if let Some(why) = &step.skipped {
            out.push_str(&format!("\n{step_name}: skipped: {why}\n"));
        }
        if let Some(e) = &step.error {
            out.push_str(&format!("\n{step_name}: could not run: {e}\n"));
            out.push_str(&format!("  at: {}\n", case.location));
            if let Some(curl) = &step.curl {
                out.push_str(&format!("  reproduce: {curl}\n"));
            }
        }
        let failed: Vec<_> = step.checks.iter().filter(|c| !c.passed).collect();
        for check in &failed {
            out.push_str(&format!("\n{step_name}: {}\n", check.check));
            if let Some(p) = &check.pointer {
                out.push_str(&format!("  pointer:  {p}\n"));
            }
            out.push_str(&format!("  expected: {}\n", check.expected));
            out.push_str(&format!("  actual:   {}\n", check.actual));
            let at = check.location.as_ref().unwrap_or(&case.location);
            out.push_str(&format!("  at:       {at}\n"));
            if let Some(rule) = check.rule.as_ref().or(case.rule.as_ref()) {
                out.push_str(&format!("  rule:     {rule}\n"));
            }
        }
        if !failed.is_empty() {
            if let Some(curl) = &step.curl {
                out.push_str(&format!("  reproduce: {curl}\n"));
            }
        }
    }
    out
}

/// Milliseconds as seconds with three decimals.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Whether a character may appear in an XML 1.0 document.
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text content; characters XML 1.0 forbids are dropped.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (quotes, and whitespace kept as character references).
pub(crate) fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        assert_eq!(
            attr("a&b<c>\"d'\n\u{1}\u{FFFE}é"),
            "a&amp;b&lt;c&gt;&quot;d&apos;&#10;é"
        );
        assert_eq!(text("]]> <x> \u{0}ok"), "]]&gt; &lt;x&gt; ok");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(seconds(7), "0.007");
    }
}
