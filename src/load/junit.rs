//! The JUnit XML report of a load run, for CI systems that show test cases: one `<testcase>` per
//! threshold (the default gate's too), failed thresholds as `<failure>`; a run that could not judge
//! the target (the probe failed) is one `<error>` case, an interrupted run one `<skipped>` case
//! that says so. A pure function of the results.

use std::io::{self, Write};

use super::report::headline_line;
use super::results::LoadResults;
use crate::report::junit::{attr, text};

/// Name of the test case standing for a run that sent nothing.
pub const RUN_ERROR_CASE: &str = "(run)";
/// Name of the test case recording an interruption.
pub const INTERRUPTED_CASE: &str = "(interrupted)";
/// Name of the test case of a capacity search (`--find-max`): the answer and every step.
pub const CAPACITY_CASE: &str = "find-max";

/// Writes the JUnit XML report.
pub fn write_junit<W: Write>(mut w: W, r: &LoadResults) -> io::Result<()> {
    // A capacity search is one more case: `find-max`, failed when no rate held.
    let capacity_failed = r
        .capacity
        .as_ref()
        .map(|c| c.max_rate_per_s.is_none() && r.interrupted.is_none() && r.error.is_none());
    let failures = r.thresholds.iter().filter(|t| !t.passed).count()
        + usize::from(capacity_failed == Some(true));
    let errors = usize::from(r.error.is_some());
    let skipped = usize::from(r.interrupted.is_some());
    let tests = r.thresholds.len() + errors + skipped + usize::from(capacity_failed.is_some());
    let suite = format!("sessionspec load {}", r.scenario);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="{name}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{time:.3}">"#,
        name = attr(&suite),
        time = r.duration_s,
    )?;
    writeln!(
        w,
        r#"  <testsuite name="{name}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{time:.3}">"#,
        name = attr(&r.scenario),
        time = r.duration_s,
    )?;
    writeln!(w, "    <properties>")?;
    for (name, value) in [
        ("spec", r.spec.as_str()),
        ("target", r.target.as_str()),
        ("verdict", r.verdict.as_str()),
    ] {
        writeln!(
            w,
            r#"      <property name="{}" value="{}"/>"#,
            attr(name),
            attr(value)
        )?;
    }
    writeln!(
        w,
        r#"      <property name="headline" value="{}"/>"#,
        attr(&headline_line(r))
    )?;
    writeln!(w, "    </properties>")?;
    if let Some(e) = &r.error {
        writeln!(
            w,
            r#"    <testcase name="{}" classname="{}"><error message="{}">{}</error></testcase>"#,
            RUN_ERROR_CASE,
            attr(&r.scenario),
            attr(e),
            text(&format!("{e}; no load was sent"))
        )?;
    }
    if let Some(signal) = &r.interrupted {
        writeln!(
            w,
            r#"    <testcase name="{}" classname="{}"><skipped message="{}"/></testcase>"#,
            INTERRUPTED_CASE,
            attr(&r.scenario),
            attr(&format!(
                "interrupted by {signal}: the thresholds were judged on partial results"
            )),
        )?;
    }
    if let Some(c) = &r.capacity {
        let unit = super::report::headline_label(
            r.headline.as_ref().map_or("login", |h| h.request.as_str()),
        );
        let answer = super::capacity_report::answer_line(c, &unit);
        let steps: Vec<String> = c
            .steps
            .iter()
            .map(super::capacity_report::step_line)
            .collect();
        let body = format!("{answer}\n{}", steps.join("\n"));
        if capacity_failed == Some(true) {
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}"><failure message="{}" type="capacity">{}</failure></testcase>"#,
                CAPACITY_CASE,
                attr(&r.scenario),
                attr(&answer),
                text(&body)
            )?;
        } else {
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}"><system-out>{}</system-out></testcase>"#,
                CAPACITY_CASE,
                attr(&r.scenario),
                text(&body)
            )?;
        }
    }
    for t in &r.thresholds {
        let origin = super::report::gate_note(t.gate);
        let name = format!("{}{origin}", t.threshold);
        if t.passed {
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}"><system-out>{}</system-out></testcase>"#,
                attr(&name),
                attr(&r.scenario),
                text(&t.observed)
            )?;
        } else {
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}"><failure message="{}" type="threshold">{}</failure></testcase>"#,
                attr(&name),
                attr(&r.scenario),
                attr(&format!("{} not met: {}", t.threshold, t.observed)),
                text(&format!(
                    "threshold: {}\nobserved: {}",
                    t.threshold, t.observed
                ))
            )?;
        }
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")
}
