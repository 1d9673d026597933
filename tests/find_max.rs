//! `sessionspec load --find-max` end to end against the embedded reference server: a search that
//! finds a rate, one whose first step already breaks (exit 1), an interrupted one, usage errors;
//! and the open model's `stages` of scenario files.
//!
//! goose keeps process-global state, so these tests live in their own binary and take
//! [`SERIAL`]. Every search is bounded: 1 s steps, a handful of steps, a pool of 8 users, the
//! `slow-login` fault (every login takes 250 ms, so a pool of 8 serves at most 32 logins/s and a
//! step at 45/s must drop arrivals) and `--hash-cost low`.

use std::path::{Path, PathBuf};

use clap::Parser;
use sessionspec::cli::{
    capacity_plan, exit_code, load_plan, write_load_reports, Cli, Command as Sub, LoadArgs,
};
use sessionspec::load::capacity::{find_max, CapacityStep, Phase, SearchObserver, Stopped};
use sessionspec::load::{LoadOutcome, LoadResults, Silent, Verdict};
use sessionspec::stop::{stop_channel, Stop, StopHandle, StopReason};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn argv(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = [
        "sessionspec",
        "load",
        "--scenario",
        "rails-jwt-login",
        "--fault",
        "slow-login",
        "--quiet",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for (flag, default) in [
        ("--hash-cost", "low"),
        ("--users", "8"),
        ("--start-rate", "5/s"),
        ("--growth", "3"),
        ("--step-time", "1s"),
        ("--step-warmup", "1s"),
        ("--refine", "1"),
        ("--max-steps", "4"),
        ("--confirm", "0"),
    ] {
        let given = extra.contains(&flag) || (flag == "--growth" && extra.contains(&"--rate-step"));
        if !given {
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
        ("junit", "load.xml"),
    ] {
        argv.push("--report".into());
        argv.push(format!("{format}:{}", dir.join(file).display()));
    }
    argv.extend(extra.iter().map(ToString::to_string));
    argv
}

fn args(dir: &Path, extra: &[&str]) -> LoadArgs {
    match Cli::parse_from(argv(dir, extra)).command {
        Sub::Load(a) => a,
        other => panic!("not load: {other:?}"),
    }
}

/// Plans and runs like `sessionspec load --find-max` does; the exit code and the outcome.
async fn search(a: &LoadArgs, stop: &Stop, observer: &dyn SearchObserver) -> (u8, LoadOutcome) {
    let prepared = capacity_plan(a).expect("a valid search");
    let outcome = find_max(&prepared.plan, stop, &Silent, observer)
        .await
        .expect("the search runs");
    let code = exit_code(outcome.results.verdict, stop.reason());
    assert!(write_load_reports(&outcome, &prepared.reports));
    (code, outcome)
}

/// The JSON report matches the schema, reads back as the results, and the schema refuses a
/// broken capacity section.
fn check_json_report(path: &Path, results: &LoadResults) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("reports/schema/load-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let back: LoadResults = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(&back, results);
    let mut bad = doc.clone();
    bad["capacity"]["steps"][0]["phase"] = serde_json::json!("sideways");
    assert!(!validator.is_valid(&bad));
    let mut bad = doc;
    bad["capacity"]
        .as_object_mut()
        .unwrap()
        .remove("max_rate_per_s");
    assert!(!validator.is_valid(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_highest_rate_a_small_pool_serves() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = args(dir.path(), &["--find-max", "login:p95<1s"]);
    let (code, outcome) = search(&a, &Stop::never(), &Silent).await;
    let r = &outcome.results;
    let c = r.capacity.as_ref().expect("a capacity section");
    let rates: Vec<f64> = c.steps.iter().map(|s| s.rate_per_s).collect();
    // 5/s and 15/s need at most 4 of the 8 users; 45/s needs 11: it drops arrivals and breaks.
    assert_eq!(&rates[..3], &[5.0, 15.0, 45.0], "{:#?}", c.steps);
    assert!(c.steps[0].passed && c.steps[1].passed, "{:#?}", c.steps);
    assert!(
        !c.steps[2].passed && c.steps[2].dropped > 0,
        "{:#?}",
        c.steps[2]
    );
    // One bisection round: 30/s (7.7 of 8 users busy) may hold or not.
    assert_eq!(c.steps.len(), 4);
    assert_eq!(c.steps[3].phase, Phase::Refine);
    assert_eq!(c.steps[3].rate_per_s, 30.0);
    let expected = if c.steps[3].passed { 30.0 } else { 15.0 };
    assert_eq!(c.max_rate_per_s, Some(expected));
    assert_eq!(c.stopped, Stopped::Broken);
    assert_eq!(c.objectives, ["login:p95<1s", "errors<1%"]);
    assert!(c.max_headline_per_s.unwrap() > 0.0);
    assert_eq!(code, 0);
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(r.thresholds.iter().all(|t| t.passed), "{:?}", r.thresholds);
    // The rest of the report is the step at the highest rate that held.
    assert_eq!(r.plan.rate.as_ref().unwrap()[0].from_per_s, expected);

    check_json_report(&dir.path().join("load.json"), r);
    let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
    assert!(md.contains("## Capacity search"), "{md}");
    assert!(
        md.contains(&format!("maximum sustainable rate: {expected}/s offered")),
        "{md}"
    );
    assert!(md.contains("| 3 | climb | 45 |"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("load.html")).unwrap();
    assert!(html.contains("<h2>Capacity search</h2>"));
    assert!(
        html.contains("SLA 1000 ms"),
        "the objective's line is drawn"
    );
    assert!(html.contains(&format!("max sustainable {expected}/s")));
    assert_self_contained(&html);
    let xml = std::fs::read_to_string(dir.path().join("load.xml")).unwrap();
    assert!(xml.contains(r#"<testcase name="find-max""#), "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_step_that_breaks_exits_1() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // Every login takes 250 ms: p95 < 100ms breaks at once.
    // The break is confirmed by a second run at the same rate.
    let a = args(
        dir.path(),
        &["--find-max", "login:p95<100ms", "--confirm", "1"],
    );
    let (code, outcome) = search(&a, &Stop::never(), &Silent).await;
    let r = &outcome.results;
    let c = r.capacity.as_ref().unwrap();
    assert_eq!(c.steps.len(), 2, "{:#?}", c.steps);
    assert!(c.steps.iter().all(|s| !s.passed && s.rate_per_s == 5.0));
    assert!(c.steps[0].latency_ms.unwrap() >= 250.0);
    assert_eq!(c.max_rate_per_s, None);
    assert_eq!(c.stopped, Stopped::FirstStepFailed);
    assert_eq!(code, 1);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.thresholds.iter().any(|t| !t.passed));
    check_json_report(&dir.path().join("load.json"), r);
    let xml = std::fs::read_to_string(dir.path().join("load.xml")).unwrap();
    assert!(xml.contains(r#"type="capacity""#), "{xml}");
    let md = std::fs::read_to_string(dir.path().join("load.md")).unwrap();
    assert!(md.contains("even the first step (5/s) broke"), "{md}");
}

/// Every URL an element of `html` would fetch when the page is shown: `src`, `href`,
/// `xlink:href`, `srcset`, `data`, `poster` and `action` of any element (script, style, link,
/// img, SVG image/use, …), `url(…)` and `@import` in inline styles. `data:` URLs and fragments
/// (`#id`) fetch nothing and are left out.
fn fetched_urls(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    let mut found = Vec::new();
    let fetches = |v: &str| {
        let v = v.trim();
        !(v.is_empty() || v.starts_with('#') || v.to_ascii_lowercase().starts_with("data:"))
    };
    for el in doc.select(&all) {
        for (name, value) in el.value().attrs() {
            let name = name.to_ascii_lowercase();
            let url_attr = matches!(
                name.as_str(),
                "src" | "href" | "xlink:href" | "srcset" | "data" | "poster" | "action"
            );
            if url_attr && fetches(value) {
                found.push(format!("<{} {name}=\"{value}\">", el.value().name()));
            }
            if name == "style" && (value.contains("url(") || value.contains("@import")) {
                found.push(format!("<{} style=\"{value}\">", el.value().name()));
            }
        }
        if el.value().name() == "style" {
            let css: String = el.text().collect();
            if css.contains("url(") || css.contains("@import") {
                found.push(format!("<style>{css}</style>"));
            }
        }
    }
    found
}

/// The HTML report shows without the network: nothing in it fetches anything.
fn assert_self_contained(html: &str) {
    let doc = scraper::Html::parse_document(html);
    let svg = scraper::Selector::parse("figure > svg").unwrap();
    assert!(
        doc.select(&svg).count() >= 5,
        "the parser sees the page's inline SVG plots"
    );
    assert_eq!(fetched_urls(html), Vec::<String>::new());
    // The check is no rubber stamp: each kind of outside reference is found.
    for planted in [
        r#"<script src="https://cdn.example/echarts.js"></script>"#,
        r#"<link rel="stylesheet" href="//cdn.example/a.css">"#,
        r#"<img src="http://example.org/x.png">"#,
        r#"<svg><image xlink:href="https://example.org/i.png"/></svg>"#,
        r#"<style>@import "https://example.org/b.css";</style>"#,
    ] {
        let page = html.replace("</body>", &format!("{planted}</body>"));
        assert_eq!(fetched_urls(&page).len(), 1, "{planted}");
    }
}

/// Stops the search when the first step is done, as a Ctrl-C would.
struct StopAfterFirst(StopHandle);

impl SearchObserver for StopAfterFirst {
    fn step_finished(&self, step: &CapacityStep) {
        if step.step == 1 {
            self.0.stop(StopReason::Interrupt);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_search_reports_what_it_measured() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = args(dir.path(), &["--find-max", "login:p95<1s"]);
    let (handle, stop) = stop_channel();
    let (code, outcome) = search(&a, &stop, &StopAfterFirst(handle)).await;
    let r = &outcome.results;
    let c = r.capacity.as_ref().unwrap();
    assert_eq!(c.steps.len(), 1);
    assert_eq!(c.stopped, Stopped::Interrupted);
    assert_eq!(c.max_rate_per_s, Some(5.0), "the step that held is kept");
    assert_eq!(r.verdict, Verdict::Interrupted);
    assert_eq!(r.interrupted.as_deref(), Some("SIGINT"));
    assert_eq!(code, 130);
    check_json_report(&dir.path().join("load.json"), r);
}

#[test]
fn usage_errors_are_refused_before_any_step() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [
        &["--find-max", "login:p95<1s", "--rate", "10/s"][..],
        &["--find-max", "login:p95<1s", "--run-time", "5s"],
        &["--find-max", "login:p95<1s", "--allow-dropped"],
        &[
            "--find-max",
            "login:p95<1s",
            "--rate-step",
            "5/s",
            "--growth",
            "2",
        ],
        // The search's flags without --find-max.
        &[],
    ] {
        assert!(
            Cli::try_parse_from(argv(dir.path(), extra)).is_err(),
            "{extra:?}"
        );
    }
    for (extra, says) in [
        (
            &["--find-max", "lgin:p95<1s"][..],
            "no request named `lgin`",
        ),
        (&["--find-max", "login:p95<fast"], "is not a time"),
        (&["--find-max", "login:p95<1s", "--growth", "1"], "--growth"),
        (
            &["--find-max", "login:p95<1s", "--start-rate", "1/s..2/s"],
            "ramp",
        ),
        (
            &["--find-max", "login:p95<1s", "--max-steps", "0"],
            "--max-steps",
        ),
    ] {
        let errors = capacity_plan(&args(dir.path(), extra)).unwrap_err();
        assert!(
            errors.iter().any(|e| e.contains(says)),
            "{extra:?}: {errors:?}"
        );
    }
}

// ---- `stages` in scenario files (the open model's ramping arrival rate) ----

const STAGED: &str = r#"{
  "$schema": "schema/scenario.schema.json",
  "name": "staged",
  "spec": "rails-jwt",
  "users": 4,
  "start_rate": "5/s",
  "stages": [
    { "duration": "1s", "target": "20/s" },
    { "duration": "1s", "target": 20 }
  ],
  "flow": [ { "call": "login", "expect_status": 200 } ]
}"#;

/// `load --scenario FILE` of a scenario written into `dir`, with `extra` flags.
fn staged_args(dir: &Path, text: &str, extra: &[&str]) -> LoadArgs {
    let file = dir.join("staged.json");
    std::fs::write(&file, text).unwrap();
    let mut argv: Vec<String> = ["sessionspec", "load", "--hash-cost", "low", "--quiet"]
        .iter()
        .map(ToString::to_string)
        .collect();
    argv.extend(["--scenario".into(), file.display().to_string()]);
    argv.extend([
        "--specs-dir".into(),
        root().join("specs").display().to_string(),
    ]);
    argv.extend([
        "--report".into(),
        format!("json:{}", dir.join("load.json").display()),
    ]);
    argv.extend(extra.iter().map(ToString::to_string));
    match Cli::parse_from(argv).command {
        Sub::Load(a) => a,
        other => panic!("not load: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_stages_ramp_the_arrival_rate_and_rate_overrides_them() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let prepared = load_plan(&staged_args(dir.path(), STAGED, &[])).unwrap();
    let open = prepared
        .plan
        .open
        .as_ref()
        .expect("the stages make the open model");
    let stages: Vec<(f64, f64, f64)> = open
        .stages
        .iter()
        .map(|s| (s.duration_s, s.from_per_s, s.to_per_s))
        .collect();
    assert_eq!(stages, [(1.0, 5.0, 20.0), (1.0, 20.0, 20.0)]);
    assert_eq!(
        prepared.plan.bounds.run_time,
        Some(2),
        "the stages bound the run"
    );
    let outcome = sessionspec::load::run(&prepared.plan, &Stop::never(), &Silent)
        .await
        .unwrap();
    let r = &outcome.results;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.thresholds);
    assert_eq!(r.plan.rate.as_ref().unwrap().len(), 2);
    // 12.5 arrivals in the ramp, 20 at the constant stage.
    let logins = r.stats(Some("login")).unwrap().requests;
    assert!((25..=40).contains(&logins), "{logins} logins");
    assert!(write_load_reports(&outcome, &prepared.reports));

    // --rate (with a run time) overrides the stages.
    let prepared = load_plan(&staged_args(
        dir.path(),
        STAGED,
        &["--rate", "10/s", "--run-time", "1s"],
    ))
    .unwrap();
    let open = prepared.plan.open.as_ref().unwrap();
    assert_eq!(open.stages.len(), 1);
    assert_eq!(open.stages[0].from_per_s, 10.0);
    // Without --rate, the stages are the run's length.
    let errors = load_plan(&staged_args(dir.path(), STAGED, &["--run-time", "5s"])).unwrap_err();
    assert!(
        errors.iter().any(|e| e.contains("sets `stages`")),
        "{errors:?}"
    );
}

#[test]
fn bad_stages_are_located_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad_rate = STAGED.replace(r#""target": 20 }"#, r#""target": "fast" }"#);
    let errors = load_plan(&staged_args(dir.path(), &bad_rate, &[])).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("staged.json:9:") && e.contains("/stages/1/target")),
        "{errors:?}"
    );
    let too_long = STAGED.replace(
        r#""duration": "1s", "target": 20"#,
        r#""duration": "2m", "target": 20"#,
    );
    let errors = load_plan(&staged_args(dir.path(), &too_long, &[])).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("staged.json:7:13: /stages: the stages last 2m 1s")),
        "{errors:?}"
    );
    let nothing = STAGED
        .replace(r#""5/s""#, "0")
        .replace(r#""20/s""#, "0")
        .replace(r#""target": 20"#, r#""target": 0"#);
    let errors = load_plan(&staged_args(dir.path(), &nothing, &[])).unwrap_err();
    assert!(
        errors.iter().any(|e| e.contains("sends nothing")),
        "{errors:?}"
    );
    let orphan = r#"{"name": "staged", "spec": "rails-jwt", "start_rate": 5, "run_time": "1s",
  "flow": [ { "call": "login" } ]}"#;
    let errors = load_plan(&staged_args(dir.path(), orphan, &[])).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/start_rate: start_rate goes with `stages`")),
        "{errors:?}"
    );
}
