//! Distributed load (`load --shard I/N`, `--accounts`, `--start-at`, `sessionspec merge`): the
//! merge is exact (a property test over random splits), three shard processes against one
//! reference server on loopback add up, and reports that are not the shards of one run are
//! refused in one line each.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use proptest::prelude::*;
use serde_json::Value;
use sessionspec::load::merge::{merge, Input};
use sessionspec::load::record::{decode, histogram};
use sessionspec::load::results::{build, summarize, RunInfo, Sample};
use sessionspec::load::shard::{shard_info, Shard};
use sessionspec::load::LoadResults;
use sessionspec::server::load_accounts::LoadAccounts;
use sessionspec::server::{self, Dialect, Fault, ServerConfig};

use crate::support::{arg, root, run, spawn, temp_dir, RunOutput};

/// One shard's results of `login` samples (µs), all successful.
fn shard_results(index: usize, count: usize, times: &[u64]) -> LoadResults {
    let info = RunInfo {
        scenario: "synthetic".into(),
        spec: "drf-sessions".into(),
        target: "http://127.0.0.1:1".into(),
        requests: vec![("login".into(), "POST".into())],
        headline: Some("login".into()),
        ..RunInfo::default()
    };
    let n = times.len() as u64;
    let mut r = build(
        &info,
        vec![(
            "login".into(),
            "POST".into(),
            Sample::of(n, 0, times, &[(201, n)]),
        )],
        1.0,
        1,
        Vec::new(),
    );
    r.shard = Some(shard_info(
        Shard::new(index, count).unwrap(),
        index,
        1,
        None,
        None,
        1.0,
    ));
    r
}

fn stats(h: &Histogram<u64>) -> Vec<u64> {
    let mut v = vec![h.len(), h.min(), h.max()];
    v.extend([0.5, 0.9, 0.95, 0.99, 0.999].map(|q| h.value_at_quantile(q)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the split, the merged histogram is the histogram of every sample.
    #[test]
    fn merged_percentiles_are_those_of_all_samples(
        samples in prop::collection::vec(1u64..20_000_000, 1..400),
        shards in 1usize..6,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 5),
    ) {
        let shards = shards.min(samples.len());
        let mut bounds: Vec<usize> = cuts[..shards - 1].iter().map(|c| c.index(samples.len() + 1)).collect();
        bounds.push(0);
        bounds.push(samples.len());
        bounds.sort_unstable();
        let inputs: Vec<Input> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| Input {
                path: format!("shard{i}.json"),
                results: shard_results(i, bounds.len() - 1, &samples[w[0]..w[1]]),
            })
            .collect();
        let merged = merge(inputs, &[], false).unwrap();
        let mut all = histogram();
        for s in &samples {
            all.saturating_record(*s);
        }
        let login = &merged.operations[0];
        let got = decode(&login.histogram).unwrap();
        prop_assert_eq!(stats(&got), stats(&all));
        prop_assert_eq!(&got, &all);
        prop_assert_eq!(login.latency_ms, summarize(&all));
        prop_assert_eq!(merged.total.latency_ms, summarize(&all));
        prop_assert_eq!(login.requests, samples.len() as u64);
    }
}

/// Validates a JSON load report against the published schema; returns it.
fn valid_report(path: &Path) -> Value {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("reports/schema/load-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no report at {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    let _: LoadResults = serde_json::from_value(doc.clone()).unwrap();
    doc
}

fn one_error_line(out: &RunOutput, needle: &str) {
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", out.transcript());
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "`{needle}` in {}",
        out.transcript()
    );
}

