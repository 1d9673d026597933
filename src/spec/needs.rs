//! Which captures of a case are required: a capture that a later step uses (and that nothing
//! captures again before) must find its value, or the step that should have provided it fails.

use std::collections::BTreeSet;

use super::model::{Case, Spec, Step};
use super::validate::step_templates;

/// The names a step uses: in its request (built before its captures) and in its expectations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepUses {
    pub request: BTreeSet<String>,
    pub expect: BTreeSet<String>,
}

/// The names each step of `case` must capture, by step index: captured by the step (its
/// operation's captures and its own) without `optional: true`, and used by a later step before
/// any step captures them again. A use in a step whose `when` tests the name does not count: that
/// step is skipped when the value is missing.
pub fn required_captures(spec: &Spec, case: &Case) -> Vec<BTreeSet<String>> {
    let uses: Vec<StepUses> = (0..case.steps.len())
        .map(|j| step_uses(spec, &case.effective_step(j)))
        .collect();
    let captures = |step: &Step| -> Vec<(String, bool)> {
        let op = spec.operations.get(&step.call);
        op.into_iter()
            .flat_map(|o| o.capture.iter())
            .chain(step.capture.iter())
            .map(|(n, c)| (n.clone(), c.optional))
            .collect()
    };
    let captured: Vec<Vec<(String, bool)>> = case.steps.iter().map(captures).collect();
    let guarded = |step: &Step, name: &str| {
        step.when
            .as_ref()
            .and_then(|w| w.test())
            .is_some_and(|(_, n)| n == name)
    };
    let mut out = Vec::with_capacity(case.steps.len());
    for (j, caps) in captured.iter().enumerate() {
        let mut required = BTreeSet::new();
        for (name, optional) in caps {
            if *optional {
                continue;
            }
            for (k, later) in case.steps.iter().enumerate().skip(j + 1) {
                let recaptured = captured[k].iter().any(|(n, _)| n == name);
                if !guarded(later, name) {
                    let used = uses[k].request.contains(name)
                        || (!recaptured && uses[k].expect.contains(name));
                    if used {
                        required.insert(name.clone());
                        break;
                    }
                }
                if recaptured {
                    break;
                }
            }
        }
        out.push(required);
    }
    out
}

/// The names `step` uses, in its request and in its expectations.
pub fn step_uses(spec: &Spec, step: &Step) -> StepUses {
    let (request, expect) = step_templates(spec, step);
    let names = |texts: Vec<&str>| -> BTreeSet<String> {
        texts
            .into_iter()
            .filter_map(|t| super::template::names(t).ok())
            .flatten()
            .map(str::to_owned)
            .collect()
    };
    let mut uses = StepUses {
        request: names(request),
        expect: names(expect),
    };
    uses.expect.extend(step.expect.captured.keys().cloned());
    for alt in &step.expect.any_of {
        uses.expect.extend(alt.captured.keys().cloned());
    }
    // A `with` key gives the step its own value of that name; the `with` values are rendered
    // with the values known before the step.
    for key in step.with.keys() {
        uses.request.remove(key);
        uses.expect.remove(key);
    }
    uses.request
        .extend(names(step.with.values().map(String::as_str).collect()));
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_spec_str;
    use std::path::Path;

    #[test]
    fn a_capture_is_required_when_a_later_step_uses_it_first() {
        let text = r#"{
  "name": "t", "title": "t", "source": "t",
  "operations": {
    "login": { "method": "POST", "path": "/login",
               "capture": { "token": { "json": "/token" }, "hint": { "header": "X-Hint", "optional": true } } },
    "list": { "method": "GET", "path": "/list", "headers": { "Authorization": "Bearer {{token}}", "X-Hint": "{{hint}}" },
              "capture": { "etag": { "header": "ETag" } } },
    "show": { "method": "GET", "path": "/list", "headers": { "If-Match": "{{etag}}" } }
  },
  "cases": [
    { "id": "c", "title": "c", "level": "must", "doc": "d",
      "steps": [
        { "call": "login" },
        { "call": "login" },
        { "call": "list" },
        { "call": "show", "when": { "captured": "etag", "reason": "r" } },
        { "call": "list", "expect": { "captured": { "etag": { "matches": "." } } } }
      ] }
  ]
}"#;
        let loaded = load_spec_str(Path::new("t.json"), text).expect("loads");
        let got = required_captures(&loaded.spec, &loaded.spec.cases[0]);
        let names = |i: usize| got[i].iter().map(String::as_str).collect::<Vec<_>>();
        // The first login's token is captured again by the second before any use.
        assert!(names(0).is_empty());
        // The second's is used by the list; the optional hint never is required.
        assert_eq!(names(1), ["token"]);
        // The guarded step does not need the etag; the last step checks its own capture.
        assert!(names(2).is_empty());
        assert!(names(4).is_empty());
    }
}
