//! Report writers: snapshots of every format over hand-built outcomes, the JSON report against its
//! published schema, the JUnit XML parsed back, the HTML self-contained and escaped, and atomic writes.

use std::io;
use std::path::Path;

use sessionspec::check::outcome::{
    CaseOutcome, CaseStatus, CheckResult, ResponseSummary, RunOutcome, SpecOutcome, StepOutcome,
    REPORT_FORMAT_VERSION,
};
use sessionspec::http::RequestData;
use sessionspec::redact::Redactor;
use sessionspec::report::{
    compatibility_table, parse_report_arg, summarize, write_atomic, write_html, write_json,
    write_junit, write_markdown, write_report, write_terminal, CompatVerdict, ReportError,
    ReportFormat, TerminalOptions, Verdict,
};
use sessionspec::spec::{Level, Location, Method};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const TARGET: &str = "http://target.test";

fn loc(file: &str, line: usize, column: usize) -> Location {
    Location {
        file: file.into(),
        line,
        column,
    }
}

fn login_request(base: &str, password: &str) -> RequestData {
    RequestData {
        method: Method::Post,
        url: format!("{base}/api/v1/sessions"),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Some(format!("email=foo%40bar.com&password={password}")),
    }
}

fn curl_of(req: &RequestData) -> String {
    req.to_curl(&Redactor::new())
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> ResponseSummary {
    ResponseSummary {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.into(),
        body_len: body.len(),
        truncated: false,
    }
}

fn check(name: &str, passed: bool, expected: &str, actual: &str) -> CheckResult {
    CheckResult {
        check: name.into(),
        rule: None,
        passed,
        expected: expected.into(),
        actual: actual.into(),
        pointer: None,
        location: None,
    }
}

fn step(index: usize, call: &str, request: RequestData, checks: Vec<CheckResult>) -> StepOutcome {
    StepOutcome {
        index,
        call: call.into(),
        name: None,
        curl: Some(curl_of(&request)),
        request: Some(request),
        response: Some(response(
            200,
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("cache-control", "no-store"),
            ],
            r#"{"auth_token":"***"}"#,
        )),
        checks,
        error: None,
        duration_ms: 12,
    }
}

