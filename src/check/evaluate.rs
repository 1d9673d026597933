//! Applies a step's `expect` to its response: renders templated expectations with the case's
//! current variables, calls the check functions in a fixed order (status, headers, body, captured,
//! same_as, then the automatic checks), and stamps each result with the spec location of its
//! expectation and the case's rule.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::Validator;

use super::checks::{
    self, body, captured, headers, jsonapi, jwt, pointer_token, rfc9110, same_as, status,
};
use super::outcome::CheckResult;
use crate::http::ResponseData;
use crate::spec::template::{render_json, TemplateError};
use crate::spec::{
    BodyExpect, Case, Expect, HeaderExpect, HeaderRule, LoadedSpec, ValueExpect, Vars,
};

/// Compiled body schemas of one spec, by the JSON pointer of the schema in the spec file.
#[derive(Default)]
pub struct SchemaCache {
    compiled: HashMap<String, Result<Arc<Validator>, String>>,
}

impl SchemaCache {
    /// Compiles every `expect.body.schema` of the spec once.
    pub fn build(loaded: &LoadedSpec) -> SchemaCache {
        let mut compiled = HashMap::new();
        for (i, case) in loaded.spec.cases.iter().enumerate() {
            for (j, step) in case.steps.iter().enumerate() {
                let base = expect_pointer(i, j);
                let alternatives = step
                    .expect
                    .any_of
                    .iter()
                    .enumerate()
                    .map(|(k, alt)| (format!("{base}/any_of/{k}"), alt));
                for (at, expect) in
                    std::iter::once((base.clone(), &step.expect)).chain(alternatives)
                {
                    if let Some(schema) = expect.body.as_ref().and_then(|b| b.schema.as_ref()) {
                        let pointer = format!("{at}/body/schema");
                        compiled.insert(pointer, body::compile(schema).map(Arc::new));
                    }
                }
            }
        }
        SchemaCache { compiled }
    }

    fn get(&self, pointer: &str) -> Option<&Result<Arc<Validator>, String>> {
        self.compiled.get(pointer)
    }
}

/// JSON pointer of a step's `expect` in the spec file.
pub fn expect_pointer(case: usize, step: usize) -> String {
    format!("/cases/{case}/steps/{step}/expect")
}

/// Everything one step's evaluation looks at.
pub struct StepEval<'a> {
    pub loaded: &'a LoadedSpec,
    pub case_index: usize,
    pub step_index: usize,
    pub case: &'a Case,
    pub response: &'a ResponseData,
    /// The case's variables after this step's captures, with the step's `with` applied.
    pub vars: &'a Vars,
    /// Why a capture has no value, by variable name (the latest attempt failed).
    pub capture_failures: &'a HashMap<String, String>,
    /// Responses of earlier named steps of the case.
    pub named: &'a HashMap<String, ResponseData>,
    pub schemas: &'a SchemaCache,
    /// Seconds since the Unix epoch (for `exp`).
    pub now: u64,
}

/// The results of every check of the step, in a stable order.
pub fn evaluate(e: &StepEval<'_>) -> Vec<CheckResult> {
    let step = &e.case.steps[e.step_index];
    let expect = &step.expect;
    let base = expect_pointer(e.case_index, e.step_index);
    let mut out = expect_checks(e, expect, &base);
    if !expect.any_of.is_empty() {
        out.push((
            any_of_check(e, &expect.any_of, &base),
            format!("{base}/any_of"),
        ));
    }
    let mut results = finish(e, out);
    if let Some(mut c) = rfc9110::no_content_body(e.response) {
        // An automatic check keeps its own rule and points at the step: it is not what the case
        // is about.
        let step_pointer = format!("/cases/{}/steps/{}", e.case_index, e.step_index);
        c.location = Some(e.loaded.locate(&step_pointer));
        results.push(c);
    }
    results
}

