//! Unit tests of [`super`]: compiled requests equal `spec::build_request`'s.

use super::*;
use crate::load::scenario::{LoadedScenario, Scenario};
use crate::spec::{build_request, LoadedSpec, SourceMap, Step};
use serde_json::json;

fn loaded() -> LoadedScenario {
    let spec: Spec = serde_json::from_value(json!({
        "name": "t", "title": "t", "source": "t",
        "variables": {"email": {"default": "a b@c.d"}, "password": {"default": "p\"w&=", "secret": true}},
        "headers": {"Accept": "application/json", "Authorization": "none"},
        "operations": {
            "login": {"method": "POST", "path": "/login", "query": {"who": "{{email}}"},
                      "body": {"json": {"email": "{{email}}", "password": "{{password}}", "n": 1,
                                        "deep": [{"k": "x{{email}}\ty"}]}},
                      "capture": {"token": {"json": "/token"}, "unused": {"header": "X-Unused"}}},
            "use": {"method": "GET", "path": "/items/{{token}}", "query": {"q": "{{token}} &"},
                    "headers": {"Authorization": "Bearer {{token}}"}},
            "form": {"method": "POST", "path": "/f",
                     "body": {"form": {"a b": "{{token}}", "e": "{{email}}"}}},
            "echo": {"method": "PUT", "path": "/e",
                     "body": {"jsonapi": {"data": {"id": "{{token}}", "note": "{{email}}"}}}},
            "raw": {"method": "POST", "path": "/r", "headers": {"Content-Type": "text/plain"},
                    "body": {"raw": "t={{token}};e={{email}}"}}
        },
        "cases": []
    }))
    .unwrap();
    let scenario: Scenario = serde_json::from_value(json!({
        "name": "s", "spec": "t",
        "flow": [
            {"call": "login"},
            {"call": "use", "name": "use"},
            {"call": "form", "with": {"email": "{{token}}+{{email}}"}},
            {"call": "echo"},
            {"call": "raw"}
        ]
    }))
    .unwrap();
    LoadedScenario {
        scenario,
        path: "s.json".into(),
        source_map: SourceMap::default(),
        spec: LoadedSpec {
            spec,
            path: "t.json".into(),
            source_map: SourceMap::default(),
        },
    }
}

fn render(
    step: &StepPlan,
    slots: &[Option<String>],
) -> (String, Vec<(String, String)>, Option<String>) {
    let mut path = String::new();
    step.path.render(slots, &mut path).unwrap();
    let headers = step
        .headers
        .iter()
        .map(|(n, v)| {
            let value = match v {
                HeaderTpl::Static(v) => v.to_str().unwrap().to_owned(),
                HeaderTpl::Dynamic(t) => {
                    let mut s = String::new();
                    t.render(slots, &mut s).unwrap();
                    s
                }
            };
            (n.as_str().to_owned(), value)
        })
        .collect();
    let body = step.body.as_ref().map(|b| match b {
        BodyTpl::Static(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
        BodyTpl::Dynamic(t) => {
            let mut s = String::new();
            t.render(slots, &mut s).unwrap();
            s
        }
    });
    (path, headers, body)
}

#[test]
fn sends_what_build_request_would() {
    let loaded = loaded();
    let spec = &loaded.spec.spec;
    let vars = Vars::from_spec(spec, &IndexMap::new(), |_| None).unwrap();
    let plan = compile(&loaded, &vars, "").unwrap();
    assert_eq!(plan.slots, vec!["token".to_string()]);
    let token = "to\"k\\en/ü &\n";
    let slots = vec![Some(token.to_owned())];
    let mut with_token = vars.clone();
    with_token.set("token", token.into(), true);

    let flow = &plan.flows[0];
    assert_eq!(flow.steps[0].clears, vec![0]);
    // `unused` is read by no step: not captured, so its header is not collected.
    assert_eq!(flow.steps[0].captures.len(), 1);
    assert!(flow.steps[0].capture_headers.is_empty() && flow.steps[0].capture_body);
    assert!(matches!(flow.steps[0].body, Some(BodyTpl::Static(_))));
    for (i, fs) in loaded.scenario.flow.iter().enumerate() {
        let step: Step = serde_json::from_value(json!({"call": fs.call, "with": fs.with})).unwrap();
        let op = &spec.operations[&fs.call];
        let vars = if i == 0 { &vars } else { &with_token };
        let want = build_request(spec, op, Some(&step), "http://h", vars).unwrap();
        let (path, headers, body) = render(&flow.steps[i], &slots);
        assert_eq!(format!("http://h{path}"), want.url, "step {i}");
        let want_headers: Vec<(String, String)> = want
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        assert_eq!(headers, want_headers, "step {i}");
        match (&body, &want.body) {
            (Some(b), Some(w)) if w.starts_with('{') => {
                let got: Value = serde_json::from_str(b).unwrap();
                let want: Value = serde_json::from_str(w).unwrap();
                assert_eq!(got, want, "step {i}");
                assert_eq!(b, w, "step {i}: same bytes, same key order");
            }
            _ => assert_eq!(body, want.body, "step {i}"),
        }
    }
}

#[test]
fn a_missing_capture_is_reported_by_slot() {
    let loaded = loaded();
    let vars = Vars::from_spec(&loaded.spec.spec, &IndexMap::new(), |_| None).unwrap();
    let plan = compile(&loaded, &vars, "/api/").unwrap();
    let mut out = String::new();
    assert_eq!(
        plan.flows[0].steps[1].path.render(&[None], &mut out),
        Err(0)
    );
    out.clear();
    plan.flows[0].steps[0].path.render(&[], &mut out).unwrap();
    assert_eq!(out, "/api/login?who=a%20b%40c.d");
    assert_eq!(
        plan.requests,
        vec![
            ("login".to_string(), "POST".to_string()),
            ("use".to_string(), "GET".to_string()),
            ("form".to_string(), "POST".to_string()),
            ("echo".to_string(), "PUT".to_string()),
            ("raw".to_string(), "POST".to_string()),
        ]
    );
}

#[test]
fn builtins_stay_dynamic() {
    let env_vars = Vars::default();
    let with = IndexMap::new();
    let per_user = HashMap::from([("$user".to_string(), 0), ("email".to_string(), 1)]);
    let env = Env {
        vars: &env_vars,
        with: &with,
        slots: HashMap::new(),
        per_user: &per_user,
        shard: "2",
    };
    let t = env
        .compile("load+{{$user}}-{{$shard}}@x {{email}}", Enc::Raw, true)
        .unwrap();
    let mut out = String::new();
    assert_eq!(t.render(&[None, None], &mut out), Err(0));
    out.clear();
    t.render(&[Some("7".into()), Some("a@b".into())], &mut out)
        .unwrap();
    assert_eq!(out, "load+7-2@x a@b");
    let t = env.compile("id-{{$random}}", Enc::Raw, true).unwrap();
    assert!(t.as_static().is_none());
    let (mut a, mut b) = (String::new(), String::new());
    t.render(&[], &mut a).unwrap();
    t.render(&[], &mut b).unwrap();
    assert_eq!(a.len(), 3 + 16);
    assert_ne!(a, b);
    assert!(env.compile("{{nope}}", Enc::Raw, true).is_err());
}