fn login_ok_step(base: &str) -> StepOutcome {
    step(
        0,
        "login",
        login_request(base, "***"),
        vec![
            check("status", true, "200", "200"),
            check(
                "header:content-type",
                true,
                "matches ^application/json",
                "application/json; charset=utf-8",
            ),
            check(
                "body.schema",
                true,
                "an object with auth_token",
                "an object with auth_token",
            ),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
fn case(
    file: &str,
    line: usize,
    id: &str,
    title: &str,
    level: Level,
    doc: &str,
    status: CaseStatus,
    steps: Vec<StepOutcome>,
) -> CaseOutcome {
    CaseOutcome {
        id: id.into(),
        title: title.into(),
        level,
        doc: doc.into(),
        rule: None,
        tags: vec![],
        location: loc(file, line, 5),
        status,
        duration_ms: steps.iter().map(|s| s.duration_ms).sum(),
        steps,
    }
}

fn spec(
    name: &str,
    title: &str,
    source: &str,
    target: &str,
    cases: Vec<CaseOutcome>,
) -> SpecOutcome {
    SpecOutcome {
        name: name.into(),
        title: title.into(),
        source: source.into(),
        file: format!("specs/{name}.json"),
        target: target.into(),
        embedded: target.starts_with("embedded:"),
        error: None,
        duration_ms: cases.iter().map(|c| c.duration_ms).sum::<u64>() + 5,
        cases,
    }
}

fn run(target: Option<&str>, strict: bool, specs: Vec<SpecOutcome>) -> RunOutcome {
    RunOutcome {
        format_version: REPORT_FORMAT_VERSION,
        tool: "sessionspec 0.1.0".into(),
        started_at: "2025-01-01T00:00:00Z".into(),
        duration_ms: specs.iter().map(|s| s.duration_ms).sum::<u64>() + 1200,
        target: target.map(str::to_owned),
        faults: vec![],
        strict,
        interrupted: false,
        specs,
    }
}

/// rails-jwt: a failed must case (status, and a body check with a pointer), a failed should case and
/// an errored lifecycle case; drf-sessions: everything passes; form-sessions: unreachable.
fn rails_jwt() -> SpecOutcome {
    let f = "specs/rails-jwt.json";
    let mut wrong = step(
        0,
        "login",
        login_request(TARGET, "wrong"),
        vec![
            CheckResult {
                rule: Some("RFC 9110 §15.5.2".into()),
                location: Some(loc(f, 42, 7)),
                ..check("status", false, "401", "200")
            },
            CheckResult {
                pointer: Some("/message".into()),
                location: Some(loc(f, 43, 7)),
                ..check(
                    "body.equals",
                    false,
                    r#""Invalid credentials""#,
                    "(missing)",
                )
            },
        ],
    );
    wrong.duration_ms = 9;
    let mut no_store = login_ok_step(TARGET);
    no_store.checks = vec![CheckResult {
        rule: Some("RFC 6749 §5.1".into()),
        location: Some(loc(f, 71, 9)),
        ..check(
            "header:cache-control",
            false,
            "contains \"no-store\"",
            "(absent)",
        )
    }];
    let logout_req = RequestData {
        method: Method::Delete,
        url: format!("{TARGET}/api/v1/sessions"),
        headers: vec![("Authorization".into(), "Bearer ***".into())],
        body: None,
    };
    let logout = StepOutcome {
        index: 1,
        call: "logout".into(),
        name: None,
        curl: Some(curl_of(&logout_req)),
        request: Some(logout_req),
        response: None,
        checks: vec![],
        error: Some("no response within 10s (timeout)".into()),
        duration_ms: 10_000,
    };
    let mut lifecycle = case(
        f,
        80,
        "logout-revokes-token",
        "a token is refused after logout",
        Level::Must,
        "OWASP ASVS 5.0 V7.4.1",
        CaseStatus::Errored,
        vec![login_ok_step(TARGET), logout],
    );
    lifecycle.tags = vec!["lifecycle".into()];
    let mut no_store_case = case(
        f,
        66,
        "login-no-store",
        "token responses are not cached",
        Level::Should,
        "RFC 6749 §5.1",
        CaseStatus::Failed,
        vec![no_store],
    );
    no_store_case.rule = Some("RFC 6749 §5.1".into());
    spec(
        "rails-jwt",
        "Rails JWT sessions (API v1)",
        "002_1e936a5e7d3ba711.txt",
        TARGET,
        vec![
            case(
                f,
                20,
                "login-ok",
                "a correct login returns a token",
                Level::Must,
                "002 \"when user details are correct\"",
                CaseStatus::Passed,
                vec![login_ok_step(TARGET)],
            ),
            case(
                f,
                38,
                "login-wrong-password",
                "a wrong password is refused",
                Level::Must,
                "002 \"when user details are incorrect\"",
                CaseStatus::Failed,
                vec![wrong],
            ),
            no_store_case,
            lifecycle,
        ],
    )
}

fn drf_sessions(target: &str) -> SpecOutcome {
    let f = "specs/drf-sessions.json";
    spec(
        "drf-sessions",
        "Django REST framework sessions",
        "004_6d0371f4dabf39d2.txt",
        target,
        vec![
            case(
                f,
                18,
                "login-ok",
                "a correct login returns a token",
                Level::Must,
                "004 \"POST /api/login/\"",
                CaseStatus::Passed,
                vec![login_ok_step(target)],
            ),
            case(
                f,
                40,
                "logout-ok",
                "logout answers 204",
                Level::Must,
                "004 \"POST /api/logout/\"",
                CaseStatus::Passed,
                vec![login_ok_step(target)],
            ),
            case(
                f,
                61,
                "login-no-store",
                "token responses are not cached",
                Level::Should,
                "RFC 6749 §5.1",
                CaseStatus::Passed,
                vec![login_ok_step(target)],
            ),
        ],
    )
}

fn unreachable_spec() -> SpecOutcome {
    let mut s = spec(
        "form-sessions",
        "Form sessions",
        "003_0878d4f088d0577f.txt",
        TARGET,
        vec![],
    );
    s.error = Some(format!(
        "target {TARGET} is unreachable: connection refused"
    ));
    s.duration_ms = 3;
    s
}

fn mixed_run() -> RunOutcome {
    run(
        Some(TARGET),
        false,
        vec![rails_jwt(), drf_sessions(TARGET), unreachable_spec()],
    )
}

fn passing_run() -> RunOutcome {
    run(None, false, vec![drf_sessions("embedded:drf-sessions")])
}

/// Interrupted after two cases; the other two were skipped.
fn interrupted_run() -> RunOutcome {
    let mut s = drf_sessions("embedded:drf-sessions");
    s.cases[2].status = CaseStatus::Skipped;
    s.cases[2].steps.clear();
    s.cases[2].duration_ms = 0;
    let mut skipped = s.cases[1].clone();
    skipped.id = "logout-reuse-refused".into();
    skipped.title = "the old token is refused after logout".into();
    skipped.status = CaseStatus::Skipped;
    skipped.steps.clear();
    skipped.duration_ms = 0;
    s.cases.push(skipped);
    let mut r = run(None, false, vec![s]);
    r.interrupted = true;
    r.faults = vec!["no-cache-control".into()];
    r
}

/// Only a should case fails: conforms without --strict, does not with it.
fn should_only_run(strict: bool) -> RunOutcome {
    let mut s = drf_sessions(TARGET);
    s.cases[2].status = CaseStatus::Failed;
    s.cases[2].steps[0].checks = vec![check(
        "header:cache-control",
        false,
        "contains \"no-store\"",
        "(absent)",
    )];
    run(Some(TARGET), strict, vec![s])
}

fn every_run() -> Vec<(&'static str, RunOutcome)> {
    vec![
        ("mixed", mixed_run()),
        ("passing", passing_run()),
        ("interrupted", interrupted_run()),
        ("should", should_only_run(false)),
        ("should_strict", should_only_run(true)),
        ("hostile", hostile_run()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("writing into a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

fn terminal(run: &RunOutcome, color: bool, verbose: bool) -> String {
    render(|w| write_terminal(w, run, &TerminalOptions { color, verbose }))
}

fn snap(name: &str, value: &str) {
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, value);
    });
}

// ---------------------------------------------------------------------------------------------
// Terminal
// ---------------------------------------------------------------------------------------------

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
    assert!(out.contains("result: INCOMPLETE"));
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

// ---------------------------------------------------------------------------------------------
// Verdicts and compatibility
// ---------------------------------------------------------------------------------------------

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
    assert_eq!(summarize(&interrupted_run()).verdict, Verdict::Incomplete);
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

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn report_schema() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema/check-report.schema.json");
    let text = std::fs::read_to_string(&path).expect("the published report schema exists");
    serde_json::from_str(&text).expect("the report schema is JSON")
}

fn schema_errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn json_report_matches_its_published_schema() {
    let schema = report_schema();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "the schema is a valid JSON Schema"
    );
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for (name, r) in every_run() {
        let out = render(|w| write_json(w, &r));
        let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        let errors = schema_errors(&validator, &doc);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        // The outcome part reads back as the very outcome.
        let back: RunOutcome = serde_json::from_value(doc).expect("reads back");
        assert_eq!(back, r, "{name}");
    }
}

#[test]
fn the_schema_rejects_what_the_report_never_contains() {
    let validator = jsonschema::validator_for(&report_schema()).expect("the schema compiles");
    let out = render(|w| write_json(w, &mixed_run()));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");

    let mut no_summary = doc.clone();
    no_summary.as_object_mut().map(|o| o.remove("summary"));
    assert!(!validator.is_valid(&no_summary));

    let mut extra = doc.clone();
    extra["specs"][0]["cases"][0]["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&extra));

    let mut bad_status = doc;
    bad_status["specs"][0]["cases"][0]["status"] = serde_json::json!("exploded");
    assert!(!validator.is_valid(&bad_status));
}

#[test]
fn json_mixed_snapshot() {
    let out = render(|w| write_json(w, &mixed_run()));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(doc["summary"]["verdict"], "error");
    assert_eq!(doc["compatibility"][1]["verdict"], "compatible (strict)");
    snap("report__json_mixed", &out);
}

// ---------------------------------------------------------------------------------------------
// JUnit
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq)]
struct Suite {
    name: String,
    declared: [usize; 4],
    cases: Vec<(String, String)>,
    found: [usize; 4],
    system_out: usize,
}

/// Parses the JUnit XML: per suite, its declared counts (tests, failures, errors, skipped), its cases
/// (name, outcome) and what the cases actually hold.
fn parse_junit(xml: &str) -> Vec<Suite> {
    use quick_xml::events::{BytesStart, Event};
    fn attr(e: &BytesStart<'_>, key: &str) -> String {
        e.attributes()
            .map(|a| a.expect("well-formed attribute"))
            .find(|a| a.key.as_ref() == key.as_bytes())
            .map(|a| a.unescape_value().expect("valid escapes").into_owned())
            .unwrap_or_default()
    }
    let num = |e: &BytesStart<'_>, key: &str| attr(e, key).parse::<usize>().expect("a count");
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut suites: Vec<Suite> = Vec::new();
    let mut depth_names: Vec<String> = Vec::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (e, empty) = match &event {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(_) => {
                depth_names.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        match tag.as_str() {
            "testsuite" => suites.push(Suite {
                name: attr(&e, "name"),
                declared: [
                    num(&e, "tests"),
                    num(&e, "failures"),
                    num(&e, "errors"),
                    num(&e, "skipped"),
                ],
                ..Suite::default()
            }),
            "testcase" => {
                let s = suites.last_mut().expect("a testcase inside a testsuite");
                assert_eq!(attr(&e, "classname"), s.name);
                s.found[0] += 1;
                s.cases.push((attr(&e, "name"), "passed".into()));
            }
            "failure" | "error" | "skipped" | "system-out" => {
                assert_eq!(depth_names.last().map(String::as_str), Some("testcase"));
                let s = suites.last_mut().expect("inside a testsuite");
                let idx = match tag.as_str() {
                    "failure" => 1,
                    "error" => 2,
                    "skipped" => 3,
                    _ => 0,
                };
                if idx == 0 {
                    s.system_out += 1;
                } else {
                    s.found[idx] += 1;
                    if let Some(c) = s.cases.last_mut() {
                        c.1 = tag.clone();
                    }
                }
            }
            _ => {}
        }
        if !empty {
            depth_names.push(tag);
        }
    }
    suites
}

#[test]
fn junit_counts_match_the_cases() {
    for (name, r) in every_run() {
        let xml = render(|w| write_junit(w, &r));
        for s in parse_junit(&xml) {
            assert_eq!(s.declared, s.found, "{name}: suite {}", s.name);
        }
    }
    let suites = parse_junit(&render(|w| write_junit(w, &mixed_run())));
    let rails = &suites[0];
    assert_eq!(rails.name, "rails-jwt");
    assert_eq!(
        rails.cases,
        [
            ("login-ok (must)".to_owned(), "passed".to_owned()),
            ("login-wrong-password (must)".into(), "failure".into()),
            // should-level without --strict: passes, with a note.
            ("login-no-store (should)".into(), "passed".into()),
            ("logout-revokes-token (must)".into(), "error".into()),
        ]
    );
    assert_eq!(rails.system_out, 1);
    assert_eq!(suites[1].declared, [3, 0, 0, 0]);
    // The unreachable spec still shows up as an error.
    assert_eq!(suites[2].declared, [1, 0, 1, 0]);
    assert_eq!(
        suites[2].cases[0],
        ("(spec)".to_owned(), "error".to_owned())
    );
}

#[test]
fn junit_should_failures_count_with_strict() {
    let lenient = parse_junit(&render(|w| write_junit(w, &should_only_run(false))));
    assert_eq!(lenient[0].declared, [3, 0, 0, 0]);
    assert_eq!(lenient[0].system_out, 1);
    let strict = parse_junit(&render(|w| write_junit(w, &should_only_run(true))));
    assert_eq!(strict[0].declared, [3, 1, 0, 0]);
    assert_eq!(strict[0].system_out, 0);
    let interrupted = parse_junit(&render(|w| write_junit(w, &interrupted_run())));
    assert_eq!(interrupted[0].declared, [4, 0, 0, 2]);
}

#[test]
fn junit_mixed_snapshot() {
    let xml = render(|w| write_junit(w, &mixed_run()));
    assert!(xml.contains("expected: 401\n  actual:   200"));
    assert!(
        xml.contains(
            "reproduce: curl -i -X POST http://target.test/api/v1/sessions -H &apos;Content-Type"
        ) || xml.contains(
            "reproduce: curl -i -X POST http://target.test/api/v1/sessions -H 'Content-Type"
        )
    );
    snap("report__junit_mixed", &xml);
}

// ---------------------------------------------------------------------------------------------
// Markdown and HTML
// ---------------------------------------------------------------------------------------------

#[test]
fn markdown_snapshots() {
    let md = render(|w| write_markdown(w, &mixed_run()));
    assert!(md.contains("| `rails-jwt` | 2/3 | 0/1 |"));
    assert!(md.contains("### Compatibility of `http://target.test`"));
    assert!(md.contains("```sh\ncurl -i -X POST http://target.test/api/v1/sessions"));
    snap("report__markdown_mixed", &md);
    snap(
        "report__markdown_interrupted",
        &render(|w| write_markdown(w, &interrupted_run())),
    );
}

#[test]
fn html_is_one_self_contained_file() {
    for (name, r) in every_run() {
        let html = render(|w| write_html(w, &r));
        let lower = html.to_ascii_lowercase();
        assert!(lower.starts_with("<!doctype html>"), "{name}");
        assert!(lower.trim_end().ends_with("</html>"), "{name}");
        for banned in [
            "<script",
            "src=",
            "href=\"http",
            "href='http",
            "url(",
            "@import",
            "<link",
            "<img",
            "<iframe",
        ] {
            assert!(
                !lower.contains(banned),
                "{name}: `{banned}` in the HTML report"
            );
        }
        // Every tag we open is closed: as many <details> as </details>, <table> as </table>.
        for tag in ["details", "table", "section", "pre"] {
            assert_eq!(
                lower.matches(&format!("<{tag}")).count(),
                lower.matches(&format!("</{tag}>")).count(),
                "{name}: <{tag}> balance"
            );
        }
    }
}

#[test]
fn html_mixed_snapshot() {
    let html = render(|w| write_html(w, &mixed_run()));
    assert!(html.contains("<details class=\"case\" open>"));
    assert!(html.contains("email=foo%40bar.com&amp;password=***"));
    snap("report__html_mixed", &html);
}

// ---------------------------------------------------------------------------------------------
// Escaping and secrets
// ---------------------------------------------------------------------------------------------

/// Every field a server or a spec author controls, filled with markup, quotes and control characters.
fn hostile_run() -> RunOutcome {
    let nasty = "<script>alert(\"x\")</script> & 'q' `tick` | pipe ]]> \u{1b}[2J\u{0}\u{7}";
    let f = "specs/hostile.json";
    let mut s = step(
        0,
        "login",
        RequestData {
            method: Method::Post,
            url: format!("{TARGET}/login?next=<img src=x>"),
            headers: vec![("X-Note".into(), nasty.into())],
            body: Some(format!("{{\"name\":\"{nasty}\"}}")),
        },
        vec![CheckResult {
            pointer: Some("/a|b".into()),
            location: Some(loc(f, 3, 3)),
            ..check(
                "body.equals",
                false,
                nasty,
                "<img src=x onerror=alert(1)>\nline two",
            )
        }],
    );
    s.response = Some(response(
        500,
        &[("x-evil", "\"><script>alert(1)</script>")],
        "<html><img src=x onerror=alert(1)></html>",
    ));
    let mut c = case(
        f,
        2,
        "case-<b>&\"'",
        nasty,
        Level::Must,
        nasty,
        CaseStatus::Failed,
        vec![s],
    );
    c.rule = Some(nasty.into());
    let mut sp = spec("hostile", nasty, nasty, TARGET, vec![c]);
    sp.error = None;
    let mut errored = spec("hostile-2", "t", "s", TARGET, vec![]);
    errored.error = Some(nasty.into());
    run(Some(TARGET), false, vec![sp, errored])
}

#[test]
fn hostile_values_are_escaped_in_every_format() {
    let r = hostile_run();

    let html = render(|w| write_html(w, &r)).to_ascii_lowercase();
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));

    let xml = render(|w| write_junit(w, &r));
    let suites = parse_junit(&xml);
    assert_eq!(suites[0].cases[0].0, "case-<b>&\"' (must)");
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}') && !xml.contains('\u{7}'));

    let term = terminal(&r, false, true);
    assert!(
        !term.contains('\u{1b}'),
        "a response cannot drive the terminal"
    );
    assert!(term.contains("\\u{1b}[2J"));

    let md = render(|w| write_markdown(w, &r));
    // Table rows keep their columns: unescaped pipes only between cells.
    for line in md.lines().filter(|l| l.starts_with("| `body.equals`")) {
        let bytes = line.as_bytes();
        let cells = (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count();
        assert_eq!(cells, 6, "{line}");
    }
    assert!(!md.contains("<script"), "markup is escaped in Markdown");
}

