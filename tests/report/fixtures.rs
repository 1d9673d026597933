//! Hand-built outcomes: every shape a run can take.

use sessionspec::check::outcome::{
    CaseOutcome, CaseStatus, CheckResult, ResponseSummary, RunOutcome, SpecOutcome, StepError,
    StepErrorKind, StepOutcome, REPORT_FORMAT_VERSION,
};
use sessionspec::http::RequestData;
use sessionspec::redact::Redactor;
use sessionspec::spec::{Level, Location, Method};

pub const TARGET: &str = "http://target.test";

pub fn loc(file: &str, line: usize, column: usize) -> Location {
    Location {
        file: file.into(),
        line,
        column,
    }
}

pub fn login_request(base: &str, password: &str) -> RequestData {
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

pub fn curl_of(req: &RequestData) -> String {
    req.to_curl(&Redactor::new())
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> ResponseSummary {
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

pub fn check(name: &str, passed: bool, expected: &str, actual: &str) -> CheckResult {
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

pub fn step(
    index: usize,
    call: &str,
    request: RequestData,
    checks: Vec<CheckResult>,
) -> StepOutcome {
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
        skipped: None,
        duration_ms: 12,
    }
}

/// A step whose `when` was false: nothing sent.
pub fn skipped_step(index: usize, call: &str, why: &str) -> StepOutcome {
    StepOutcome {
        index,
        call: call.into(),
        name: None,
        curl: None,
        request: None,
        response: None,
        checks: vec![],
        error: None,
        skipped: Some(why.into()),
        duration_ms: 0,
    }
}

pub fn login_ok_step(base: &str) -> StepOutcome {
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
pub fn case(
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
        skip_reason: None,
        duration_ms: steps.iter().map(|s| s.duration_ms).sum(),
        steps,
        reproduction: None,
    }
}

pub fn spec(
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

pub fn run(target: Option<&str>, strict: bool, specs: Vec<SpecOutcome>) -> RunOutcome {
    RunOutcome {
        format_version: REPORT_FORMAT_VERSION,
        tool: "sessionspec 0.1.0".into(),
        started_at: "2025-01-01T00:00:00Z".into(),
        duration_ms: specs.iter().map(|s| s.duration_ms).sum::<u64>() + 1200,
        target: target.map(str::to_owned),
        faults: vec![],
        strict,
        interrupted: false,
        error: None,
        profile: None,
        halted: None,
        specs,
    }
}

/// rails-jwt: a failed must case (status, and a body check with a pointer), a failed should case and
/// an errored lifecycle case; drf-sessions: everything passes; form-sessions: unreachable.
pub fn rails_jwt() -> SpecOutcome {
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
    no_store.response = Some(response(
        200,
        &[("content-type", "application/json; charset=utf-8")],
        r#"{"auth_token":"***"}"#,
    ));
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
        error: Some(StepError::new(
            StepErrorKind::Timeout,
            "no response within 10s (timeout)",
        )),
        skipped: None,
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

pub fn drf_sessions(target: &str) -> SpecOutcome {
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
                vec![
                    login_ok_step(target),
                    skipped_step(
                        1,
                        "logout",
                        "§13.1.4: no Last-Modified, the header is ignored",
                    ),
                ],
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

pub fn unreachable_spec() -> SpecOutcome {
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

pub fn mixed_run() -> RunOutcome {
    run(
        Some(TARGET),
        false,
        vec![rails_jwt(), drf_sessions(TARGET), unreachable_spec()],
    )
}

pub fn passing_run() -> RunOutcome {
    run(None, false, vec![drf_sessions("embedded:drf-sessions")])
}

/// Interrupted after two cases; the other two were skipped.
pub fn interrupted_run() -> RunOutcome {
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
pub fn should_only_run(strict: bool) -> RunOutcome {
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

pub fn every_run() -> Vec<(&'static str, RunOutcome)> {
    vec![
        ("mixed", mixed_run()),
        ("passing", passing_run()),
        ("interrupted", interrupted_run()),
        ("should", should_only_run(false)),
        ("should_strict", should_only_run(true)),
        ("hostile", hostile_run()),
    ]
}

/// Every field a server or a spec author controls, filled with markup, quotes and control characters.
pub fn hostile_run() -> RunOutcome {
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
