//! Load-time checks of a scenario against its spec: every `call` is an operation of the spec,
//! templates use only the spec's variables and captures of earlier steps, names are consistent,
//! durations are sane and thresholds parse. Each problem is `(JSON pointer, message)`.

use std::collections::{BTreeSet, HashMap};

use super::arrival::MAX_RATE;
use super::scenario::{
    normalized_flows, FlowStep, LoadedScenario, Scenario, ThinkTime, MAX_DEFAULT_RUN_TIME,
    MAX_THINK_TIME,
};
use crate::spec::template::{self, BUILTINS};
use crate::spec::{Body, Operation, Spec};

/// Every problem of a parsed scenario, in file order.
pub(crate) fn check(loaded: &LoadedScenario) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let s = &loaded.scenario;
    let spec = &loaded.spec.spec;

    if let Some(stem) = loaded.path.file_stem().and_then(|s| s.to_str()) {
        if stem != s.name {
            out.push((
                "/name".into(),
                format!("the name `{}` must be the file stem `{stem}`", s.name),
            ));
        }
    }
    if let Some(rt) = s.run_time {
        if rt.0 < std::time::Duration::from_secs(1) || rt.0.subsec_nanos() != 0 {
            out.push((
                "/run_time".into(),
                "run_time must be a whole number of seconds, at least 1s (goose counts seconds)"
                    .into(),
            ));
        } else if rt.0 > MAX_DEFAULT_RUN_TIME {
            out.push((
                "/run_time".into(),
                format!(
                    "run_time {} is longer than the {}s a scenario may ask for; pass a longer --run-time explicitly instead",
                    humantime::format_duration(rt.0),
                    MAX_DEFAULT_RUN_TIME.as_secs()
                ),
            ));
        }
    }
    if let Some(hr) = s.hatch_rate {
        if !hr.is_finite() || hr <= 0.0 {
            out.push(("/hatch_rate".into(), "hatch_rate must be above 0".into()));
        }
    }
    if let Some(tt) = s.think_time {
        check_think_time(tt, "/think_time", &mut out);
    }
    check_stages(s, &mut out);
    if s.flows.is_empty() && s.flow.is_empty() {
        out.push((String::new(), "give either `flow` or `flows`".into()));
    }

    let single = s.flows.is_empty();
    let mut names: HashMap<String, (String, String)> = HashMap::new();
    let mut flow_names = BTreeSet::new();
    for (fi, flow) in normalized_flows(s).iter().enumerate() {
        let base = if single {
            String::new()
        } else {
            format!("/flows/{fi}")
        };
        if !flow_names.insert(flow.name.clone()) {
            out.push((
                format!("{base}/name"),
                format!("flow name `{}` is used twice", flow.name),
            ));
        }
        let mut available: BTreeSet<String> = spec.variables.keys().cloned().collect();
        let parts: [(&str, &[FlowStep]); 3] = [
            ("on_start", &flow.on_start),
            ("flow", &flow.flow),
            ("on_stop", &flow.on_stop),
        ];
        let later: Vec<(String, String)> = parts
            .iter()
            .flat_map(|(_, steps)| steps.iter())
            .filter_map(|st| {
                spec.operations
                    .get(&st.call)
                    .map(|op| (st.call.clone(), op))
            })
            .flat_map(|(call, op)| op.capture.keys().map(move |k| (k.clone(), call.clone())))
            .collect();
        for (part, steps) in parts {
            for (i, step) in steps.iter().enumerate() {
                let at = format!("{base}/{part}/{i}");
                check_step(spec, step, &at, &available, &later, &mut names, &mut out);
                if let Some(op) = spec.operations.get(&step.call) {
                    available.extend(op.capture.keys().cloned());
                }
            }
        }
    }

    let requests = loaded.request_names();
    if let Some(h) = &s.headline {
        if !requests.iter().any(|r| r == h) {
            out.push((
                "/headline".into(),
                format!(
                    "headline `{h}` names no request of this scenario (requests: {})",
                    requests.join(", ")
                ),
            ));
        }
    }
    for (i, t) in s.thresholds.iter().enumerate() {
        if let Err(e) = super::threshold::Threshold::parse(t)
            .and_then(|th| th.check_names(&requests).map(|()| th))
        {
            out.push((format!("/thresholds/{i}"), e.to_string()));
        }
    }
    out
}

