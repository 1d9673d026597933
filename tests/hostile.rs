//! Hostile targets never hang or crash `sessionspec check`, and SIGINT/SIGTERM end a run cleanly.
//!
//! [`HostileServer`] (in `hostile/server.rs`) misbehaves according to the request path; the spec
//! `tests/hostile-specs/hostile.json` has one case per path. (`tests/secrets.rs` reuses the server for
//! its `/login` and `/echo` paths.)

mod server;

use std::time::Duration;

use serde_json::Value;
use sessionspec::check::outcome::CaseStatus;

pub(crate) use server::{HostileServer, HUGE};

use crate::support;

/// `--max-body` of the runs.
const MAX_BODY: usize = 1024 * 1024;

/// The spec of the hostile cases (runs start in the crate root).
fn hostile_spec() -> String {
    "tests/hostile-specs/hostile.json".to_owned()
}

/// Which words the one-line reason of each hostile case must contain (case-insensitive regex).
const EXPECTED_REASONS: &[(&str, &str)] = &[
    ("garbage", r"(?i)invalid http|malformed|not http|protocol"),
    ("invalid-json", r"(?i)not (valid )?json|invalid json"),
    ("huge", r"(?i)too large|larger than|exceeds"),
    ("silent", r"(?i)timed? ?out"),
    ("slow-head", r"(?i)timed? ?out"),
    ("slow-body", r"(?i)timed? ?out"),
    ("reset", r"(?i)reset|closed before"),
    ("redirect", r"(?i)redirect|302"),
    (
        "short-length",
        r"(?i)closed before|incomplete|unexpected (eof|end)|premature",
    ),
    ("long-length", r"(?i)not (valid )?json|invalid json"),
];

#[test]
fn hostile_targets_fail_cases_with_one_line_reasons_and_never_hang() {
    let server = HostileServer::start();
    let dir = support::temp_dir();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let out = support::run(
        [
            "check",
            "--spec",
            &hostile_spec(),
            "--target",
            &server.base_url(),
            "--timeout",
            "2s",
            "--max-body",
            &MAX_BODY.to_string(),
            "--report",
            &format!("json:{}", json.display()),
            "--report",
            &format!("junit:{}", junit.display()),
        ],
        Duration::from_secs(20),
    );
    // Counted cases that could not run make the verdict `error`: exit 2.
    assert_eq!(
        out.code,
        Some(2),
        "cases fail, nothing crashes\n{}",
        out.transcript()
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.transcript());

    let (_, run) = support::read_json_report(&json);
    assert_eq!(run.specs.len(), 1, "{}", out.transcript());
    let spec = &run.specs[0];
    assert!(
        spec.error.is_none(),
        "no spec-level error: {:?}",
        spec.error
    );
    let case = |id: &str| {
        spec.cases
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("case `{id}` missing from the report"))
    };
    assert_eq!(case("ok").status, CaseStatus::Passed, "{:#?}", case("ok"));
    for (id, pattern) in EXPECTED_REASONS {
        let c = case(id);
        assert!(
            matches!(c.status, CaseStatus::Failed | CaseStatus::Errored),
            "case `{id}` must fail or error, got {:?}",
            c.status
        );
        let reason = c
            .first_failure()
            .unwrap_or_else(|| panic!("case `{id}` failed without a reason: {c:#?}"));
        assert!(
            !reason.contains('\n'),
            "case `{id}`: reason spans lines: {reason:?}"
        );
        let re = regex::Regex::new(pattern).expect("pattern");
        assert!(
            re.is_match(&reason),
            "case `{id}`: reason {reason:?} should match /{pattern}/"
        );
        let line = regex::Regex::new(&format!(r"(?m)^\s*(FAIL|ERR)\b.*\s{}\s", regex::escape(id)))
            .expect("pattern");
        assert!(
            line.is_match(&out.stdout),
            "case `{id}` is not reported as failed on stdout\n{}",
            out.transcript()
        );
    }
    let huge = case("huge");
    let read = huge
        .steps
        .iter()
        .filter_map(|s| s.response.as_ref())
        .map(|r| r.body_len)
        .max();
    assert!(
        read.is_none_or(|n| n <= MAX_BODY),
        "--max-body {MAX_BODY} caps what is read, read {read:?}"
    );
    // What was written beyond --max-body sits in socket buffers: far less than the 50 MB.
    assert!(
        server.huge_sent() < HUGE / 4,
        "the client stopped reading the 50 MB body (the server wrote {} bytes)",
        server.huge_sent()
    );

    let (cases, failures) = support::parse_junit(&junit);
    assert_eq!(cases, spec.cases.len(), "one <testcase> per case");
    assert_eq!(
        failures,
        EXPECTED_REASONS.len(),
        "one <failure>/<error> per hostile case"
    );
}

