//! Semantic checks of a spec that has the right shape: what the JSON Schema cannot say.
//!
//! Templates parse and name only known values (walking each case's steps in order), steps call
//! defined operations, captures name one source, pointers and regexes and embedded JSON Schemas
//! are valid, ids are unique, `same_as` names an earlier step and compares known parts.
//! Every problem is reported, each at the JSON pointer of the value at fault.

use crate::document::text::{clip, did_you_mean};
use std::collections::{BTreeSet, HashMap, HashSet};

use super::model::{Capture, Case, Expect, HeaderExpect, Operation, Spec, Step, MAX_WAIT};
use super::template::{self, TemplateError, BUILTINS};

mod templates;

use templates::{
    body_templates, capture_templates, expect_templates, map_templates, operation_templates, ptr,
    Tpl,
};

/// One semantic problem, at the JSON pointer of the value at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

/// The templated strings of a step: those of its request (the called operation's, with the step's
/// overrides, the spec-wide headers it sends and the captures' queries; not the `with` values) and
/// those of its expectations.
pub(crate) fn step_templates<'s>(spec: &'s Spec, step: &'s Step) -> (Vec<&'s str>, Vec<&'s str>) {
    let mut request = Vec::new();
    for v in step.headers.values().flatten() {
        request.push(Tpl {
            pointer: String::new(),
            text: v,
        });
    }
    if let Some(body) = &step.body {
        body_templates(body, "", &mut request);
    }
    capture_templates(&step.capture, "", &mut request);
    if let Some(op) = spec.operations.get(&step.call) {
        let step_sets = |name: &str| step.headers.keys().any(|h| h.eq_ignore_ascii_case(name));
        request.push(Tpl {
            pointer: String::new(),
            text: &op.path,
        });
        map_templates(&op.query, "", &mut request);
        for (k, v) in &op.headers {
            if !step_sets(k) {
                request.push(Tpl {
                    pointer: String::new(),
                    text: v,
                });
            }
        }
        if step.body.is_none() {
            if let Some(body) = &op.body {
                body_templates(body, "", &mut request);
            }
        }
        capture_templates(&op.capture, "", &mut request);
        for (k, v) in &spec.headers {
            if !step_sets(k) && !op.headers.keys().any(|h| h.eq_ignore_ascii_case(k)) {
                request.push(Tpl {
                    pointer: String::new(),
                    text: v,
                });
            }
        }
    }
    let expect = expect_templates(&step.expect, "");
    let texts = |t: Vec<Tpl<'s>>| t.into_iter().map(|t| t.text).collect();
    (texts(request), texts(expect))
}

/// Every semantic problem of `spec`, in document order of discovery.
pub fn validate(spec: &Spec) -> Vec<Problem> {
    let mut everywhere = Scope::default();
    everywhere
        .names
        .extend(spec.variables.keys().map(String::as_str));
    for op in spec.operations.values() {
        everywhere
            .names
            .extend(op.capture.keys().map(String::as_str));
    }
    for case in &spec.cases {
        everywhere
            .names
            .extend(case.with.keys().map(String::as_str));
    }
    for step in spec.cases.iter().flat_map(|c| &c.steps) {
        everywhere
            .names
            .extend(step.capture.keys().map(String::as_str));
        everywhere
            .names
            .extend(step.with.keys().map(String::as_str));
    }
    let mut v = Validator {
        spec,
        problems: Vec::new(),
        bad_templates: HashSet::new(),
        everywhere,
    };
    v.check_operations();
    v.check_spec_headers();
    v.check_cases();
    v.check_notes();
    v.problems
}

struct Validator<'s> {
    spec: &'s Spec,
    problems: Vec<Problem>,
    /// Pointers of templates that do not parse (reported once, skipped by variable checks).
    bad_templates: HashSet<String>,
    /// Every name defined somewhere: variables, captures and `with` keys of any step.
    everywhere: Scope<'s>,
}

/// The names known at some point of a case.
#[derive(Clone, Default)]
struct Scope<'a> {
    names: HashSet<&'a str>,
}

impl<'a> Scope<'a> {
    fn knows(&self, name: &str) -> bool {
        self.names.contains(name) || BUILTINS.contains(&name)
    }
}