fn count(doc: &Value, pointer: &str) -> u64 {
    doc.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

/// Three shard processes against one reference server on loopback, with a common start, each
/// user logging in as its own account (`{{$user}}` picks the login, `--accounts` the password).
#[test]
fn three_shards_add_up_and_the_union_is_judged() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let accounts = LoadAccounts::generate(6);
    let mut config = ServerConfig::new(Dialect::DrfSessions);
    // Every 20th request is answered 500: errors that each shard has a few of.
    config.faults = vec![Fault::Flaky];
    config.load_accounts = accounts.clone();
    let server = rt
        .block_on(server::start(config))
        .expect("the server starts");
    let url = server.base_url();

    let dir = temp_dir();
    let mut csv = String::from("password\n");
    for (_, password) in &accounts.0 {
        csv.push_str(password);
        csv.push('\n');
    }
    std::fs::write(dir.path().join("accounts.csv"), csv).unwrap();
    let scenario = serde_json::json!({
        "$schema": "schema/scenario.schema.json",
        "name": "per-user-accounts",
        "spec": "drf-sessions",
        "flow": [
            { "call": "user_login", "name": "login", "expect_status": 201,
              "with": { "email": "load{{$user}}@example.com" } },
            { "call": "user_sessions", "name": "list", "expect_status": 200 },
            { "call": "user_session_delete", "name": "logout", "expect_status": 204 }
        ]
    });
    std::fs::write(
        dir.path().join("per-user-accounts.json"),
        serde_json::to_string_pretty(&scenario).unwrap(),
    )
    .unwrap();

    let base = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let shards: Vec<_> = (0..3)
        .map(|i| {
            spawn([
                "load".to_string(),
                "--scenario".into(),
                arg(dir.path(), "per-user-accounts.json"),
                "--target".into(),
                url.clone(),
                "--users".into(),
                "6".into(),
                "--run-time".into(),
                "2s".into(),
                "--shard".into(),
                format!("{i}/3"),
                "--accounts".into(),
                arg(dir.path(), "accounts.csv"),
                "--start-at".into(),
                "+4s".into(),
                "--start-base".into(),
                base.clone(),
                "--threshold".into(),
                "login:successes>=1".into(),
                "--quiet".into(),
                "--report".into(),
                format!("json:{}", arg(dir.path(), &format!("shard{i}.json"))),
            ])
        })
        .collect();
    let outs: Vec<RunOutput> = shards
        .into_iter()
        .map(|s| s.wait(Duration::from_secs(40)))
        .collect();
    rt.block_on(server.shutdown());
    for out in &outs {
        assert_eq!(out.code, Some(0), "{}", out.transcript());
    }
    let docs: Vec<Value> = (0..3)
        .map(|i| valid_report(&dir.path().join(format!("shard{i}.json"))))
        .collect();
    let mut max_failures = 0;
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(count(d, "/shard/index"), i as u64);
        assert_eq!(count(d, "/shard/first_user"), 2 * i as u64);
        assert_eq!(count(d, "/shard/users"), 2);
        // Every user logged in as its own account: only the fault's 500s, never a refusal.
        let login = d.pointer("/operations/0/status_codes").unwrap();
        let codes: BTreeMap<String, Value> = serde_json::from_value(login.clone()).unwrap();
        assert!(codes.contains_key("201"), "{codes:?}");
        assert!(
            codes.keys().all(|k| k == "201" || k == "500"),
            "shard {i}: {codes:?}"
        );
        max_failures = max_failures.max(count(d, "/total/failures"));
    }
    assert!(max_failures > 0, "the flaky fault answered some 500s");

    // The merge: request counts add up, the report validates, its own thresholds pass.
    let shard_args = |extra: &[&str]| {
        let mut a: Vec<String> = vec!["merge".into()];
        a.extend((0..3).map(|i| arg(dir.path(), &format!("shard{i}.json"))));
        a.extend(extra.iter().map(ToString::to_string));
        a
    };
    let merged_json = arg(dir.path(), "merged.json");
    let out = run(
        shard_args(&["--report", &format!("json:{merged_json}")]),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let merged = valid_report(Path::new(&merged_json));
    let sum = |pointer: &str| docs.iter().map(|d| count(d, pointer)).sum::<u64>();
    assert_eq!(count(&merged, "/total/requests"), sum("/total/requests"));
    assert_eq!(count(&merged, "/total/failures"), sum("/total/failures"));
    assert_eq!(
        count(&merged, "/operations/0/status_codes/201"),
        sum("/operations/0/status_codes/201")
    );
    assert_eq!(count(&merged, "/users"), 6);
    assert_eq!(count(&merged, "/plan/users"), 6);
    assert_eq!(merged["merged"]["shards"].as_array().map(Vec::len), Some(3));
    assert!(merged["merged"]["overlap_s"].as_f64().unwrap() > 0.0);
    assert!(out.stdout.contains("logins/s"), "{}", out.transcript());

    // At most K failed requests in the whole run, K the most any shard had: every shard passes
    // alone, the union does not.
    let gate = format!("errors<={max_failures}");
    for d in &docs {
        assert!(count(d, "/total/failures") <= max_failures);
    }
    let out = run(
        shard_args(&[
            "--threshold",
            &gate,
            "--report",
            &format!("json:{}", arg(dir.path(), "gated.json")),
            "--report",
            &format!("junit:{}", arg(dir.path(), "gated.xml")),
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stdout.contains(&format!("FAIL {gate}")),
        "{}",
        out.transcript()
    );
    let gated = valid_report(&dir.path().join("gated.json"));
    assert_eq!(gated["verdict"], "fail");

    // Bad input: one line each, exit 2.
    let shard0 = dir.path().join("shard0.json");
    let mut other = docs[1].clone();
    other["scenario"] = Value::String("drf-mixed".into());
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, serde_json::to_string(&other).unwrap()).unwrap();
    let out = run(
        [
            "merge".to_string(),
            shard0.display().to_string(),
            other_path.display().to_string(),
            arg(dir.path(), "shard2.json"),
            "--report".into(),
            format!("json:{}", arg(dir.path(), "x.json")),
        ],
        Duration::from_secs(30),
    );
    one_error_line(&out, "scenario `drf-mixed`, but");

    let out = run(
        [
            "merge".to_string(),
            shard0.display().to_string(),
            shard0.display().to_string(),
            arg(dir.path(), "shard2.json"),
        ],
        Duration::from_secs(30),
    );
    one_error_line(&out, "shard 0/3 is given twice");

    let out = run(
        [
            "merge".to_string(),
            shard0.display().to_string(),
            arg(dir.path(), "shard2.json"),
        ],
        Duration::from_secs(30),
    );
    one_error_line(&out, "shard 1 of 3 missing");

    let text = std::fs::read_to_string(&shard0).unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let out = run(
        [
            "merge".to_string(),
            truncated.display().to_string(),
            arg(dir.path(), "shard1.json"),
            arg(dir.path(), "shard2.json"),
        ],
        Duration::from_secs(30),
    );
    one_error_line(&out, "truncated.json:");
    assert!(out.stderr.contains("EOF"), "{}", out.transcript());
}

/// Too few account rows, a shard out of range and a start instant whose window is over are
/// refused before anything is sent.
#[test]
fn bad_distributed_arguments_are_refused_before_the_run() {
    let dir = temp_dir();
    std::fs::write(dir.path().join("a.csv"), "email,password\na@x,1\nb@x,2\n").unwrap();
    let base = [
        "load",
        "--scenario",
        "drf-login-list-logout",
        "--target",
        "http://127.0.0.1:9",
        "--run-time",
        "1s",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<String> = base.iter().map(ToString::to_string).collect();
        a.extend(extra.iter().map(ToString::to_string));
        run(a, Duration::from_secs(20))
    };
    let csv = arg(dir.path(), "a.csv");
    let out = with(&["--users", "3", "--accounts", &csv]);
    one_error_line(&out, "has 2 account rows, but 3 users need one each");
    let out = with(&["--users", "4", "--shard", "4/4"]);
    one_error_line(&out, "must be below the count");
    let out = with(&["--users", "2", "--shard", "0/3"]);
    one_error_line(&out, "2 users cannot be shared by 3 shards");
    let out = with(&["--users", "2", "--start-at", "2001-01-01T00:00:00Z"]);
    one_error_line(&out, "nothing left to measure");

    // A Kubernetes Indexed Job's pod: the shard comes from the environment.
    let env_run = |index: Option<&str>| {
        let mut cmd = std::process::Command::new(crate::support::bin());
        cmd.args(base).args(["--users", "1"]).current_dir(root());
        cmd.env("SESSIONSPEC_SHARDS", "2");
        match index {
            Some(i) => cmd.env("JOB_COMPLETION_INDEX", i),
            None => cmd.env_remove("JOB_COMPLETION_INDEX"),
        };
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = env_run(Some("1"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--shard 1/2: 1 users cannot be shared by 2 shards"),
        "{stderr}"
    );
    let (code, stderr) = env_run(None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("SESSIONSPEC_SHARDS=2 is set but JOB_COMPLETION_INDEX is not"),
        "{stderr}"
    );
}

/// The Kustomize base ships copies of a spec and a scenario: they are the shipped ones, and the
/// shard count agrees in the Job and in run.env.
#[test]
fn the_kubernetes_base_agrees_with_the_repository() {
    let deploy = root().join("deploy/kubernetes");
    for (dir, name) in [
        ("specs", "drf-sessions.json"),
        ("scenarios", "drf-login-list-logout.json"),
    ] {
        let copy = std::fs::read(deploy.join(dir).join(name)).unwrap();
        let original = std::fs::read(root().join(dir).join(name)).unwrap();
        assert!(
            copy == original,
            "deploy/kubernetes/{dir}/{name} differs from {dir}/{name}: copy it again"
        );
    }
    let job = std::fs::read_to_string(deploy.join("load-job.yaml")).unwrap();
    let field = |name: &str| {
        job.lines()
            .find_map(|l| l.strip_prefix(&format!("  {name}: ")))
            .unwrap_or_else(|| panic!("no {name} in load-job.yaml"))
            .trim()
            .to_owned()
    };
    let env = std::fs::read_to_string(deploy.join("run.env")).unwrap();
    let shards = env
        .lines()
        .find_map(|l| l.strip_prefix("SESSIONSPEC_SHARDS="))
        .expect("SESSIONSPEC_SHARDS in run.env");
    assert_eq!(field("completions"), shards);
    assert_eq!(field("parallelism"), shards);
    assert_eq!(field("completionMode"), "Indexed");
}

/// Histograms of another bucket configuration cannot be added exactly: refused, with where.
#[test]
fn histograms_of_other_buckets_are_refused() {
    let a = shard_results(0, 2, &[1_000, 2_000]);
    let mut b = shard_results(1, 2, &[3_000]);
    let mut coarse = Histogram::<u64>::new_with_bounds(1, 60_000_000, 2).unwrap();
    coarse.record(3_000).unwrap();
    b.operations[0].histogram = sessionspec::load::record::encode(&coarse);
    let inputs = vec![
        Input {
            path: "a.json".into(),
            results: a,
        },
        Input {
            path: "b.json".into(),
            results: b,
        },
    ];
    let e = merge(inputs, &[], true).unwrap_err();
    let line = e[0].to_string();
    assert!(
        line.starts_with("b.json: /operations/0/histogram: buckets 1..")
            && line.contains("at 2 significant figures, but a.json has")
            && line.ends_with("cannot add them exactly"),
        "{line}"
    );
}

/// The series is aligned by wall-clock second; the headline counts the whole seconds of the
/// windows' overlap.
#[test]
fn series_align_by_second_and_the_headline_counts_the_overlap() {
    use sessionspec::load::results::SeriesPoint;
    let point = |t: u64, successes: u64| SeriesPoint {
        t,
        requests: successes,
        errors: 0,
        successes,
        users: 1,
        dropped: 0,
        measured: true,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        histogram: sessionspec::load::record::encode(&histogram()),
    };
    let mut a = shard_results(0, 2, &[1_000]);
    a.series = vec![point(100, 10), point(101, 20), point(102, 30)];
    let mut b = shard_results(1, 2, &[1_000]);
    b.series = vec![point(101, 1), point(102, 2), point(103, 3)];
    // Windows: a from 100.5 to 103.0, b from 101.0 to 104.0: overlap 101.0..103.0.
    let window = |s: &mut LoadResults, from: &str, to: &str| {
        let info = s.shard.as_mut().unwrap();
        info.window_start = Some(from.into());
        info.window_end = Some(to.into());
    };
    window(
        &mut a,
        "1970-01-01T00:01:40.500Z",
        "1970-01-01T00:01:43.000Z",
    );
    window(
        &mut b,
        "1970-01-01T00:01:41.000Z",
        "1970-01-01T00:01:44.000Z",
    );
    let merged = merge(
        vec![
            Input {
                path: "a.json".into(),
                results: a,
            },
            Input {
                path: "b.json".into(),
                results: b,
            },
        ],
        &[],
        true,
    )
    .unwrap();
    let series: Vec<(u64, u64, u64)> = merged
        .series
        .iter()
        .map(|p| (p.t, p.successes, p.users))
        .collect();
    assert_eq!(
        series,
        vec![(100, 10, 1), (101, 21, 2), (102, 32, 2), (103, 3, 1)]
    );
    let m = merged.merged.as_ref().unwrap();
    assert_eq!(m.overlap_s, 2.0);
    assert_eq!(m.headline_seconds, 2);
    assert_eq!(m.overlap_start.as_deref(), Some("1970-01-01T00:01:41.000Z"));
    // (21 + 32) successes over the 2 whole seconds 101 and 102.
    assert_eq!(merged.headline.as_ref().unwrap().per_second, 26.5);
    assert_eq!(merged.duration_s, 2.0);
}

/// Shards whose user ranges do not tile the run's users ran with different `--users`: refused.
#[test]
fn shards_of_different_user_counts_are_refused() {
    let a = shard_results(0, 2, &[1_000]);
    let mut b = shard_results(1, 2, &[1_000]);
    b.shard.as_mut().unwrap().first_user = 5;
    let e = merge(
        vec![
            Input {
                path: "a.json".into(),
                results: a,
            },
            Input {
                path: "b.json".into(),
                results: b,
            },
        ],
        &[],
        true,
    )
    .unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "b.json: shard 1/2 ran users 5..=5, but a.json (shard 0) ran 0..=0: the shards ran with different --users"
    );
}