#[test]
fn unreachable_target_is_a_one_line_error_not_a_hang() {
    // Bind then drop a listener: the port is (almost certainly) closed, connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind");
    let out = support::run(
        [
            "check",
            "--spec",
            &hostile_spec(),
            "--target",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "2s",
        ],
        Duration::from_secs(15),
    );
    assert_eq!(
        out.code,
        Some(2),
        "a connection error is exit 2\n{}",
        out.transcript()
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line of error\n{}", out.transcript());
    assert!(
        regex::Regex::new(r"(?i)unreachable|refused")
            .expect("re")
            .is_match(lines[0]),
        "the error says the target is unreachable: {}",
        lines[0]
    );
}

/// Starts `check` against the never-answering path, sends `signal` after a second, and checks the run
/// ends with `code` and a complete JSON report marked interrupted.
fn interrupt_check(signal: &str, code: i32) {
    let server = HostileServer::start();
    let dir = support::temp_dir();
    let json = dir.path().join("r.json");
    let spec = dir.path().join("silent.json");
    std::fs::write(&spec, silent_spec()).expect("cannot write the spec");
    let running = support::spawn([
        "check",
        "--spec",
        &spec.display().to_string(),
        "--target",
        &server.base_url(),
        "--timeout",
        "30s",
        "--report",
        &format!("json:{}", json.display()),
    ]);
    std::thread::sleep(Duration::from_millis(1200));
    running.signal(signal);
    let sent = std::time::Instant::now();
    let out = running.wait(Duration::from_secs(8));
    assert_eq!(
        out.code,
        Some(code),
        "SIG{signal} → exit {code}\n{}",
        out.transcript()
    );
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "ended {:?} after SIG{signal}",
        sent.elapsed()
    );
    let (value, run) = support::read_json_report(&json);
    assert_eq!(value["interrupted"], Value::Bool(true), "{value:#}");
    assert!(run.interrupted);
    // What ran is reported: the answered case passed, the one cut short did not.
    let status = |id: &str| {
        run.specs
            .iter()
            .flat_map(|s| &s.cases)
            .find(|c| c.id == id)
            .map(|c| c.status)
    };
    assert_eq!(status("answered"), Some(CaseStatus::Passed), "{value:#}");
    assert!(
        matches!(
            status("never-answered"),
            Some(CaseStatus::Skipped | CaseStatus::Errored)
        ),
        "{value:#}"
    );
    let temp_left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(std::result::Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "r.json" && n != "silent.json")
        .collect();
    assert!(
        temp_left.is_empty(),
        "the atomic write left files behind: {temp_left:?}"
    );
}

/// A spec whose first case calls `/silent` (never answered) and whose second calls `/ok`.
fn silent_spec() -> String {
    serde_json::json!({
        "name": "silent",
        "title": "A server that never answers (test fixture)",
        "source": "none: test fixture of tests/hostile.rs",
        "operations": { "silent": { "method": "GET", "path": "/silent" },
                        "ok": { "method": "GET", "path": "/ok" } },
        "cases": [
            { "id": "never-answered", "title": "GET /silent", "level": "must", "doc": "fixture",
              "steps": [ { "call": "silent", "expect": { "status": 200 } } ] },
            { "id": "answered", "title": "GET /ok", "level": "must", "doc": "fixture",
              "steps": [ { "call": "ok", "expect": { "status": 200 } } ] }
        ]
    })
    .to_string()
}

#[test]
fn sigint_ends_check_with_130_and_an_interrupted_report() {
    interrupt_check("INT", 130);
}

#[test]
fn sigterm_ends_check_with_143_and_an_interrupted_report() {
    interrupt_check("TERM", 143);
}

#[test]
fn sigint_ends_load_with_130_and_an_interrupted_report() {
    let dir = support::temp_dir();
    let json = dir.path().join("load.json");
    let scenario = first_scenario();
    let running = support::spawn([
        "load",
        "--scenario",
        &scenario,
        "--run-time",
        "30s",
        "--users",
        "2",
        "--hash-cost",
        "low",
        "--report",
        &format!("json:{}", json.display()),
    ]);
    std::thread::sleep(Duration::from_secs(3));
    running.signal("INT");
    let sent = std::time::Instant::now();
    let out = running.wait(Duration::from_secs(10));
    assert_eq!(
        out.code,
        Some(130),
        "SIGINT → exit 130\n{}",
        out.transcript()
    );
    assert!(
        sent.elapsed() < Duration::from_secs(6),
        "ended {:?} after SIGINT",
        sent.elapsed()
    );
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no load JSON report ({e})\n{}", out.transcript()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the load report is not JSON ({e}):\n{text}"));
    // Marked interrupted: `true`, or the name of the signal.
    let marked = match &value["interrupted"] {
        Value::Bool(b) => *b,
        Value::String(s) => s.contains("INT"),
        _ => false,
    };
    assert!(marked, "the load report is marked interrupted: {value:#}");
    let measured = value["total"]["requests"].as_u64().unwrap_or(0);
    assert!(
        measured > 0,
        "what was measured before the signal is reported: {value:#}"
    );
}

/// The first shipped scenario file (sorted by name).
pub(crate) fn first_scenario() -> String {
    let files = sessionspec::spec::spec_files(&support::root().join("scenarios"))
        .expect("scenarios/ is readable");
    files
        .first()
        .map(|p| p.display().to_string())
        .expect("no scenario in scenarios/")
}