fn quote_list<'i>(items: impl IntoIterator<Item = &'i str>) -> String {
    let list: Vec<String> = items.into_iter().map(|s| format!("`{s}`")).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// A one-line message for a template that does not parse.
fn template_message(err: &TemplateError) -> String {
    match err {
        TemplateError::Unclosed { at, .. } => format!(
            "unclosed `{{{{` at byte {at} of the string: a placeholder is `{{{{name}}}}`, and a \
             template cannot contain a literal `{{{{`"
        ),
        TemplateError::BadName { name, .. } => format!(
            "invalid placeholder `{{{{{}}}}}`: names are letters, digits, `_`, `-`, `.` or the \
             built-ins {}, and a template cannot contain a literal `{{{{`",
            clip(name, 40),
            quote_list(BUILTINS.iter().copied())
        ),
        TemplateError::Unknown { name } => format!("unknown variable `{}`", clip(name, 40)),
        TemplateError::UnknownFunction {
            function,
            hint,
            known,
            ..
        } => format!(
            "unknown template function `{}`{hint}; the functions are {known}",
            clip(function, 40)
        ),
        TemplateError::BadCall { function, why, .. } => {
            format!("template function `{}` {why}", clip(function, 40))
        }
        other @ TemplateError::Function { .. } => other.to_string(),
    }
}

/// Whether `p` is a JSON pointer (RFC 6901): empty, or `/`-separated tokens where `~` is `~0`/`~1`.
pub(crate) fn is_json_pointer(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    if !p.starts_with('/') {
        return false;
    }
    let b = p.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, &c)| c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// Whether `name` is an HTTP field name (RFC 9110 token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Why a (templated) JSONPath query does not parse, if it does not. Placeholders are tried as a
/// number (`0`) and as a name (`a`): the query is valid when one of the two parses.
fn jsonpath_problem(query: &str) -> Option<String> {
    let Ok(pieces) = template::parse(query) else {
        // A template that does not parse is reported as such.
        return None;
    };
    let mut why = String::new();
    for stand_in in ["0", "a"] {
        let text: String = pieces
            .iter()
            .map(|p| match p {
                template::Piece::Text(t) => *t,
                template::Piece::Var(_) | template::Piece::Call(..) => stand_in,
            })
            .collect();
        match super::resolve::parse_jsonpath(&text) {
            Ok(_) => return None,
            Err(e) if why.is_empty() => why = e,
            Err(_) => {}
        }
    }
    let read_as = if pieces.iter().any(|p| p.name().is_some()) {
        " (each placeholder read as `0`)"
    } else {
        ""
    };
    Some(format!(
        "`{}` is not a JSONPath query (RFC 9535){read_as}: {}",
        clip(query, 60),
        clip(&why, 120)
    ))
}

/// The message of a regex that does not compile, on one line.
fn regex_problem(pattern: &str) -> Option<String> {
    let err = regex::Regex::new(pattern).err()?;
    let text = err.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim()
        .trim_start_matches("error: ");
    Some(format!(
        "invalid regular expression `{}`: {reason}",
        clip(pattern, 60)
    ))
}

impl<'s> Validator<'s> {
    fn problem(&mut self, pointer: String, message: String) {
        self.problems.push(Problem { pointer, message });
    }

    /// Parses each template once; returns the names used by the ones that parse.
    fn parse_templates(&mut self, tpls: &[Tpl<'s>]) -> Vec<(String, &'s str)> {
        let mut used = Vec::new();
        for t in tpls {
            if self.bad_templates.contains(&t.pointer) {
                continue;
            }
            match template::names(t.text) {
                Ok(names) => used.extend(names.into_iter().map(|n| (t.pointer.clone(), n))),
                Err(e) => {
                    self.bad_templates.insert(t.pointer.clone());
                    self.problem(t.pointer.clone(), template_message(&e));
                }
            }
        }
        used
    }

    /// Reports names of `tpls` unknown in `scope`, at the template itself.
    fn check_names(&mut self, tpls: &[Tpl<'s>], scope: &Scope<'_>, what: &str) {
        for (pointer, name) in self.parse_templates(tpls) {
            if !scope.knows(name) {
                let hint = did_you_mean(name, scope.names.iter().copied());
                self.problem(
                    pointer,
                    format!("unknown variable `{{{{{name}}}}}`{hint}: {what}"),
                );
            }
        }
    }

    /// A capture named like a spec variable would silently replace the variable's value.
    fn check_capture_name(&mut self, name: &str, pointer: &str) {
        if self.spec.variables.contains_key(name) {
            self.problem(
                pointer.to_owned(),
                format!(
                    "capture `{}` has the name of spec variable `{}` ({}): from this step on the \
                     capture would silently replace the variable; rename one of them",
                    clip(name, 40),
                    clip(name, 40),
                    ptr("/variables", name)
                ),
            );
        }
    }

    fn check_capture(&mut self, capture: &Capture, pointer: String) {
        let named: Vec<&str> = [
            ("json", capture.json.is_some()),
            ("jsonpath", capture.jsonpath.is_some()),
            ("header", capture.header.is_some()),
            ("cookie", capture.cookie.is_some()),
            ("jwt_claim", capture.jwt_claim.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, given)| given.then_some(n))
        .collect();
        if named.len() != 1 {
            let names = if named.is_empty() {
                "none".to_owned()
            } else {
                quote_list(named)
            };
            self.problem(
                pointer,
                format!("a capture names exactly one of `json`, `jsonpath`, `header`, `cookie`, `jwt_claim`; this one names {names}"),
            );
            return;
        }
        if let Some(p) = &capture.json {
            if !is_json_pointer(p) {
                self.problem(format!("{pointer}/json"), pointer_message(p));
            }
        }
        if let Some(q) = &capture.jsonpath {
            if let Some(why) = jsonpath_problem(q) {
                self.problem(format!("{pointer}/jsonpath"), why);
            }
        }
        if let Some(j) = &capture.jwt_claim {
            let at = format!("{pointer}/jwt_claim");
            if j.source_count() != 1 {
                self.problem(
                    at.clone(),
                    "a `jwt_claim` names exactly one of `from`, `json`, `header`".to_owned(),
                );
            }
            if let Some(p) = &j.json {
                if !is_json_pointer(p) {
                    self.problem(format!("{at}/json"), pointer_message(p));
                }
            }
            if let Some(h) = &j.header {
                if !is_header_name(h) {
                    self.problem(
                        format!("{at}/header"),
                        format!("`{}` is not an HTTP header name", clip(h, 40)),
                    );
                }
            }
            if let Some(from) = &j.from {
                if !self.everywhere.knows(from) {
                    let hint = did_you_mean(from, self.everywhere.names.iter().copied());
                    self.problem(
                        format!("{at}/from"),
                        format!(
                            "`{}` is not a variable or a capture of this spec{hint}",
                            clip(from, 40)
                        ),
                    );
                }
            }
        }
        if let Some(h) = &capture.header {
            if !is_header_name(h) {
                self.problem(
                    format!("{pointer}/header"),
                    format!("`{}` is not an HTTP header name", clip(h, 40)),
                );
            }
        }
    }

    fn check_operations(&mut self) {
        let spec = self.spec;
        for (name, op) in &spec.operations {
            let base = ptr("/operations", name);
            let tpls = operation_templates(op, &base);
            let everywhere = self.everywhere.clone();
            self.check_names(&tpls, &everywhere, UNDEFINED_ANYWHERE);
            for (cname, capture) in &op.capture {
                let at = ptr(&format!("{base}/capture"), cname);
                self.check_capture_name(cname, &at);
                self.check_capture(capture, at);
            }
        }
    }

    fn check_spec_headers(&mut self) {
        let mut tpls = Vec::new();
        map_templates(&self.spec.headers, "/headers", &mut tpls);
        let everywhere = self.everywhere.clone();
        self.check_names(&tpls, &everywhere, UNDEFINED_ANYWHERE);
    }

    fn check_cases(&mut self) {
        let spec = self.spec;
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (c, case) in spec.cases.iter().enumerate() {
            if let Some(first) = ids.insert(&case.id, c) {
                ids.insert(&case.id, first);
                self.problem(
                    format!("/cases/{c}/id"),
                    format!(
                        "duplicate case id `{}`: /cases/{first} has it already",
                        case.id
                    ),
                );
            }
            let mut scope = Scope::default();
            scope
                .names
                .extend(spec.variables.keys().map(String::as_str));
            self.check_case_defaults(case, c, &scope);
            self.check_intrusive(case, c);
            let mut step_names: HashMap<&str, usize> = HashMap::new();
            for (s, step) in case.steps.iter().enumerate() {
                let base = format!("/cases/{c}/steps/{s}");
                self.check_step(case, s, &base, &mut scope, &step_names);
                if let Some(name) = &step.name {
                    if let Some(first) = step_names.insert(name, s) {
                        step_names.insert(name, first);
                        self.problem(
                            format!("{base}/name"),
                            format!("duplicate step name `{name}`: step {first} of this case has it already"),
                        );
                    }
                }
            }
        }
    }

    /// A case's `with` and `headers` apply to every step, the first included: they may name
    /// spec variables and built-ins (and the headers the case's `with` keys), not captures.
    fn check_case_defaults(&mut self, case: &'s Case, c: usize, variables: &Scope<'s>) {
        let what = "a case's `with` and `headers` apply to every step, so they may name only spec \
                    variables, built-ins (and, in `headers`, the case's `with` keys); set it in \
                    the steps that know it";
        let mut with_tpls = Vec::new();
        map_templates(&case.with, &format!("/cases/{c}/with"), &mut with_tpls);
        self.check_names(&with_tpls, variables, what);
        let mut known = variables.clone();
        known.names.extend(case.with.keys().map(String::as_str));
        let mut header_tpls = Vec::new();
        for (k, v) in &case.headers {
            if let Some(v) = v {
                header_tpls.push(Tpl {
                    pointer: ptr(&format!("/cases/{c}/headers"), k),
                    text: v,
                });
            }
        }
        self.check_names(&header_tpls, &known, what);
    }

    /// A `wait` step: a duration of at most [`MAX_WAIT`], and nothing of a request step.
    fn check_wait_step(&mut self, step: &'s Step, base: &str) {
        if let Some(parsed) = step.wait_duration() {
            let at = format!("{base}/wait");
            let text = step.wait.as_deref().unwrap_or_default();
            match parsed {
                Err(why) => self.problem(
                    at,
                    format!(
                        "`{}` is not a duration ({why}); write e.g. `1s` or `1500ms`",
                        clip(text, 40)
                    ),
                ),
                Ok(d) if d > MAX_WAIT => self.problem(
                    at,
                    format!(
                        "a wait is at most {} s, got `{}`: a conformance case does not wait longer",
                        MAX_WAIT.as_secs(),
                        clip(text, 40)
                    ),
                ),
                Ok(_) => {}
            }
        }
        let request_fields: Vec<&str> = [
            ("call", !step.call.is_empty()),
            ("name", step.name.is_some()),
            ("with", !step.with.is_empty()),
            ("headers", !step.headers.is_empty()),
            ("body", step.body.is_some()),
            ("capture", !step.capture.is_empty()),
            ("expect", !step.expect.is_empty()),
        ]
        .into_iter()
        .filter_map(|(k, given)| given.then_some(k))
        .collect();
        if !request_fields.is_empty() {
            self.problem(
                base.to_owned(),
                format!(
                    "a `wait` step sends nothing, so it takes only `wait` and `when`; this one also has {}",
                    quote_list(request_fields)
                ),
            );
        }
    }

    /// Checks one step with the names known before it; adds its captures to `scope`.
    fn check_step(
        &mut self,
        case: &'s Case,
        index: usize,
        base: &str,
        scope: &mut Scope<'s>,
        earlier: &HashMap<&str, usize>,
    ) {
        let spec = self.spec;
        let step = &case.steps[index];
        // `with` values are rendered against what was known before the step.
        let mut with_tpls = Vec::new();
        map_templates(&step.with, &format!("{base}/with"), &mut with_tpls);
        self.check_names(
            &with_tpls,
            scope,
            "not a spec variable, a built-in, or a capture of an earlier step",
        );
        if let Some(when) = &step.when {
            let at = format!("{base}/when");
            match when.test() {
                None => self.problem(
                    at,
                    "a `when` needs one of `captured`, `not_captured`, `strong_etag`, `weak_etag`".to_string(),
                ),
                Some(_) if when.test_count() > 1 => self.problem(
                    at,
                    "a `when` takes exactly one of `captured`, `not_captured`, `strong_etag`, `weak_etag`".to_string(),
                ),
                Some((key, name)) if !scope.names.contains(name) => {
                    let hint = did_you_mean(name, scope.names.iter().copied());
                    self.problem(
                        format!("{at}/{key}"),
                        format!("`{}` is not captured by an earlier step of this case{hint}", clip(name, 40)),
                    );
                }
                Some(_) => {}
            }
        }
        if step.wait.is_some() {
            self.check_wait_step(step, base);
            return;
        }
        let mut here = scope.clone();
        here.names.extend(case.with.keys().map(String::as_str));
        here.names.extend(step.with.keys().map(String::as_str));
        let unknown_here =
            "not a spec variable, a built-in, a `with` key of this step, or a capture of an earlier step";

        let op = spec.operations.get(&step.call);
        match op {
            None if step.call.is_empty() => self.problem(
                base.to_owned(),
                "a step needs `call` (an operation to call) or `wait` (a pause)".to_owned(),
            ),
            None => {
                let hint = did_you_mean(&step.call, spec.operations.keys().map(String::as_str));
                self.problem(
                    format!("{base}/call"),
                    format!(
                        "no operation named `{}`{hint}; defined: {}",
                        clip(&step.call, 40),
                        quote_list(spec.operations.keys().map(String::as_str))
                    ),
                );
            }
            Some(op) => {
                let merged = case.effective_step(index);
                self.check_called_operation(&merged, op, base, &here);
            }
        }

        let mut tpls = Vec::new();
        let header_base = format!("{base}/headers");
        for (k, v) in &step.headers {
            if let Some(v) = v {
                tpls.push(Tpl {
                    pointer: ptr(&header_base, k),
                    text: v,
                });
            }
        }
        if let Some(body) = &step.body {
            body_templates(body, &format!("{base}/body"), &mut tpls);
        }
        capture_templates(&step.capture, &format!("{base}/capture"), &mut tpls);
        self.check_names(&tpls, &here, unknown_here);

        // Captures of this step (the operation's and the step's own) are known from here on.
        if let Some(op) = op {
            scope.names.extend(op.capture.keys().map(String::as_str));
        }
        for (cname, capture) in &step.capture {
            let at = ptr(&format!("{base}/capture"), cname);
            self.check_capture_name(cname, &at);
            self.check_capture(capture, at);
        }
        scope.names.extend(step.capture.keys().map(String::as_str));
        here.names.extend(scope.names.iter().copied());

        self.check_expect(&step.expect, &format!("{base}/expect"), &here, earlier);
        self.check_security(step, base, &here, earlier);
    }

    /// The called operation's templates (and the spec-wide headers it sends) must be defined.
    fn check_called_operation(
        &mut self,
        step: &Step,
        op: &'s Operation,
        base: &str,
        here: &Scope<'_>,
    ) {
        let spec = self.spec;
        let op_base = ptr("/operations", &step.call);
        let step_sets = |name: &str| step.headers.keys().any(|h| h.eq_ignore_ascii_case(name));
        let mut tpls = vec![Tpl {
            pointer: format!("{op_base}/path"),
            text: &op.path,
        }];
        map_templates(&op.query, &format!("{op_base}/query"), &mut tpls);
        for (k, v) in &op.headers {
            if !step_sets(k) {
                tpls.push(Tpl {
                    pointer: ptr(&format!("{op_base}/headers"), k),
                    text: v,
                });
            }
        }
        if step.body.is_none() {
            if let Some(body) = &op.body {
                body_templates(body, &format!("{op_base}/body"), &mut tpls);
            }
        }
        capture_templates(&op.capture, &format!("{op_base}/capture"), &mut tpls);
        for (k, v) in &spec.headers {
            if !step_sets(k) && !op.headers.keys().any(|h| h.eq_ignore_ascii_case(k)) {
                tpls.push(Tpl {
                    pointer: ptr("/headers", k),
                    text: v,
                });
            }
        }
        for (pointer, name) in self.parse_templates(&tpls) {
            // Names defined nowhere were reported once, at the template.
            if !here.knows(name) && self.everywhere.knows(name) {
                let hint = did_you_mean(name, here.names.iter().copied());
                let defined = self.defined_where(name);
                self.problem(
                    format!("{base}/call"),
                    format!(
                        "operation `{}` uses `{{{{{name}}}}}` (at {pointer}), undefined at this step{hint}: {defined}",
                        clip(&step.call, 40)
                    ),
                );
            }
        }
    }

    /// Where a name that is unknown at some step is defined (it is defined somewhere).
    fn defined_where(&self, name: &str) -> String {
        let spec = self.spec;
        if let Some((op, _)) = spec
            .operations
            .iter()
            .find(|(_, o)| o.capture.contains_key(name))
        {
            return format!(
                "it is captured by operation `{op}`, which no earlier step of this case calls"
            );
        }
        for (c, case) in spec.cases.iter().enumerate() {
            for (s, step) in case.steps.iter().enumerate() {
                if step.capture.contains_key(name) {
                    return format!("it is captured by /cases/{c}/steps/{s}, not by an earlier step of this case");
                }
                if step.with.contains_key(name) {
                    return format!("it is a `with` key of /cases/{c}/steps/{s} only; add it to this step's `with`");
                }
            }
        }
        "not a spec variable, a built-in, a `with` key of this step, or a capture of an earlier step".to_owned()
    }

    fn check_expect(
        &mut self,
        expect: &'s Expect,
        base: &str,
        here: &Scope<'_>,
        earlier: &HashMap<&str, usize>,
    ) {
        // The alternatives' templates are among these.
        let tpls = expect_templates(expect, base);
        self.check_names(
            &tpls,
            here,
            "not a spec variable, a built-in, a `with` key, or a capture so far",
        );
        self.check_expect_parts(expect, base, here, earlier);
        for (k, alt) in expect.any_of.iter().enumerate() {
            let at = format!("{base}/any_of/{k}");
            if !alt.any_of.is_empty() {
                self.problem(
                    format!("{at}/any_of"),
                    "an alternative of `any_of` cannot have an `any_of` of its own: list every \
                     alternative in the outer one"
                        .to_owned(),
                );
            }
            if *alt == Expect::default() {
                self.problem(
                    at.clone(),
                    "an empty alternative always holds: give it at least one of `status`, \
                     `headers`, `body`, `captured`, `same_as`"
                        .to_owned(),
                );
            }
            self.check_expect_parts(alt, &at, here, earlier);
        }
    }

    /// The regexes, embedded schemas, pointers, bytes and `same_as` of one `expect` (not its
    /// alternatives).
    fn check_expect_parts(
        &mut self,
        expect: &'s Expect,
        base: &str,
        here: &Scope<'_>,
        earlier: &HashMap<&str, usize>,
    ) {
        for (name, rule) in &expect.headers {
            if let HeaderExpect::Rule(r) = rule {
                if let Some(re) = r.matches.as_deref().and_then(regex_problem) {
                    self.problem(
                        format!("{}/matches", ptr(&format!("{base}/headers"), name)),
                        re,
                    );
                }
            }
        }
        for (name, rule) in &expect.captured {
            let p = ptr(&format!("{base}/captured"), name);
            if !here.knows(name) {
                let hint = did_you_mean(name, here.names.iter().copied());
                self.problem(
                    p.clone(),
                    format!(
                        "`{}` is not captured by this or an earlier step, nor a variable{hint}",
                        clip(name, 40)
                    ),
                );
            }
            if let Some(re) = rule.matches.as_deref().and_then(regex_problem) {
                self.problem(format!("{p}/matches"), re);
            }
        }
        if let Some(body) = &expect.body {
            if let Some(schema) = &body.schema {
                if let Err(e) = jsonschema::validator_for(schema) {
                    let message = match e.kind() {
                        jsonschema::error::ValidationErrorKind::Referencing(_) => format!(
                            "invalid JSON Schema: a `$ref` leaves the schema ({}); an embedded schema must be \
                             self-contained: put shared parts under `$defs`",
                            clip(&e.to_string(), 80)
                        ),
                        _ => format!("invalid JSON Schema: {}", clip(&e.to_string(), 160)),
                    };
                    self.problem(
                        format!("{base}/body/schema{}", e.instance_path().as_str()),
                        message,
                    );
                }
            }
            if let Some(jwt) = &body.jwt {
                if !is_json_pointer(&jwt.pointer) {
                    self.problem(
                        format!("{base}/body/jwt/pointer"),
                        pointer_message(&jwt.pointer),
                    );
                }
            }
            if let Some(text) = &body.text {
                if text.equals.is_none() && text.matches.is_none() {
                    self.problem(
                        format!("{base}/body/text"),
                        "a `text` rule needs `equals`, `matches` or both".to_owned(),
                    );
                }
                if let Some(re) = text.matches.as_deref().and_then(regex_problem) {
                    self.problem(format!("{base}/body/text/matches"), re);
                }
            }
            if let Some(bytes) = &body.bytes {
                if let Err(why) = bytes.decode() {
                    let at = match (&bytes.base64, &bytes.hex) {
                        (Some(_), None) => format!("{base}/body/bytes/base64"),
                        (None, Some(_)) => format!("{base}/body/bytes/hex"),
                        _ => format!("{base}/body/bytes"),
                    };
                    self.problem(at, format!("cannot read the expected bytes: {why}"));
                }
            }
        }
        if let Some(same) = &expect.same_as {
            if !earlier.contains_key(same.step.as_str()) {
                let names: BTreeSet<&str> = earlier.keys().copied().collect();
                self.problem(
                    format!("{base}/same_as/step"),
                    format!(
                        "`{}` is not the name of an earlier step of this case (earlier named steps: {})",
                        clip(&same.step, 40),
                        quote_list(names)
                    ),
                );
            }
            for (i, part) in same.compare.iter().enumerate() {
                let ok = match part.strip_prefix("header:") {
                    Some(h) => is_header_name(h),
                    None => part == "status" || part == "body",
                };
                if !ok {
                    self.problem(
                        format!("{base}/same_as/compare/{i}"),
                        format!(
                            "cannot compare `{}`: parts are `status`, `body` or `header:NAME`",
                            clip(part, 40)
                        ),
                    );
                }
            }
        }
    }

    fn check_notes(&mut self) {
        let ids: HashSet<&str> = self.spec.cases.iter().map(|c| c.id.as_str()).collect();
        for (n, note) in self.spec.notes.iter().enumerate() {
            for (i, id) in note.cases.iter().enumerate() {
                if !ids.contains(id.as_str()) {
                    let hint = did_you_mean(id, ids.iter().copied());
                    self.problem(
                        format!("/notes/{n}/cases/{i}"),
                        format!("no case with id `{}`{hint}", clip(id, 40)),
                    );
                }
            }
        }
    }
}

// ---- session security (issue 15): the attacks of a step ----

impl<'s> Validator<'s> {
    /// Checks the security expectations of `step` (at `base`, the step's pointer).
    pub(super) fn check_security(
        &mut self,
        step: &'s Step,
        base: &str,
        here: &Scope<'_>,
        earlier: &HashMap<&str, usize>,
    ) {
        let expect = &step.expect;
        let at = format!("{base}/expect");
        let known = |this: &mut Self, name: &str, pointer: String| {
            if !here.knows(name) {
                let hint = did_you_mean(name, here.names.iter().copied());
                this.problem(
                    pointer,
                    format!(
                        "`{}` is not a variable nor captured by this or an earlier step{hint}",
                        clip(name, 40)
                    ),
                );
            }
        };
        if let Some(f) = &expect.jwt_forgery {
            known(self, &f.token, format!("{at}/jwt_forgery/token"));
            if let Some(text) = &f.public_key {
                let tpls = [Tpl {
                    pointer: format!("{at}/jwt_forgery/public_key"),
                    text,
                }];
                self.check_names(
                    &tpls,
                    here,
                    "not a spec variable, a built-in, a `with` key, or a capture so far",
                );
            }
        }
        if let Some(e) = &expect.expiry {
            known(self, &e.token, format!("{at}/expiry/token"));
            let mut tpls = Vec::new();
            for (key, v) in [("expires_at", &e.expires_at), ("lifetime", &e.lifetime)] {
                if let Some(text) = v {
                    tpls.push(Tpl {
                        pointer: format!("{at}/expiry/{key}"),
                        text,
                    });
                }
            }
            self.check_names(
                &tpls,
                here,
                "not a spec variable, a built-in, a `with` key, or a capture so far",
            );
            if e.expires_at.is_some() && e.lifetime.is_some() {
                self.problem(
                    format!("{at}/expiry"),
                    "give at most one of `expires_at` and `lifetime`".to_owned(),
                );
            }
            if let Some(m) = &e.max_wait {
                match humantime::parse_duration(m.trim()) {
                    Ok(d) if d.as_secs_f64() <= super::model::MAX_WAIT_SECS as f64 => {}
                    Ok(_) => self.problem(
                        format!("{at}/expiry/max_wait"),
                        format!(
                            "`{}` is longer than the {} s a case may wait",
                            clip(m, 20),
                            super::model::MAX_WAIT_SECS
                        ),
                    ),
                    Err(err) => self.problem(
                        format!("{at}/expiry/max_wait"),
                        format!("`{}` is not a duration ({err})", clip(m, 20)),
                    ),
                }
            }
        }
        if let Some(e) = &expect.token_entropy {
            let ops = self.spec.operations.get(&step.call);
            let captured = step.capture.contains_key(&e.token)
                || ops.is_some_and(|op| op.capture.contains_key(&e.token));
            if !captured {
                let names: BTreeSet<&str> = step
                    .capture
                    .keys()
                    .chain(ops.into_iter().flat_map(|op| op.capture.keys()))
                    .map(String::as_str)
                    .collect();
                self.problem(
                    format!("{at}/token_entropy/token"),
                    format!(
                        "`{}` is not captured by this step (its captures: {})",
                        clip(&e.token, 40),
                        quote_list(names)
                    ),
                );
            }
        }
        if let Some(t) = &expect.timing_same_as {
            if !earlier.contains_key(t.step.as_str()) {
                let names: BTreeSet<&str> = earlier.keys().copied().collect();
                self.problem(
                    format!("{at}/timing_same_as/step"),
                    format!(
                        "`{}` is not the name of an earlier step of this case (earlier named steps: {})",
                        clip(&t.step, 40),
                        quote_list(names)
                    ),
                );
            }
        }
        if let Some(l) = &expect.lockout {
            let mut tpls = Vec::new();
            for (k, v) in &l.wrong {
                tpls.push(Tpl {
                    pointer: ptr(&format!("{at}/lockout/wrong"), k),
                    text: v,
                });
            }
            self.check_names(
                &tpls,
                here,
                "not a spec variable, a built-in, or a capture so far",
            );
        }
    }

    /// A case with a `lockout` expectation must be tagged `intrusive` (it is then never run
    /// against an outside target unless asked for).
    pub(super) fn check_intrusive(&mut self, case: &super::model::Case, c: usize) {
        let locks = case.steps.iter().any(|s| s.expect.lockout.is_some());
        if locks && !case.tags.iter().any(|t| t == "intrusive") {
            self.problem(
                format!("/cases/{c}/tags"),
                "a case with a `lockout` expectation can lock real accounts: tag it `intrusive`"
                    .to_owned(),
            );
        }
    }
}

const UNDEFINED_ANYWHERE: &str =
    "not a spec variable, a built-in, a capture or a `with` key anywhere in this spec";

fn pointer_message(p: &str) -> String {
    format!(
        "`{}` is not a JSON pointer: it must be empty or start with `/`, with `~` written `~0` and `/` in a name `~1`",
        clip(p, 40)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pointers() {
        for ok in ["", "/", "/a", "/a~0b/~1", "/data/0/id"] {
            assert!(is_json_pointer(ok), "{ok}");
        }
        for bad in ["a", "a/b", "/a~", "/a~2", "#/a"] {
            assert!(!is_json_pointer(bad), "{bad}");
        }
    }

    #[test]
    fn jwt_claim_sources_are_checked() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "name": "t", "title": "t", "source": "t",
            "operations": { "login": { "method": "POST", "path": "/",
                "capture": {
                    "access": { "json": "/access" },
                    "uid": { "jwt_claim": { "from": "acess", "claim": "user_id" } },
                    "both": { "jwt_claim": { "json": "x", "header": "A B", "claim": "c" } }
                } } },
            "cases": [ { "id": "c", "title": "c", "level": "must", "doc": "d",
                         "steps": [ { "call": "login" } ] } ]
        }))
        .expect("the shape is valid");
        let problems: Vec<String> = validate(&spec)
            .into_iter()
            .map(|p| format!("{}: {}", p.pointer, p.message))
            .collect();
        let at = |suffix: &str| problems.iter().any(|p| p.starts_with(suffix));
        assert!(at("/operations/login/capture/uid/jwt_claim/from: `acess` is not a variable or a capture of this spec (did you mean `access`?)"), "{problems:#?}");
        assert!(
            at("/operations/login/capture/both/jwt_claim: a `jwt_claim` names exactly one"),
            "{problems:#?}"
        );
        assert!(
            at("/operations/login/capture/both/jwt_claim/json: `x` is not a JSON pointer"),
            "{problems:#?}"
        );
        assert!(
            at("/operations/login/capture/both/jwt_claim/header: `A B` is not an HTTP header name"),
            "{problems:#?}"
        );
    }

    #[test]
    fn hints_and_clipping() {
        assert_eq!(
            did_you_mean("expct", ["call", "expect"]),
            " (did you mean `expect`?)"
        );
        assert_eq!(did_you_mean("zzz", ["call", "expect"]), "");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
        assert!(regex_problem("^a+$").is_none());
        let msg = regex_problem("(").unwrap_or_default();
        assert!(
            msg.starts_with("invalid regular expression `(`: ") && !msg.contains('\n'),
            "{msg}"
        );
    }
}