#[test]
fn reports_carry_only_redacted_values() {
    // Build the outcome the way the engine does: from raw data through a redactor.
    let secret = "hunter2-correct-horse";
    let token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig";
    let mut red = Redactor::new();
    red.add(secret);
    red.add(token);
    let raw = login_request(TARGET, secret);
    let mut s = step(
        0,
        "login",
        raw.redacted(&red),
        vec![check("status", false, "401", "200")],
    );
    s.curl = Some(raw.to_curl(&red));
    s.response = Some(response(
        200,
        &[(
            "set-cookie",
            &red.redact(&format!("session={token}; HttpOnly")),
        )],
        &red.redact(&format!("{{\"auth_token\":\"{token}\"}}")),
    ));
    let c = case(
        "specs/rails-jwt.json",
        5,
        "login-wrong-password",
        "t",
        Level::Must,
        "d",
        CaseStatus::Failed,
        vec![s],
    );
    let r = run(
        Some(TARGET),
        false,
        vec![spec("rails-jwt", "t", "s", TARGET, vec![c])],
    );
    let outputs = [
        terminal(&r, false, true),
        render(|w| write_json(w, &r)),
        render(|w| write_junit(w, &r)),
        render(|w| write_markdown(w, &r)),
        render(|w| write_html(w, &r)),
    ];
    for out in outputs {
        assert!(!out.contains(secret) && !out.contains(token));
        assert!(
            out.contains("***"),
            "the mask is shown where the secret was"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

#[test]
fn report_arguments() {
    assert_eq!(
        parse_report_arg("json").expect("valid"),
        (ReportFormat::Json, "reports/check.json".into())
    );
    assert_eq!(
        parse_report_arg("junit:out/ci.xml").expect("valid"),
        (ReportFormat::Junit, "out/ci.xml".into())
    );
    let e = parse_report_arg("pdf").expect_err("unknown format");
    assert!(matches!(e, ReportError::UnknownFormat { .. }));
    assert!(e.to_string().contains("json, junit, markdown, html"), "{e}");
}

#[test]
fn write_report_creates_directories_and_every_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = mixed_run();
    for format in ReportFormat::ALL {
        let path = dir.path().join("nested/deeper").join(
            format
                .default_path()
                .file_name()
                .expect("default paths name a file"),
        );
        write_report(format, &r, &path).expect("report written");
        let text = std::fs::read_to_string(&path).expect("report readable");
        assert_eq!(text, render(|w| format.write(w, &r)), "{format}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("nested/deeper"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
}

#[test]
fn write_atomic_never_leaves_a_partial_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("check.json");
    write_atomic(&path, |w| w.write_all(b"old content")).expect("first write");

    let err = write_atomic(&path, |w| {
        w.write_all(b"partial new cont")?;
        w.flush()?;
        Err(io::Error::other("disk on fire"))
    })
    .expect_err("the closure failed");
    assert!(matches!(err, ReportError::Write { .. }));
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("still there"),
        "old content"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["check.json"], "the temporary file is removed");

    // A failed first write leaves no file at all.
    let fresh = dir.path().join("fresh.xml");
    assert!(write_atomic(&fresh, |_| Err(io::Error::other("no"))).is_err());
    assert!(!fresh.exists());

    // A directory in the way is reported, not clobbered.
    let e = write_atomic(dir.path(), |w| w.write_all(b"x")).expect_err("a directory");
    assert!(e.to_string().contains("cannot write the report"), "{e}");
}
