//! Every verdict class, end to end through the binary: the JSON report's verdict and the exit
//! code always agree (`pass` 0, `fail` 1, `error` 2, `interrupted` 130/143).

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support;

/// A listener that accepts connections and never answers; stops within 50 ms of being dropped
/// (and after 60 s whatever happens).
pub struct BlackHole {
    pub url: String,
    done: Arc<AtomicBool>,
}

impl BlackHole {
    pub fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                match listener.accept() {
                    Ok((sock, _)) => held.push(sock),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        BlackHole { url, done }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

fn verdict_of(json: &std::path::Path) -> String {
    let (value, _) = support::read_json_report(json);
    value["summary"]["verdict"]
        .as_str()
        .expect("a verdict")
        .to_owned()
}

#[test]
fn report_verdict_and_exit_code_agree_for_every_class() {
    let dir = support::temp_dir();
    let json = dir.path().join("check.json");
    let report = format!("json:{}", json.display());
    let bound = Duration::from_secs(60);

    let out = support::run(["check", "--spec", "rails-jwt", "--report", &report], bound);
    assert_eq!(
        (out.code, verdict_of(&json).as_str()),
        (Some(0), "pass"),
        "{}",
        out.transcript()
    );

    let out = support::run(
        [
            "check",
            "--spec",
            "rails-jwt",
            "--fault",
            "wrong-status",
            "--report",
            &report,
        ],
        bound,
    );
    assert_eq!(
        (out.code, verdict_of(&json).as_str()),
        (Some(1), "fail"),
        "{}",
        out.transcript()
    );

    let hole = BlackHole::start();
    let out = support::run(
        [
            "check",
            "--target",
            &hole.url,
            "--timeout",
            "1s",
            "--report",
            &report,
        ],
        bound,
    );
    assert_eq!(
        (out.code, verdict_of(&json).as_str()),
        (Some(2), "error"),
        "{}",
        out.transcript()
    );

    let running = support::spawn([
        "check",
        "--fault",
        "slow-login",
        "--concurrency",
        "1",
        "--report",
        &report,
    ]);
    std::thread::sleep(Duration::from_millis(800));
    running.signal("TERM");
    let out = running.wait(bound);
    assert_eq!(
        (out.code, verdict_of(&json).as_str()),
        (Some(143), "interrupted"),
        "{}",
        out.transcript()
    );
}

/// Five specs against a listener that never answers end within 2 × --timeout + 1 s, in one line.
#[test]
fn a_black_hole_is_one_line_and_exit_2_quickly() {
    let hole = BlackHole::start();
    let dir = support::temp_dir();
    let json = dir.path().join("check.json");
    let out = support::run(
        [
            "check",
            "--target",
            &hole.url,
            "--timeout",
            "1s",
            "--report",
            &format!("json:{}", json.display()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        out.elapsed < Duration::from_secs(3),
        "took {:?}\n{}",
        out.elapsed,
        out.transcript()
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "error: target {} is unreachable: timeout after 1s",
                hole.url
            ),
            format!("sessionspec: wrote the json report to {}", json.display()),
        ],
        "{}",
        out.transcript()
    );
    assert!(out.stdout.is_empty(), "{}", out.transcript());
    let (value, outcome) = support::read_json_report(&json);
    assert_eq!(value["summary"]["verdict"], "error");
    assert_eq!(outcome.specs.len(), 5);
    assert!(outcome
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("unreachable"));
}

/// Secrets as the README promises: the userinfo of a target URL never appears in any output,
/// and sessions-service's session ids (in the DELETE URL, the Location header, the body) are masked.
#[test]
fn userinfo_and_session_ids_are_masked() {
    let hole = BlackHole::start();
    let with_userinfo = hole.url.replace("http://", "http://qa:hunter2@");
    let out = support::run(
        [
            "check",
            "--spec",
            "rails-jwt",
            "--target",
            &with_userinfo,
            "--timeout",
            "1s",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        !out.transcript().contains("hunter2"),
        "{}",
        out.transcript()
    );
    assert!(
        out.stderr.contains("http://***@127.0.0.1:"),
        "{}",
        out.transcript()
    );

    let dir = support::temp_dir();
    let json = dir.path().join("check.json");
    let out = support::run(
        [
            "check",
            "--spec",
            "sessions-service",
            "--strict",
            "--report",
            &format!("json:{}", json.display()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let text = std::fs::read_to_string(&json).unwrap();
    let mut seen = 0;
    for (i, _) in text.match_indices("/sessions/") {
        let next = &text[i + "/sessions/".len()..];
        seen += 1;
        assert!(
            next.starts_with("***")
                || next.starts_with("{{")
                || next.starts_with("no-such-session"),
            "a session id in clear: …{}…",
            &text[i..(i + 60).min(text.len())]
        );
    }
    assert!(seen > 0, "the report shows the DELETE URLs");
    assert!(!text.contains("\"sessionId\":\"") || text.contains("\"sessionId\":\"***\""));
}

/// A listener that answers its first request (the probe) `200` and then holds every connection.
fn probe_then_hold() -> (String, Arc<AtomicBool>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    std::thread::spawn(move || {
        let started = Instant::now();
        let (mut held, mut answered) = (Vec::new(), false);
        while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
            let Ok((mut sock, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            if answered {
                held.push(sock);
                continue;
            }
            answered = true;
            let _ = sock.set_nonblocking(false);
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf);
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, done)
}

/// Five specs against a target that answers the probe and then nothing: after
/// `--max-transport-errors` (3) silent cases the target is given up, in about one timeout.
#[test]
fn a_target_that_stops_answering_is_given_up_quickly() {
    let (url, done) = probe_then_hold();
    let dir = support::temp_dir();
    let json = dir.path().join("check.json");
    let out = support::run(
        [
            "check",
            "--target",
            &url,
            "--timeout",
            "1s",
            "--report",
            &format!("json:{}", json.display()),
        ],
        Duration::from_secs(60),
    );
    done.store(true, Ordering::Relaxed);
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        out.elapsed < Duration::from_secs(4),
        "took {:?}\n{}",
        out.elapsed,
        out.transcript()
    );
    let (_, outcome) = support::read_json_report(&json);
    assert_eq!(outcome.specs.len(), 5);
    let first = outcome.specs[0].error.as_deref().unwrap_or_default();
    assert!(
        first.contains("stopped answering") && first.contains("3 cases in a row"),
        "{first}"
    );
    for spec in &outcome.specs[1..] {
        assert!(
            spec.error
                .as_deref()
                .unwrap_or_default()
                .starts_with("not run: target"),
            "{:?}",
            spec.error
        );
    }
}

#[test]
fn case_globs_and_fail_fast() {
    let dir = support::temp_dir();
    let json = dir.path().join("check.json");
    let report = format!("json:{}", json.display());
    let bound = Duration::from_secs(60);
    let out = support::run(["check", "--case", "login-ok*", "--report", &report], bound);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let (_, outcome) = support::read_json_report(&json);
    let ids: Vec<&str> = outcome
        .specs
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            "login-ok",
            "login-ok-headers",
            "login-ok-validators",
            "login-ok-jwt"
        ],
        "only rails-jwt has such cases, and only they run"
    );
    let out = support::run(["check", "--case", "no-such-case"], bound);
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        out.stderr.contains("--case no-such-case"),
        "{}",
        out.transcript()
    );

    let out = support::run(
        [
            "check",
            "--fault",
            "wrong-status",
            "--fail-fast",
            "--concurrency",
            "1",
            "--report",
            &report,
        ],
        bound,
    );
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let (value, outcome) = support::read_json_report(&json);
    assert!(
        value["halted"]
            .as_str()
            .unwrap_or_default()
            .starts_with("--fail-fast: stopped after case"),
        "{}",
        value["halted"]
    );
    let failed = outcome
        .specs
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| c.status.as_str() == "failed")
        .count();
    let skipped = outcome
        .specs
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| c.status.as_str() == "skipped")
        .count();
    assert_eq!(
        failed, 1,
        "one case ran into the fault, then the run stopped"
    );
    assert!(skipped > 50, "{skipped}");
    assert!(
        out.stdout.contains("warning: --fail-fast"),
        "{}",
        out.stdout
    );
}

/// The "done when", through the binary: every spec passes strictly under every variant,
/// and the two faults of the verdicts issue make a strict check fail.
#[test]
fn variants_pass_and_the_new_faults_fail_through_the_binary() {
    let bound = Duration::from_secs(60);
    for variant in sessionspec::server::Variant::ALL {
        let out = support::run(["check", "--strict", "--variant", variant.as_str()], bound);
        assert_eq!(
            out.code,
            Some(0),
            "--variant {}\n{}",
            variant.as_str(),
            out.transcript()
        );
    }
    for fault in ["cross-user-delete", "weak-if-match"] {
        let out = support::run(["check", "--strict", "--fault", fault], bound);
        assert_eq!(out.code, Some(1), "--fault {fault}\n{}", out.transcript());
    }
    let out = support::run(
        [
            "check",
            "--variant",
            "weak-etags",
            "--target",
            "http://127.0.0.1:1",
        ],
        bound,
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert!(
        out.stderr
            .starts_with("error: --variant needs the embedded server"),
        "{}",
        out.transcript()
    );
}
