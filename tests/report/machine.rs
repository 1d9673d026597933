//! The JSON report against its published schema, and the JUnit XML parsed back.

use std::path::Path;

use sessionspec::check::outcome::RunOutcome;
use sessionspec::report::{write_json, write_junit};

use super::fixtures::*;
use super::{render, snap};

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

#[derive(Debug, Default, PartialEq)]
pub struct Suite {
    pub name: String,
    /// tests, failures, errors, skipped as declared on `<testsuite>`.
    pub declared: [usize; 4],
    /// (name, `passed`/`failure`/`error`/`skipped`) of each `<testcase>`.
    pub cases: Vec<(String, String)>,
    /// The same four counts, from the test cases themselves.
    pub found: [usize; 4],
    pub system_out: usize,
}

/// Parses the JUnit XML: per suite, its declared counts (tests, failures, errors, skipped), its cases
/// (name, outcome) and what the cases actually hold.
pub fn parse_junit(xml: &str) -> Vec<Suite> {
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
    // The uncounted should-level failure, and the passing case's skipped step.
    assert_eq!(lenient[0].system_out, 2);
    let strict = parse_junit(&render(|w| write_junit(w, &should_only_run(true))));
    assert_eq!(strict[0].declared, [3, 1, 0, 0]);
    assert_eq!(strict[0].system_out, 1);
    let interrupted = parse_junit(&render(|w| write_junit(w, &interrupted_run())));
    assert_eq!(interrupted[0].declared, [4, 0, 0, 2]);
}

#[test]
fn junit_mixed_snapshot() {
    let xml = render(|w| write_junit(w, &mixed_run()));
    assert!(xml.contains("expected: 401\n  actual:   200"));
    assert!(xml.contains(
        "reproduce: curl -i -X POST http://target.test/api/v1/sessions -H 'Content-Type"
    ));
    snap("report__junit_mixed", &xml);
}