/// The open model's stages: each lasts, together at most [`MAX_DEFAULT_RUN_TIME`], rates up
/// to [`MAX_RATE`], and something is sent.
fn check_stages(s: &Scenario, out: &mut Vec<(String, String)>) {
    if s.stages.is_empty() {
        if s.start_rate.is_some() {
            out.push((
                "/start_rate".into(),
                "start_rate goes with `stages` (the open model's arrival rate)".into(),
            ));
        }
        return;
    }
    let too_fast = |r: f64| r > MAX_RATE;
    if s.start_rate.is_some_and(|r| too_fast(r.0)) {
        out.push((
            "/start_rate".into(),
            format!("an arrival rate is at most {MAX_RATE}/s"),
        ));
    }
    for (i, st) in s.stages.iter().enumerate() {
        if st.duration.0 < std::time::Duration::from_millis(1) {
            out.push((
                format!("/stages/{i}/duration"),
                "a stage lasts at least 1ms".into(),
            ));
        }
        if too_fast(st.target.0) {
            out.push((
                format!("/stages/{i}/target"),
                format!("an arrival rate is at most {MAX_RATE}/s"),
            ));
        }
    }
    let total = s.stages_total();
    if total > MAX_DEFAULT_RUN_TIME {
        out.push((
            "/stages".into(),
            format!(
                "the stages last {} together, longer than the {}s a scenario may ask for; pass --rate and a longer --run-time explicitly instead",
                humantime::format_duration(total),
                MAX_DEFAULT_RUN_TIME.as_secs()
            ),
        ));
    }
    if s.arrival_stages()
        .iter()
        .all(|st| st.from_per_s == 0.0 && st.to_per_s == 0.0)
    {
        out.push((
            "/stages".into(),
            "every stage's rate is 0/s: the schedule sends nothing".into(),
        ));
    }
}

fn check_think_time(tt: ThinkTime, at: &str, out: &mut Vec<(String, String)>) {
    let (min, max) = tt.bounds();
    if min > max {
        out.push((at.into(), "think_time min is above max".into()));
    }
    if max > MAX_THINK_TIME {
        out.push((
            at.into(),
            format!("think_time is at most {}s", MAX_THINK_TIME.as_secs()),
        ));
    }
}

/// Checks one step; `available` are the names defined before it, `later` the captures of every
/// step of the flow (for hints).
fn check_step(
    spec: &Spec,
    step: &FlowStep,
    at: &str,
    available: &BTreeSet<String>,
    later: &[(String, String)],
    names: &mut HashMap<String, (String, String)>,
    out: &mut Vec<(String, String)>,
) {
    if let Some(tt) = step.think_time {
        check_think_time(tt, &format!("{at}/think_time"), out);
    }
    let Some(op) = spec.operations.get(&step.call) else {
        let known: Vec<&str> = spec.operations.keys().map(String::as_str).collect();
        out.push((
            format!("{at}/call"),
            format!(
                "spec `{}` has no operation `{}` (operations: {})",
                spec.name,
                step.call,
                known.join(", ")
            ),
        ));
        return;
    };

    let name = step.request_name();
    if step.name.is_none() && !valid_request_name(name) {
        out.push((
            format!("{at}/call"),
            format!("operation name `{name}` cannot name a request in thresholds; give the step a `name`"),
        ));
    }
    match names.get(name) {
        Some((call, first)) if call != &step.call => out.push((
            format!("{at}/name"),
            format!(
                "request name `{name}` already names operation `{call}` (at {first}); one name, one operation"
            ),
        )),
        Some(_) => {}
        None => {
            names.insert(name.to_owned(), (step.call.clone(), at.to_owned()));
        }
    }

    let used = match operation_names(spec, op) {
        Ok(used) => used,
        Err(e) => {
            out.push((
                format!("{at}/call"),
                format!("operation `{}`: {e}", step.call),
            ));
            return;
        }
    };
    for key in step.with.keys() {
        if !used.contains(key) {
            out.push((
                format!("{at}/with/{}", escape(key)),
                format!(
                    "`with` sets `{key}`, which operation `{}` does not use (it uses: {})",
                    step.call,
                    join(&used)
                ),
            ));
        }
    }
    for (key, value) in &step.with {
        match template::names(value) {
            Ok(names) => {
                for n in names {
                    if !available.contains(n) {
                        out.push((
                            format!("{at}/with/{}", escape(key)),
                            undefined(n, spec, available, later),
                        ));
                    }
                }
            }
            Err(e) => out.push((format!("{at}/with/{}", escape(key)), e.to_string())),
        }
    }
    for n in &used {
        if !step.with.contains_key(n) && !available.contains(n) {
            out.push((
                format!("{at}/call"),
                format!(
                    "operation `{}`: {}",
                    step.call,
                    undefined(n, spec, available, later)
                ),
            ));
        }
    }
}

fn undefined(
    name: &str,
    spec: &Spec,
    available: &BTreeSet<String>,
    later: &[(String, String)],
) -> String {
    let hint = match later.iter().find(|(k, _)| k == name) {
        Some((_, call)) => format!("; it is captured by `{call}`, which must run before"),
        None => String::new(),
    };
    format!(
        "`{{{{{name}}}}}` is neither a variable of spec `{}` nor captured by an earlier step (defined here: {}){hint}",
        spec.name,
        join(available)
    )
}

