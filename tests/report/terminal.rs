//! The terminal report, verdicts and the compatibility table.

use sessionspec::check::outcome::CaseStatus;
use sessionspec::report::{compatibility_table, summarize, CompatVerdict, Verdict};

use super::fixtures::*;
use super::{snap, terminal};

#[test]
fn terminal_mixed() {
    let out = terminal(&mixed_run(), false, false);
    assert!(!out.contains('\x1b'), "no colour unless asked");
    assert!(out.contains(
        "error: status mismatch in case `login-wrong-password` (must, 002 \"when user details are incorrect\")\n  --> specs/rails-jwt.json:42:7\n"
    ));
    assert!(out.contains(
        "error: form-sessions: target http://target.test is unreachable: connection refused"
    ));
    assert!(out.contains("compatibility of http://target.test"));
    snap("report__terminal_mixed", &out);
}

#[test]
fn terminal_verbose_shows_exchanges() {
    let out = terminal(&mixed_run(), false, true);
    assert!(out.contains("request:  POST http://target.test/api/v1/sessions"));
    assert!(out.contains("response: 200 ("));
    snap("report__terminal_mixed_verbose", &out);
}

#[test]
fn terminal_colour_only_when_asked() {
    let out = terminal(&mixed_run(), true, false);
    assert!(out.contains("\x1b[1;31mFAIL\x1b[0m"));
    assert!(out.contains("\x1b[1;31merror:\x1b[0m"));
    // The same text once the escapes are removed.
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .expect("valid regex")
        .replace_all(&out, "")
        .into_owned();
    assert_eq!(plain, terminal(&mixed_run(), false, false));
}

#[test]
fn terminal_passing_and_interrupted() {
    let out = terminal(&passing_run(), false, false);
    assert!(out.contains("result: PASS"));
    assert!(
        !out.contains("compatibility of"),
        "no target: no compatibility table"
    );
    snap("report__terminal_passing", &out);

    let out = terminal(&interrupted_run(), false, false);
    assert!(out.contains("warning: the run was interrupted; 2 cases were not run"));
    assert!(out.contains("result: INTERRUPTED"));
    snap("report__terminal_interrupted", &out);
}

#[test]
fn terminal_should_failures_count_only_with_strict() {
    let lenient = terminal(&should_only_run(false), false, false);
    assert!(lenient.contains("warning: header:cache-control mismatch"));
    assert!(lenient.contains("note: 1 should-level failure is not counted"));
    assert!(lenient.contains("result: PASS"));
    let strict = terminal(&should_only_run(true), false, false);
    assert!(strict.contains("error: header:cache-control mismatch"));
    assert!(strict.contains("result: FAIL"));
    snap("report__terminal_should_strict", &strict);
}

#[test]
fn verdicts_follow_the_documented_rules() {
    let mixed = summarize(&mixed_run());
    let verdicts: Vec<Verdict> = mixed.specs.iter().map(|s| s.verdict).collect();
    assert_eq!(verdicts, [Verdict::Error, Verdict::Pass, Verdict::Error]);
    assert_eq!(mixed.verdict, Verdict::Error);
    assert_eq!(mixed.uncounted_should_failures, 1);
    assert_eq!((mixed.total.must_passed, mixed.total.must_total), (3, 5));
    assert_eq!(
        (mixed.total.should_passed, mixed.total.should_total),
        (1, 2)
    );

    assert_eq!(summarize(&passing_run()).verdict, Verdict::Pass);
    assert_eq!(summarize(&interrupted_run()).verdict, Verdict::Interrupted);
    assert_eq!(summarize(&should_only_run(false)).verdict, Verdict::Pass);
    assert_eq!(summarize(&should_only_run(true)).verdict, Verdict::Fail);
}

#[test]
fn compatibility_table_reads_like_a_vendor_matrix() {
    let rows = compatibility_table(&mixed_run());
    let got: Vec<(&str, CompatVerdict)> =
        rows.iter().map(|r| (r.spec.as_str(), r.verdict)).collect();
    assert_eq!(
        got,
        [
            ("rails-jwt", CompatVerdict::Error),
            ("drf-sessions", CompatVerdict::CompatibleStrict),
            ("form-sessions", CompatVerdict::Error),
        ]
    );
    assert_eq!(
        compatibility_table(&should_only_run(false))[0].verdict,
        CompatVerdict::Compatible
    );
    assert_eq!(
        compatibility_table(&should_only_run(true))[0].verdict,
        CompatVerdict::NotCompatible
    );
    // A failed must case without errors: not compatible.
    let mut r = mixed_run();
    r.specs[0].cases.retain(|c| c.status != CaseStatus::Errored);
    assert_eq!(
        compatibility_table(&r)[0].verdict,
        CompatVerdict::NotCompatible
    );
}