/// The checks of one `expect` (the step's, or one alternative of its `any_of`) at `base`.
fn expect_checks(e: &StepEval<'_>, expect: &Expect, base: &str) -> Vec<(CheckResult, String)> {
    let mut out: Vec<(CheckResult, String)> = Vec::new();
    if let Some(s) = &expect.status {
        out.push((
            status::documented_status(e.response, s),
            format!("{base}/status"),
        ));
    }
    for (name, rule) in &expect.headers {
        let at = format!("{base}/headers/{}", pointer_token(name));
        header_checks(e, name, rule, &at, &mut out);
    }
    if let Some(b) = &expect.body {
        body_checks(e, b, &format!("{base}/body"), &mut out);
    }
    for (name, rule) in &expect.captured {
        let at = format!("{base}/captured/{}", pointer_token(name));
        out.extend(
            captured_checks(e, name, rule)
                .into_iter()
                .map(|c| (c, at.clone())),
        );
    }
    if let Some(same) = &expect.same_as {
        for (k, part) in same.compare.iter().enumerate() {
            let earlier = e.named.get(&same.step);
            out.push((
                same_as::same_part(e.response, earlier, &same.step, part),
                format!("{base}/same_as/compare/{k}"),
            ));
        }
    }
    out
}

/// `any_of`: one alternative holds entirely. When none does, the result lists each alternative's
/// differences, one line per alternative.
fn any_of_check(e: &StepEval<'_>, alternatives: &[Expect], base: &str) -> CheckResult {
    let expected = format!(
        "one of {} documented alternatives to hold",
        alternatives.len()
    );
    let mut differences = Vec::with_capacity(alternatives.len());
    for (k, alt) in alternatives.iter().enumerate() {
        let results = expect_checks(e, alt, &format!("{base}/any_of/{k}"));
        let failed: Vec<String> = results
            .iter()
            .filter(|(c, _)| !c.passed)
            .map(|(c, _)| c.message())
            .collect();
        if failed.is_empty() {
            let held: Vec<&str> = results.iter().map(|(c, _)| c.check.as_str()).collect();
            return checks::pass(
                "any_of",
                expected,
                format!("alternative {} holds ({})", k + 1, held.join(", ")),
            );
        }
        differences.push(checks::shorten(&format!(
            "alternative {}: {}",
            k + 1,
            failed.join("; ")
        )));
    }
    let mut c = checks::fail("any_of", expected, "");
    // One line per alternative (each already shortened): the report shows them all.
    c.actual = differences.join("\n");
    c
}

fn finish(e: &StepEval<'_>, results: Vec<(CheckResult, String)>) -> Vec<CheckResult> {
    results
        .into_iter()
        .map(|(mut c, pointer)| {
            if let Some(rule) = &e.case.rule {
                c.rule = Some(rule.clone());
            }
            c.location = Some(e.loaded.locate(&pointer));
            c
        })
        .collect()
}

/// A failing result for an expectation whose template cannot be rendered (typically: it names a
/// value an earlier step failed to capture).
fn unrenderable(e: &StepEval<'_>, check: String, err: &TemplateError) -> CheckResult {
    match err {
        TemplateError::Unknown { name } => {
            let why = match e.capture_failures.get(name) {
                Some(capture) => format!("not captured: {capture}"),
                None => "no such variable".to_owned(),
            };
            checks::fail(check, format!("a value of `{name}` to compare with"), why)
        }
        other => checks::fail(check, "a valid template", other.to_string()),
    }
}

fn header_checks(
    e: &StepEval<'_>,
    name: &str,
    expect: &HeaderExpect,
    at: &str,
    out: &mut Vec<(CheckResult, String)>,
) {
    let resp = e.response;
    let equals_check = |v: &str| match e.vars.render(v) {
        Ok(v) => headers::equals(resp, name, &v),
        Err(err) => unrenderable(e, format!("header:{}", name.to_ascii_lowercase()), &err),
    };
    let rule = match expect {
        HeaderExpect::Equals(v) => {
            out.push((equals_check(v), at.to_owned()));
            return;
        }
        HeaderExpect::Rule(rule) => rule,
    };
    let HeaderRule {
        equals,
        matches,
        present,
        contains,
        media_type,
        etag,
        http_date,
    } = rule;
    let field = |f: &str| format!("{at}/{f}");
    if let Some(p) = present {
        out.push((headers::presence(resp, name, *p), field("present")));
    }
    if let Some(v) = equals {
        out.push((equals_check(v), field("equals")));
    }
    if let Some(p) = matches {
        out.push((headers::matches(resp, name, p), field("matches")));
    }
    if !contains.is_empty() {
        out.push((
            headers::list_contains(resp, name, contains),
            field("contains"),
        ));
    }
    if let Some(m) = media_type {
        out.push((headers::media_type(resp, name, m), field("media_type")));
    }
    if let Some(k) = etag {
        out.push((headers::etag_syntax(resp, name, *k), field("etag")));
    }
    if *http_date {
        out.push((headers::http_date(resp, name), field("http_date")));
    }
}

