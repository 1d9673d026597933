//! `sessionspec load` end to end against the embedded reference server.
//!
//! goose keeps process-global state (its killswitch, its logger, the Ctrl-C handler), so these
//! tests live in their own binary and take [`SERIAL`] so that one attack runs at a time. Every
//! run is bounded (1 s or a few iterations, a handful of users, `--hash-cost low`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use sessionspec::cli::{exit_code, load_plan, write_load_reports, Cli, Command as Sub, LoadArgs};
use sessionspec::load::{lint_scenario_file, LoadOutcome, LoadResults, Silent, Verdict};
use sessionspec::stop::Stop;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// A 1-second run of `scenario` with 4 users, every report into `dir`, plus `extra` flags.
fn args(scenario: &str, dir: &Path, extra: &[&str]) -> LoadArgs {
    let mut argv: Vec<String> = ["sessionspec", "load", "--scenario", scenario]
        .iter()
        .map(ToString::to_string)
        .collect();
    for (flag, default) in [
        ("--users", "4"),
        ("--run-time", "1s"),
        ("--hash-cost", "low"),
    ] {
        if !extra.contains(&flag) {
            argv.extend([flag.to_owned(), default.to_owned()]);
        }
    }
    argv.push("--scenarios-dir".into());
    argv.push(root().join("scenarios").display().to_string());
    argv.push("--specs-dir".into());
    argv.push(root().join("specs").display().to_string());
    for (format, file) in [
        ("json", "load.json"),
        ("markdown", "load.md"),
        ("html", "load.html"),
    ] {
        argv.push("--report".into());
        argv.push(format!("{format}:{}", dir.join(file).display()));
    }
    argv.extend(extra.iter().map(ToString::to_string));
    match Cli::parse_from(argv).command {
        Sub::Load(a) => a,
        other => panic!("not load: {other:?}"),
    }
}

/// Plans and runs like `sessionspec load` does: the plan from the arguments, the engine's
/// outcome, the exit code of its verdict, the reports written. `Err(2)` when the plan is refused.
async fn run(a: &LoadArgs) -> Result<(u8, LoadOutcome), u8> {
    let prepared = load_plan(a).map_err(|_| 2u8)?;
    let outcome = sessionspec::load::run(&prepared.plan, &Stop::never(), &Silent)
        .await
        .map_err(|_| 2u8)?;
    let code = exit_code(outcome.results.verdict, None);
    assert!(write_load_reports(&outcome, &prepared.reports));
    for (format, path) in &prepared.reports {
        if *format == sessionspec::load::report::LoadReportFormat::Json {
            check_json_report(path, &outcome.results);
        }
    }
    Ok((code, outcome))
}