/// The variable names an operation's templates use (spec-wide headers included, built-ins not).
pub(crate) fn operation_names(
    spec: &Spec,
    op: &Operation,
) -> Result<BTreeSet<String>, template::TemplateError> {
    let mut texts: Vec<String> = vec![op.path.clone()];
    texts.extend(op.query.values().cloned());
    for (name, value) in &spec.headers {
        if !op.headers.keys().any(|h| h.eq_ignore_ascii_case(name)) {
            texts.push(value.clone());
        }
    }
    texts.extend(op.headers.values().cloned());
    match &op.body {
        Some(Body::Json(v) | Body::Jsonapi(v)) => template::json_strings(v, &mut texts),
        Some(Body::Form(fields)) => texts.extend(fields.values().cloned()),
        Some(Body::Raw(s)) => texts.push(s.clone()),
        Some(Body::Empty(_)) | None => {}
    }
    let mut out = BTreeSet::new();
    for t in &texts {
        for n in template::names(t)? {
            if !BUILTINS.contains(&n) {
                out.insert(n.to_owned());
            }
        }
    }
    Ok(out)
}

/// A request name usable in `NAME:metric` thresholds.
pub(crate) fn valid_request_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 128
}

fn join(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::load::loader::load_scenario_str;

    const SPEC: &str = r#"{
      "name": "mini", "title": "t", "source": "t",
      "variables": {"email": {"default": "a@b.c"}, "password": {"default": "pw", "secret": true}},
      "operations": {
        "login": {"method": "POST", "path": "/s", "body": {"json": {"email": "{{email}}", "password": "{{password}}"}},
                  "capture": {"token": {"json": "/token"}}},
        "logout": {"method": "DELETE", "path": "/s", "headers": {"Authorization": "Bearer {{token}}"}}
      },
      "cases": [{"id": "login-ok", "title": "logs in", "level": "must", "doc": "t",
                 "steps": [{"call": "login", "expect": {"status": 200}}]}]
    }"#;

    fn problems(scenario: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mini.json"), SPEC).unwrap();
        match load_scenario_str(Path::new("x.json"), scenario, dir.path()) {
            Ok(_) => Vec::new(),
            Err(e) => e.lines(),
        }
    }

    #[test]
    fn a_good_scenario_passes() {
        let ok = problems(
            r#"{"name": "x", "spec": "mini", "run_time": "5s", "thresholds": ["login:p95<1s"],
                "flow": [{"call": "login"}, {"call": "logout", "with": {"token": "{{token}}"}}]}"#,
        );
        assert_eq!(ok, Vec::<String>::new());
    }

    #[test]
    fn every_semantic_problem_is_located() {
        let text = r#"{
  "name": "y",
  "spec": "mini",
  "run_time": "2m",
  "headline": "signin",
  "thresholds": ["signin:p95<1s", "p95<soon"],
  "flow": [
    {"call": "logout"},
    {"call": "lgin"},
    {"call": "login", "with": {"emial": "x", "password": "{{secret}}"}},
    {"call": "logout", "name": "login"}
  ]
}"#;
        let p = problems(text);
        let has = |needle: &str| p.iter().any(|l| l.contains(needle));
        assert!(
            has("x.json:2:11: /name: the name `y` must be the file stem `x`"),
            "{p:#?}"
        );
        assert!(
            has("x.json:4:15: /run_time: run_time 2m is longer than the 60s"),
            "{p:#?}"
        );
        assert!(has("/flow/0/call: operation `logout`: `{{token}}` is neither a variable of spec `mini` nor captured by an earlier step (defined here: email, password); it is captured by `login`, which must run before"), "{p:#?}");
        assert!(has("x.json:9:14: /flow/1/call: spec `mini` has no operation `lgin` (operations: login, logout)"), "{p:#?}");
        assert!(has("/flow/2/with/emial: `with` sets `emial`, which operation `login` does not use (it uses: email, password)"), "{p:#?}");
        assert!(
            has("/flow/2/with/password: `{{secret}}` is neither"),
            "{p:#?}"
        );
        assert!(has("x.json:11:32: /flow/3/name: request name `login` already names operation `login` (at /flow/2); one name, one operation"), "{p:#?}");
        let mut sorted = p.clone();
        sorted.sort_by_key(|l| {
            let mut parts = l
                .split(':')
                .skip(1)
                .map(|n| n.parse::<usize>().unwrap_or(0));
            (parts.next(), parts.next())
        });
        assert_eq!(p, sorted, "in file order");
        assert!(
            has("/headline: headline `signin` names no request"),
            "{p:#?}"
        );
        assert!(
            has("/thresholds/0: threshold `signin:p95<1s`: no request named `signin`"),
            "{p:#?}"
        );
        assert!(
            has("/thresholds/1: threshold `p95<soon`: `soon` is not a time"),
            "{p:#?}"
        );
    }

    #[test]
    fn an_unknown_spec_points_at_spec() {
        let p = problems(r#"{"name": "x", "spec": "nope", "flow": [{"call": "login"}]}"#);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("x.json:1:23: /spec: no spec named `nope`"),
            "{p:?}"
        );
    }
}