fn body_checks(e: &StepEval<'_>, b: &BodyExpect, at: &str, out: &mut Vec<(CheckResult, String)>) {
    let resp = e.response;
    let field = |f: &str| format!("{at}/{f}");
    // Parsed at most once, however many body checks look at it.
    let parsed = OnceCell::new();
    let json = || parsed.get_or_init(|| checks::body_json(resp));
    if let Some(want_empty) = b.empty {
        out.push((body::empty(resp, want_empty), field("empty")));
    }
    if b.schema.is_some() {
        let pointer = field("schema");
        let c = match e.schemas.get(&pointer) {
            Some(Ok(v)) => body::matches_schema(json(), v),
            Some(Err(why)) => checks::fail(
                "body.schema",
                "a body valid against the schema",
                why.clone(),
            ),
            None => checks::fail(
                "body.schema",
                "a body valid against the schema",
                "a schema that was not compiled",
            ),
        };
        out.push((c, pointer));
    }
    let lookup = |n: &str| e.vars.get(n);
    if let Some(want) = &b.equals {
        let c = match render_json(want, &lookup) {
            Ok(want) => body::equals(json(), &want),
            Err(err) => unrenderable(e, "body.equals".into(), &err),
        };
        out.push((c, field("equals")));
    }
    if let Some(want) = &b.contains {
        let c = match render_json(want, &lookup) {
            Ok(want) => body::contains(json(), &want),
            Err(err) => unrenderable(e, "body.contains".into(), &err),
        };
        out.push((c, field("contains")));
    }
    if let Some(kind) = b.jsonapi {
        out.push((jsonapi::document_structure(json(), kind), field("jsonapi")));
    }
    if let Some(j) = &b.jwt {
        for c in jwt::token_claims(json(), j, e.now) {
            out.push((c, field("jwt")));
        }
    }
    if let Some(t) = &b.text {
        if let Some(want) = &t.equals {
            let c = match e.vars.render(want) {
                Ok(want) => body::text_equals(resp, &want),
                Err(err) => unrenderable(e, "body.text.equals".into(), &err),
            };
            out.push((c, field("text/equals")));
        }
        if let Some(pattern) = &t.matches {
            out.push((body::text_matches(resp, pattern), field("text/matches")));
        }
    }
    if let Some(bytes) = &b.bytes {
        out.push((body::bytes_equal(resp, bytes), field("bytes")));
    }
}