/// Every JSON report a test writes matches the published schema and reads back as the results.
fn check_json_report(path: &Path, results: &LoadResults) {
    let schema_path = root().join("reports/schema/load-report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    assert!(jsonschema::meta::is_valid(&schema), "a valid JSON Schema");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    let back: LoadResults = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(&back, results, "load.json reads back as the results");
    // The schema is no rubber stamp.
    let mut bad = doc.clone();
    bad["total"]["histogram"] = serde_json::json!("deflated?");
    assert!(!validator.is_valid(&bad));
    let mut bad = doc;
    bad.as_object_mut().unwrap().remove("series");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn every_shipped_scenario_lints_clean() {
    let files = shipped();
    assert!(files.len() >= 6, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value.get("$schema").and_then(|v| v.as_str()),
            Some("schema/scenario.schema.json"),
            "{}",
            f.display()
        );
        let summary = lint_scenario_file(f).unwrap_or_else(|e| panic!("{}: {e:#?}", f.display()));
        let spec = value
            .get("spec")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        assert!(
            summary.starts_with(&format!("scenario of {spec}: ")),
            "{summary}"
        );
    }
    let broken = tempfile::tempdir().unwrap();
    let bad = broken.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"name\": \"bad\", \"spec\": \"drf-sessions\", \"flow\": []}",
    )
    .unwrap();
    let errors = lint_scenario_file(&bad).unwrap_err();
    assert!(
        errors.iter().all(|e| e.contains("bad.json:1:")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_scenario_runs_clean_and_reports() {
    let _serial = SERIAL.lock().await;
    for file in shipped() {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        let (code, outcome) = run(&args(&name, dir.path(), &[])).await.unwrap();
        assert_eq!(code, 0, "{name}");
        let r = outcome.results;
        assert_eq!(r.scenario, name);
        assert_eq!(r.verdict, Verdict::Pass, "{name}");
        let headline = r
            .headline
            .as_ref()
            .expect("every shipped scenario has a headline");
        assert!(headline.successes > 0, "{name}: {headline:?}");
        assert!(headline.per_second > 0.0, "{name}: {headline:?}");
        assert!(r.total.requests > 0, "{name}");
        assert_eq!(r.total.failures, 0, "{name}: {:?}", r.errors);
        assert!(r.errors.is_empty(), "{name}: {:?}", r.errors);
        assert_eq!(r.total.skipped, 0, "{name}");
        let text = std::fs::read_to_string(&file).unwrap();
        let sets_headline =
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["headline"].is_string();
        if !sets_headline
            && r.operations
                .iter()
                .any(|o| o.name == "login" && o.requests > 0)
        {
            assert_eq!(headline.request, "login", "{name}");
        }
        let latency = r.total.latency_ms.expect("latencies were measured");
        assert!(latency.p50 <= latency.p95 && latency.p95 <= latency.p99);
        assert!(latency.p99 <= latency.max);
        let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
        assert!(md.contains(&format!("# Load run: `{name}`")), "{md}");
        let html = std::fs::read_to_string(dir.path().join("load.html")).unwrap();
        assert!(html.contains("<html"), "{name}: goose's HTML report");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_login_fails_a_tight_latency_threshold_and_passes_a_generous_one() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(
        "rails-jwt-login",
        dir.path(),
        &["--users", "2", "--fault", "slow-login"],
    );
    a.thresholds = vec!["login:p95<200ms".into(), "login:p95<5s".into()];
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 1);
    let r = outcome.results;
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.thresholds.len(), 2);
    assert!(!r.thresholds[0].passed, "{:?}", r.thresholds[0]);
    assert!(r.thresholds[1].passed, "{:?}", r.thresholds[1]);
    assert!(r.operations[0].latency_ms.unwrap().p50 >= 250.0);

    let dir = tempfile::tempdir().unwrap();
    let mut a = args(
        "rails-jwt-login",
        dir.path(),
        &["--users", "2", "--fault", "slow-login"],
    );
    a.thresholds = vec!["login:p95<5s".into(), "errors<=0".into()];
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 0);
    assert_eq!(outcome.results.verdict, Verdict::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_server_fails_the_error_rate_threshold() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = args("drf-login-list-logout", dir.path(), &["--fault", "flaky"]);
    a.thresholds = vec!["errors<1%".into(), "login:rps>=1".into()];
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 1);
    let r = outcome.results;
    assert!(!r.thresholds[0].passed, "{:?}", r.thresholds);
    assert!(r.thresholds[1].passed, "{:?}", r.thresholds);
    assert!(r.total.failures > 0);
    assert!(r.total.status_codes.get(&500).copied().unwrap_or(0) > 0);
    assert!(
        r.errors.iter().any(|e| e.error.contains("500")),
        "{:?}",
        r.errors
    );
    // A failed login leaves nothing to list or log out with: those steps are skipped, not sent.
    assert!(r.total.skipped > 0, "{:?}", r.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_thresholds_and_unbounded_runs_are_errors_before_any_load() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    for bad in ["lgin:p95<250ms", "login:p97<1s", "errors<lots"] {
        let mut a = args("drf-login-list-logout", dir.path(), &[]);
        a.thresholds = vec![bad.into()];
        assert_eq!(run(&a).await.err(), Some(2), "{bad}");
    }
    assert!(!dir.path().join("load.json").exists(), "no run, no report");

    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(
        scenarios.path().join("open-ended.json"),
        r#"{"$schema": "schema/scenario.schema.json", "name": "open-ended", "spec": "rails-jwt",
            "flow": [{"call": "login", "expect_status": 200}]}"#,
    )
    .unwrap();
    let mut a = args("open-ended", dir.path(), &[]);
    a.scenarios_dir = scenarios.path().to_owned();
    a.run_time = None;
    assert_eq!(run(&a).await.err(), Some(2), "no run_time anywhere");
    let a = args(
        "drf-login-list-logout",
        dir.path(),
        &["--run-time", "300ms"],
    );
    assert_eq!(run(&a).await.err(), Some(2), "shorter than goose's 1s");
    assert!(!dir.path().join("load.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_bound_a_run_exactly() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(
        "jsonapi-login-logout",
        dir.path(),
        &["--users", "2", "--iterations", "3"],
    );
    a.run_time = None;
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 0);
    let r = outcome.results;
    let count = |n: &str| r.operations.iter().find(|o| o.name == n).unwrap().successes;
    assert_eq!((count("login"), count("logout")), (6, 6));
}

/// A real signal to the real binary: the run stops, its reports say so, the exit code tells which.
#[test]
fn a_signal_stops_the_run_and_it_still_reports() {
    let _serial = SERIAL.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let spawn = |signal: &str| {
        let json = dir.path().join(format!("{signal}.json"));
        let child = Command::new(env!("CARGO_BIN_EXE_sessionspec"))
            .args(["load", "--scenario", "rails-jwt-login", "--users", "2"])
            .args(["--run-time", "30s", "--hash-cost", "low"])
            .arg("--scenarios-dir")
            .arg(root().join("scenarios"))
            .arg("--specs-dir")
            .arg(root().join("specs"))
            .arg("--report")
            .arg(format!("json:{}", json.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (signal.to_owned(), json, child)
    };
    let mut children = vec![spawn("INT"), spawn("TERM")];
    std::thread::sleep(Duration::from_secs(2));
    for (signal, _, child) in &children {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for (signal, json, child) in &mut children {
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("SIG{signal} did not stop the run");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let want = if signal == "INT" { 130 } else { 143 };
        assert_eq!(status.code(), Some(want), "SIG{signal}");
        let r: LoadResults = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        assert_eq!(
            r.interrupted.as_deref(),
            Some(format!("SIG{signal}").as_str())
        );
        assert_eq!(r.verdict, Verdict::Interrupted);
        assert!(r.headline.unwrap().successes > 0);
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        assert!(out.contains("result: interrupted"), "{out}");
        assert!(
            out.starts_with("load: scenario `rails-jwt-login`"),
            "stdout is ours only: {out}"
        );
    }
}

// ---- bad targets: every one ends with its documented exit code, within the run's bound ----

/// How a test server misbehaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Misbehaviour {
    /// Answers every request with bytes that are not HTTP.
    Garbage,
    /// Closes every connection as soon as it is accepted.
    Reset,
    /// Accepts and never answers.
    BlackHole,
    /// Sends the status line, then one header byte every 400 ms, forever.
    SlowLoris,
    /// Answers every request `500` with an empty body.
    Status500,
    /// Answers the first request (the probe) `200`, then holds every connection unanswered.
    ProbeThenHold,
}

/// A test server on 127.0.0.1:0 that stops within 50 ms of being dropped (at most after 60 s).
struct BadServer {
    url: String,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl BadServer {
    fn start(how: Misbehaviour) -> BadServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut held = Vec::new();
            let mut answered = 0usize;
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                let Ok((mut sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                match how {
                    Misbehaviour::Reset => drop(sock),
                    Misbehaviour::BlackHole => held.push(sock),
                    Misbehaviour::Garbage => {
                        let _ = sock.read(&mut buf);
                        let _ = sock.write_all(b"\x00\x01garbage\r\n\r\n");
                    }
                    Misbehaviour::Status500 => {
                        let flag = std::sync::Arc::clone(&flag);
                        std::thread::spawn(move || {
                            while !flag.load(Ordering::Relaxed) {
                                match sock.read(&mut buf) {
                                    Ok(0) | Err(_) => return,
                                    Ok(_) => {
                                        let reply = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n";
                                        if sock.write_all(reply).is_err() {
                                            return;
                                        }
                                    }
                                }
                            }
                        });
                    }
                    Misbehaviour::SlowLoris => {
                        let flag = std::sync::Arc::clone(&flag);
                        std::thread::spawn(move || {
                            let _ = sock.read(&mut buf);
                            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nx-slow: ");
                            for _ in 0..150 {
                                if flag.load(Ordering::Relaxed) || sock.write_all(b"a").is_err() {
                                    return;
                                }
                                std::thread::sleep(Duration::from_millis(400));
                            }
                        });
                    }
                    Misbehaviour::ProbeThenHold if answered == 0 => {
                        answered += 1;
                        let _ = sock.read(&mut buf);
                        let _ = sock.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                    Misbehaviour::ProbeThenHold => held.push(sock),
                }
            }
        });
        BadServer { url, done }
    }
}

impl Drop for BadServer {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_targets_are_exit_2_before_any_load() {
    let _serial = SERIAL.lock().await;
    let unreachable = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut targets: Vec<(String, String)> = vec![("unreachable".into(), unreachable)];
    let mut servers = Vec::new();
    for how in [
        Misbehaviour::Garbage,
        Misbehaviour::Reset,
        Misbehaviour::BlackHole,
        Misbehaviour::SlowLoris,
    ] {
        let server = BadServer::start(how);
        targets.push((format!("{how:?}"), server.url.clone()));
        servers.push(server);
    }
    for (what, url) in targets {
        let dir = tempfile::tempdir().unwrap();
        let a = args(
            "rails-jwt-login",
            dir.path(),
            &["--target", &url, "--timeout", "1s", "--run-time", "3s"],
        );
        let started = Instant::now();
        let (code, outcome) = run(&a).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: {:?}",
            started.elapsed()
        );
        assert_eq!(code, 2, "{what}");
        let r = outcome.results;
        assert_eq!(r.verdict, Verdict::Error, "{what}");
        let why = r.error.as_deref().unwrap_or_default();
        assert!(why.contains(&url) && !why.contains('\n'), "{what}: {why}");
        assert_eq!(r.total.requests, 0, "{what}: no load was sent");
        let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
        assert!(
            md.contains("**error**") && md.contains(&url),
            "{what}: {md}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_where_nothing_succeeds_never_passes() {
    let _serial = SERIAL.lock().await;
    // Every login refused (a wrong password): the default gate fails, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let a = args("rails-jwt-login", dir.path(), &["--var", "password=wrong"]);
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 1);
    let r = outcome.results;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.total.requests > 0 && r.total.successes == 0,
        "{:?}",
        r.total
    );
    assert!(
        r.thresholds
            .iter()
            .any(|t| !t.passed && t.threshold == "login:successes>=1"),
        "{:?}",
        r.thresholds
    );
    let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
    assert!(
        md.contains("(default gate)") && md.contains("**FAIL**"),
        "{md}"
    );

    // Every answer a 500, a threshold that would hold on fast failures, no default gate: the
    // rule no option removes still fails the run.
    let server = BadServer::start(Misbehaviour::Status500);
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(
        "rails-jwt-login",
        dir.path(),
        &["--target", &server.url, "--no-default-gate", "--users", "2"],
    );
    a.thresholds = vec!["login:p95<5s".into()];
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 1);
    let r = outcome.results;
    assert!(r.total.requests > 0, "{:?}", r.total);
    assert_eq!(r.total.status_codes.get(&500), Some(&r.total.requests));
    assert!(
        r.thresholds
            .iter()
            .any(|t| !t.passed && t.observed.starts_with("not one of")),
        "{:?}",
        r.thresholds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stops_answering_cannot_stretch_the_run() {
    let _serial = SERIAL.lock().await;
    let server = BadServer::start(Misbehaviour::ProbeThenHold);
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        "rails-jwt-login",
        dir.path(),
        &[
            "--target",
            &server.url,
            "--timeout",
            "1s",
            "--run-time",
            "2s",
            "--users",
            "2",
        ],
    );
    let prepared = load_plan(&a).unwrap();
    let bound = prepared.plan.bound().unwrap();
    let started = Instant::now();
    let (code, outcome) = run(&a).await.unwrap();
    let took = started.elapsed();
    assert!(
        took <= bound + Duration::from_millis(500),
        "{took:?} > {bound:?}"
    );
    assert_eq!(code, 1, "{:?}", outcome.results.thresholds);
    let r = outcome.results;
    assert_eq!(r.total.successes, 0);
    // Requests that timed out are failures; those abandoned at the end are counted apart.
    assert!(
        r.total.failures + r.cancelled > 0,
        "{:?} cancelled {}",
        r.total,
        r.cancelled
    );
    assert_eq!(r.plan.timeout_ms, 1000);
}

/// A short load run over HTTPS against the reference server's self-signed certificate: each
/// user builds its client with `--cacert`; without it the probe stops the run (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_with_a_private_ca() {
    use sessionspec::server::{self, Dialect, HashCost, ServerConfig, ServerTls};
    let _serial = SERIAL.lock().await;
    let tls = ServerTls::self_signed().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("ca.pem");
    std::fs::write(&cert, tls.cert_pem()).unwrap();
    let mut config = ServerConfig::new(Dialect::RailsJwt);
    config.hash_cost = HashCost::Low;
    config.tls = Some(tls);
    let running = server::start(config).await.unwrap();
    let url = running.base_url();
    assert!(url.starts_with("https://"), "{url}");

    let cacert = cert.display().to_string();
    let a = args(
        "rails-jwt-login",
        dir.path(),
        &["--target", &url, "--cacert", &cacert, "--users", "2"],
    );
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(
        code, 0,
        "{:?} {:?}",
        outcome.results.thresholds, outcome.results.errors
    );
    assert!(outcome.results.headline.unwrap().successes > 0);

    let a = args(
        "rails-jwt-login",
        dir.path(),
        &["--target", &url, "--users", "2"],
    );
    let (code, outcome) = run(&a).await.unwrap();
    assert_eq!(code, 2);
    assert!(
        outcome
            .results
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("unknown issuer"),
        "{:?}",
        outcome.results.error
    );
    running.shutdown().await;
}

/// A server that answers every request `401` at once, except that every request arriving
/// between 1.5 s and 2.5 s after the first one (the probe) waits until 2.5 s: one stall of 1 s.
struct StallServer {
    url: String,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StallServer {
    fn start() -> StallServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, OnceLock};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let first: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
        std::thread::spawn(move || {
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                let Ok((mut sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
                let (flag, first) = (Arc::clone(&flag), Arc::clone(&first));
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while !flag.load(Ordering::Relaxed) {
                        match sock.read(&mut buf) {
                            Ok(0) => return,
                            Ok(_) => {}
                            Err(e)
                                if e.kind() == std::io::ErrorKind::WouldBlock
                                    || e.kind() == std::io::ErrorKind::TimedOut =>
                            {
                                continue
                            }
                            Err(_) => return,
                        }
                        let t0 = *first.get_or_init(Instant::now);
                        let at = t0.elapsed();
                        if at >= Duration::from_millis(1500) && at < Duration::from_millis(2500) {
                            std::thread::sleep(Duration::from_millis(2500) - at);
                        }
                        let reply = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n";
                        if sock.write_all(reply).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        StallServer { url, done }
    }
}

impl Drop for StallServer {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The open model measures from each arrival's intended start, so the arrivals a stall delayed
/// count with their wait: its p99 includes the 1 s stall. The closed model's users just wait,
/// sending nothing, and its p99 does not (coordinated omission).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_p99_includes_a_stall_that_the_closed_model_omits() {
    let _serial = SERIAL.lock().await;
    let p99 = |r: &LoadResults| r.total.latency_ms.unwrap().p99;

    let server = StallServer::start();
    let dir = tempfile::tempdir().unwrap();
    let closed = args(
        "drf-rejected-token",
        dir.path(),
        &["--target", &server.url, "--users", "2", "--run-time", "3s"],
    );
    let (_, outcome) = run(&closed).await.unwrap();
    let closed = outcome.results;
    drop(server);
    assert_eq!(
        closed.latency_from,
        sessionspec::load::results::LatencyFrom::Send
    );
    assert!(closed.total.requests > 200, "{}", closed.total.requests);
    assert!(p99(&closed) < 500.0, "closed p99 {}", p99(&closed));
    assert!(
        closed.total.latency_ms.unwrap().max > 900.0,
        "the stall happened"
    );

    let server = StallServer::start();
    let open = args(
        "drf-rejected-token",
        dir.path(),
        &[
            "--target",
            &server.url,
            "--users",
            "100",
            "--run-time",
            "4s",
            "--rate",
            "50/s",
        ],
    );
    let (code, outcome) = run(&open).await.unwrap();
    let open = outcome.results;
    drop(server);
    assert_eq!(
        open.latency_from,
        sessionspec::load::results::LatencyFrom::IntendedStart
    );
    assert_eq!(
        open.dropped, 0,
        "a pool of 100 serves 50/s through a 1 s stall"
    );
    assert!(
        (150..=210).contains(&open.total.requests),
        "about 4 s × 50/s: {}",
        open.total.requests
    );
    assert!(p99(&open) > 900.0, "open p99 {}", p99(&open));
    let service = open
        .total
        .service_ms
        .expect("the service time is reported too");
    assert!(service.p50 < 100.0, "{service:?}");
    let json = std::fs::read_to_string(dir.path().join("load.json")).unwrap();
    assert!(json.contains("\"service_histogram\": \""), "both reported");
    let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
    assert!(md.contains("Service time (from the send"), "{md}");
    assert!(code <= 1);
}