fn captured_checks(e: &StepEval<'_>, name: &str, rule: &ValueExpect) -> Vec<CheckResult> {
    let render = |v: &Option<String>| -> Result<Option<String>, TemplateError> {
        v.as_deref().map(|v| e.vars.render(v)).transpose()
    };
    let rendered = (|| -> Result<ValueExpect, TemplateError> {
        Ok(ValueExpect {
            equals: render(&rule.equals)?,
            not_equals: render(&rule.not_equals)?,
            matches: rule.matches.clone(),
        })
    })();
    let rendered = match rendered {
        Ok(r) => r,
        Err(err) => return vec![unrenderable(e, format!("captured:{name}"), &err)],
    };
    let value = match e.capture_failures.get(name) {
        Some(why) => Err(why.as_str()),
        None => e.vars.get(name).ok_or("no capture of that name ran"),
    };
    captured::captured_value(name, value, &rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_spec_str;
    use indexmap::IndexMap;
    use std::path::Path;

    const SPEC: &str = r#"{
  "name": "t",
  "title": "t",
  "source": "t",
  "variables": { "want": { "default": "yes" } },
  "operations": { "op": { "method": "GET", "path": "/",
                          "capture": { "token": { "header": "X-Token" }, "missing": { "header": "X-Missing" } } } },
  "cases": [
    { "id": "c", "title": "c", "level": "must", "doc": "d", "rule": "RFC 9110 §15.3.5",
      "steps": [ { "call": "op",
                   "expect": { "status": 204,
                               "headers": { "X-A": "{{want}}", "ETag": { "etag": "strong" } },
                               "captured": { "token": { "equals": "{{missing}}" } } } } ] }
  ]
}"#;

    #[test]
    fn results_carry_locations_rules_and_rendered_values() {
        let loaded = load_spec_str(Path::new("t.json"), SPEC).expect("the spec loads");
        let vars = Vars::from_spec(&loaded.spec, &IndexMap::new(), |_| None).expect("vars");
        let response = ResponseData {
            status: 204,
            headers: vec![
                ("x-a".into(), "yes".into()),
                ("etag".into(), "W/\"1\"".into()),
            ],
            body: b"oops".to_vec(),
            truncated: false,
        };
        let mut failures = HashMap::new();
        failures.insert("missing".to_owned(), "step 0 (`op`): no value".to_owned());
        let results = evaluate(&StepEval {
            loaded: &loaded,
            case_index: 0,
            step_index: 0,
            case: &loaded.spec.cases[0],
            response: &response,
            vars: &vars,
            capture_failures: &failures,
            named: &HashMap::new(),
            schemas: &SchemaCache::build(&loaded),
            now: 0,
        });
        let checks: Vec<(&str, bool)> = results
            .iter()
            .map(|c| (c.check.as_str(), c.passed))
            .collect();
        assert_eq!(
            checks,
            [
                ("status", true),
                ("header:x-a", true),
                ("header:etag.etag", false),
                ("captured:token", false),
                ("rfc9110.no_content_body", false),
            ]
        );
        // The case's rule replaces a check's own; the automatic check keeps its own.
        assert!(results[..4]
            .iter()
            .all(|c| c.rule.as_deref() == Some("RFC 9110 §15.3.5")));
        assert_eq!(results[4].rule.as_deref(), Some("RFC 9110 §15.3.5"));
        assert!(results[3].actual.contains("not captured: step 0"));
        // Each result points at its expectation in the spec file.
        let lines: Vec<usize> = results
            .iter()
            .filter_map(|c| c.location.as_ref().map(|l| l.line))
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], 11, "status is on line 11");
        assert_eq!(lines[1], 12);
        assert_eq!(lines[2], 12);
        assert_eq!(lines[3], 13);
        assert_eq!(lines[4], 10, "the automatic check points at the step");
        assert!(results
            .iter()
            .all(|c| c.location.as_ref().is_some_and(|l| l.file == "t.json")));
    }

    #[test]
    fn any_of_holds_when_one_alternative_does_and_shows_each_difference() {
        let text = r#"{
  "name": "t", "title": "t", "source": "t",
  "operations": { "op": { "method": "DELETE", "path": "/" } },
  "cases": [
    { "id": "c", "title": "c", "level": "must", "doc": "d",
      "steps": [ { "call": "op",
                   "expect": { "headers": { "X-A": { "present": true } },
                               "any_of": [ { "status": 204, "body": { "empty": true } },
                                           { "status": 200, "body": { "text": { "equals": "deleted" } } } ] } } ] }
  ]
}"#;
        let loaded = load_spec_str(Path::new("t.json"), text).expect("the spec loads");
        let vars = Vars::from_spec(&loaded.spec, &IndexMap::new(), |_| None).expect("vars");
        let run = |status: u16, body: &str| {
            let response = ResponseData {
                status,
                headers: vec![("x-a".into(), "1".into())],
                body: body.as_bytes().to_vec(),
                truncated: false,
            };
            evaluate(&StepEval {
                loaded: &loaded,
                case_index: 0,
                step_index: 0,
                case: &loaded.spec.cases[0],
                response: &response,
                vars: &vars,
                capture_failures: &HashMap::new(),
                named: &HashMap::new(),
                schemas: &SchemaCache::build(&loaded),
                now: 0,
            })
        };
        let any_of = |results: &[CheckResult]| {
            results
                .iter()
                .find(|c| c.check == "any_of")
                .cloned()
                .expect("an any_of result")
        };
        let first = any_of(&run(204, ""));
        assert!(first.passed, "{first:?}");
        assert!(
            first.actual.starts_with("alternative 1 holds"),
            "{}",
            first.actual
        );
        let second = any_of(&run(200, "deleted"));
        assert!(second.passed);
        assert!(
            second.actual.starts_with("alternative 2 holds"),
            "{}",
            second.actual
        );
        let neither = any_of(&run(200, "gone"));
        assert!(!neither.passed);
        let lines: Vec<&str> = neither.actual.lines().collect();
        assert_eq!(lines.len(), 2, "{}", neither.actual);
        assert!(
            lines[0].starts_with("alternative 1: status: expected 204, got 200; body.empty"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("alternative 2: body.text.equals"),
            "{}",
            lines[1]
        );
        assert_eq!(neither.location.as_ref().map(|l| l.line), Some(8));
    }
}
