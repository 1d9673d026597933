//! Compiling a checked scenario into request plans, once, before the run.
//!
//! Every template is parsed here and every value that does not change during the run (spec
//! variables, `--var`, `with` overrides of them) is rendered here: a step's path, headers and body
//! become literal text with holes only for captured values (a login's token) and the `$random` /
//! `$now` built-ins. A static body is kept as shared bytes and sent without copying; a JSON body
//! is serialised once, and a captured value is escaped into its hole. The result sends the same
//! bytes as [`crate::spec::build_request`] (a test compares the two).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use goose::goose::GooseMethod;
use indexmap::IndexMap;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::scenario::{Flow, FlowStep, LoadedScenario};
use crate::redact::percent_encode;
use crate::spec::template::{self, Piece as TplPiece};
use crate::spec::{Body, Capture, Method, Operation, Spec, StatusExpect, Vars};

/// How a value is escaped where it is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// As is (paths, headers, raw bodies), like `build_request`.
    Raw,
    /// Inside a JSON string.
    Json,
    /// A query-string value (percent-encoded).
    Query,
    /// A form field value (percent-encoded, space as `+`).
    Form,
}

/// One piece of a compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// A captured value, by slot.
    Slot(usize, Enc),
    Random(Enc),
    Now(Enc),
}

/// A template with everything static already rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tpl {
    pieces: Vec<Piece>,
}

impl Tpl {
    /// The text, when no hole is left.
    pub fn as_static(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Renders into `out`; `Err(slot)` when a captured value is missing.
    pub fn render(&self, slots: &[Option<String>], out: &mut String) -> Result<(), usize> {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(i, enc) => match slots.get(*i).and_then(Option::as_deref) {
                    Some(v) => encode_into(v, *enc, out),
                    None => return Err(*i),
                },
                Piece::Random(enc) => {
                    encode_into(&format!("{:016x}", rand::random::<u64>()), *enc, out);
                }
                Piece::Now(enc) => encode_into(
                    &httpdate::fmt_http_date(std::time::SystemTime::now()),
                    *enc,
                    out,
                ),
            }
        }
        Ok(())
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else {
            self.pieces.push(Piece::Text(text.to_owned()));
        }
    }

    fn append(&mut self, other: Tpl) {
        for p in other.pieces {
            match p {
                Piece::Text(t) => self.push_text(&t),
                hole => self.pieces.push(hole),
            }
        }
    }
}

/// First placeholder slot of a per-user value while compiling ([`compile_with`]).
const PLACEHOLDER: usize = 1 << 30;

impl FlowPlan {
    fn all_steps(&self) -> impl Iterator<Item = &StepPlan> {
        self.on_start.iter().chain(&self.steps).chain(&self.on_stop)
    }
}

impl StepPlan {
    fn tpls_mut(&mut self) -> Vec<&mut Tpl> {
        let mut out = vec![&mut self.path];
        for (_, h) in &mut self.headers {
            if let HeaderTpl::Dynamic(t) = h {
                out.push(t);
            }
        }
        if let Some(BodyTpl::Dynamic(t)) = &mut self.body {
            out.push(t);
        }
        out
    }

    fn for_each_slot(&self, mut f: impl FnMut(usize)) {
        let mut tpls = vec![&self.path];
        for (_, h) in &self.headers {
            if let HeaderTpl::Dynamic(t) = h {
                tpls.push(t);
            }
        }
        if let Some(BodyTpl::Dynamic(t)) = &self.body {
            tpls.push(t);
        }
        for t in tpls {
            for p in &t.pieces {
                if let Piece::Slot(s, _) = p {
                    f(*s);
                }
            }
        }
    }

    fn renumber(&mut self, map: &HashMap<usize, usize>) {
        for t in self.tpls_mut() {
            for p in &mut t.pieces {
                if let Piece::Slot(s, _) = p {
                    if let Some(n) = map.get(s) {
                        *s = *n;
                    }
                }
            }
        }
    }
}

/// A header value: fixed, or rendered per request.
#[derive(Debug, Clone)]
pub enum HeaderTpl {
    Static(HeaderValue),
    Dynamic(Tpl),
}

/// A request body: fixed bytes (shared, never copied), or rendered per request.
#[derive(Debug, Clone)]
pub enum BodyTpl {
    Static(Bytes),
    Dynamic(Tpl),
}

/// One step, ready to send.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// Request name in metrics and thresholds.
    pub name: String,
    /// Index of `name` in [`Plan::requests`].
    pub request: usize,
    pub call: String,
    pub method: GooseMethod,
    /// Path and query (relative to the target).
    pub path: Tpl,
    pub headers: Vec<(HeaderName, HeaderTpl)>,
    pub body: Option<BodyTpl>,
    /// `(slot, capture)` taken from a successful response.
    pub captures: Vec<(usize, Capture)>,
    /// Lower-case names of the response headers the captures read.
    pub capture_headers: Vec<String>,
    /// Whether a capture reads the body.
    pub capture_body: bool,
    /// `None`: any 2xx.
    pub expect: Option<StatusExpect>,
    pub think: Option<(Duration, Duration)>,
    pub repeat: usize,
    /// Slots to empty before this step runs (the first step of an iteration forgets the
    /// previous iteration's captures, so a failed login never reuses an old token).
    pub clears: Vec<usize>,
}

/// One kind of user.
#[derive(Debug, Clone)]
pub struct FlowPlan {
    pub name: String,
    pub weight: usize,
    pub on_start: Vec<StepPlan>,
    pub steps: Vec<StepPlan>,
    pub on_stop: Vec<StepPlan>,
}

/// Values that differ per simulated user or per shard: `{{$user}}` (the user's global
/// number), `{{$shard}}`, and the columns of `--accounts` (spec variables whose values each user
/// takes from its own row).
#[derive(Debug, Clone, Default)]
pub struct UserValues {
    /// Account columns (spec variable names).
    pub columns: Vec<String>,
    /// The shard's index (0 without shards).
    pub shard: usize,
}

/// What a per-user slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSlot {
    /// The user's global number (`{{$user}}`).
    Number,
    /// The user's value of account column `i`.
    Column(usize),
}

/// Everything the run sends.
#[derive(Debug, Clone)]
pub struct Plan {
    pub flows: Vec<FlowPlan>,
    /// Captured names (and per-user values), by slot.
    pub slots: Vec<String>,
    /// Slots each user fills when it starts ([`UserValues`]).
    pub user_slots: Vec<(usize, UserSlot)>,
    /// `(name, METHOD)` of every request name, in first-use order.
    pub requests: Vec<(String, String)>,
}

/// A scenario that cannot be turned into requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step `{step}` (operation `{call}`): {message}")]
pub struct CompileError {
    pub step: String,
    pub call: String,
    pub message: String,
}

/// Compiles a checked scenario. `vars` holds the spec's variables (after `--var` and the
/// environment); `path_prefix` is the target URL's path (`/api` of `http://h/api`), or empty.
pub fn compile(
    loaded: &LoadedScenario,
    vars: &Vars,
    path_prefix: &str,
) -> Result<Plan, CompileError> {
    compile_with(loaded, vars, path_prefix, &UserValues::default())
}

/// [`compile`] with per-user values (`{{$user}}`, `{{$shard}}`, account columns).
pub fn compile_with(
    loaded: &LoadedScenario,
    vars: &Vars,
    path_prefix: &str,
    user: &UserValues,
) -> Result<Plan, CompileError> {
    let spec = &loaded.spec.spec;
    let mut c = Compiler {
        spec,
        vars,
        prefix: path_prefix.trim_end_matches('/'),
        slots: Vec::new(),
        requests: Vec::new(),
        per_user: HashMap::new(),
        shard: user.shard.to_string(),
    };
    // Per-user values take slots after the captures': placeholders while compiling, renumbered
    // once the captures are known.
    let mut names = vec![("$user".to_owned(), UserSlot::Number)];
    names.extend(
        user.columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), UserSlot::Column(i))),
    );
    for (k, (name, _)) in names.iter().enumerate() {
        c.per_user.insert(name.clone(), PLACEHOLDER + k);
    }
    let mut flows = Vec::new();
    for flow in loaded.flows() {
        flows.push(c.flow(&flow)?);
    }
    let mut used = BTreeSet::new();
    for step in flows.iter().flat_map(FlowPlan::all_steps) {
        step.for_each_slot(|s| {
            if s >= PLACEHOLDER {
                used.insert(s);
            }
        });
    }
    let mut renumber = HashMap::new();
    let mut user_slots = Vec::new();
    for p in used {
        let (name, what) = &names[p - PLACEHOLDER];
        let slot = c.slot(name);
        renumber.insert(p, slot);
        user_slots.push((slot, *what));
    }
    for flow in &mut flows {
        for step in flow
            .on_start
            .iter_mut()
            .chain(&mut flow.steps)
            .chain(&mut flow.on_stop)
        {
            step.renumber(&renumber);
        }
    }
    Ok(Plan {
        flows,
        slots: c.slots,
        user_slots,
        requests: c.requests,
    })
}

struct Compiler<'a> {
    spec: &'a Spec,
    vars: &'a Vars,
    prefix: &'a str,
    slots: Vec<String>,
    requests: Vec<(String, String)>,
    /// Per-user names (`$user`, account columns) → their slots.
    per_user: HashMap<String, usize>,
    shard: String,
}

impl Compiler<'_> {
    fn slot(&mut self, name: &str) -> usize {
        match self.slots.iter().position(|s| s == name) {
            Some(i) => i,
            None => {
                self.slots.push(name.to_owned());
                self.slots.len() - 1
            }
        }
    }

    fn flow(&mut self, flow: &Flow) -> Result<FlowPlan, CompileError> {
        let mut captured: BTreeSet<String> = BTreeSet::new();
        let used = used_names(self.spec, flow);
        let compile_part = |c: &mut Self, steps: &[FlowStep], captured: &mut BTreeSet<String>| {
            let mut out = Vec::new();
            for step in steps {
                let plan = c.step(step, captured, &used)?;
                for (slot, _) in &plan.captures {
                    captured.insert(c.slots[*slot].clone());
                }
                out.push(plan);
            }
            Ok::<_, CompileError>(out)
        };
        let on_start = compile_part(self, &flow.on_start, &mut captured)?;
        let mut steps = compile_part(self, &flow.flow, &mut captured)?;
        let on_stop = compile_part(self, &flow.on_stop, &mut captured)?;
        let mut flow_slots: Vec<usize> = steps
            .iter()
            .flat_map(|s| s.captures.iter().map(|(slot, _)| *slot))
            .collect();
        flow_slots.sort_unstable();
        flow_slots.dedup();
        if let Some(first) = steps.first_mut() {
            first.clears = flow_slots;
        }
        Ok(FlowPlan {
            name: flow.name.clone(),
            weight: flow.weight,
            on_start,
            steps,
            on_stop,
        })
    }

    fn step(
        &mut self,
        step: &FlowStep,
        captured: &BTreeSet<String>,
        used: &BTreeSet<String>,
    ) -> Result<StepPlan, CompileError> {
        let fail = |message: String| CompileError {
            step: step.request_name().to_owned(),
            call: step.call.clone(),
            message,
        };
        let op: &Operation = self
            .spec
            .operations
            .get(&step.call)
            .ok_or_else(|| fail("no such operation in the spec".into()))?;
        let method = goose_method(op.method)
            .ok_or_else(|| fail(format!("{} requests cannot be load-tested", op.method)))?;
        let name = step.request_name().to_owned();
        let request = match self.requests.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.requests
                    .push((name.clone(), op.method.as_str().to_owned()));
                self.requests.len() - 1
            }
        };
        let mut slots = HashMap::new();
        for n in captured {
            let i = self.slot(n);
            slots.insert(n.clone(), i);
        }
        let env = Env {
            vars: self.vars,
            with: &step.with,
            slots,
            per_user: &self.per_user,
            shard: &self.shard,
        };
        let tpl = |text: &str, enc: Enc| env.compile(text, enc, true).map_err(&fail);

        let mut path = Tpl::default();
        path.push_text(self.prefix);
        path.append(tpl(&op.path, Enc::Raw)?);
        let mut sep = if op.path.contains('?') { '&' } else { '?' };
        for (k, v) in &op.query {
            path.push_text(&format!("{sep}{}=", percent_encode(k)));
            path.append(tpl(v, Enc::Query)?);
            sep = '&';
        }

        // Headers exactly as build_request orders them: the body's Content-Type, then the
        // spec's headers, then the operation's, a later one replacing an earlier of that name.
        let mut headers: Vec<(String, Tpl)> = Vec::new();
        let put = |headers: &mut Vec<(String, Tpl)>, name: &str, value: Tpl| {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_owned(), value));
        };
        if let Some(ct) = op.body.as_ref().and_then(Body::content_type) {
            put(&mut headers, "Content-Type", text_tpl(ct));
        }
        for (n, v) in self.spec.headers.iter().chain(op.headers.iter()) {
            put(&mut headers, n, tpl(v, Enc::Raw)?);
        }
        let headers = headers
            .into_iter()
            .map(|(n, v)| {
                let name = HeaderName::from_bytes(n.as_bytes())
                    .map_err(|e| fail(format!("header name `{n}`: {e}")))?;
                let value = match v.as_static() {
                    Some(s) => HeaderTpl::Static(
                        HeaderValue::from_str(s).map_err(|e| fail(format!("header `{n}`: {e}")))?,
                    ),
                    None => HeaderTpl::Dynamic(v),
                };
                Ok((name, value))
            })
            .collect::<Result<Vec<_>, CompileError>>()?;

        let body = match &op.body {
            None | Some(Body::Empty(_)) => None,
            Some(Body::Json(v) | Body::Jsonapi(v)) => Some(json_body(v, &env).map_err(&fail)?),
            Some(Body::Form(fields)) => {
                let mut t = Tpl::default();
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        t.push_text("&");
                    }
                    t.push_text(&format!("{}=", form_encode(k)));
                    t.append(tpl(v, Enc::Form)?);
                }
                Some(t)
            }
            Some(Body::Raw(s)) => Some(tpl(s, Enc::Raw)?),
        }
        .map(|t| match t.as_static() {
            Some(s) => BodyTpl::Static(Bytes::from(s.to_owned())),
            None => BodyTpl::Dynamic(t),
        });

        let mut captures = Vec::new();
        let mut capture_headers = Vec::new();
        let mut capture_body = false;
        // Only what a step of this flow reads is captured: a response that is expected to
        // carry nothing (a 401) is then not parsed at all.
        for (n, cap) in op.capture.iter().filter(|(n, _)| used.contains(*n)) {
            let mut cap = cap.clone();
            match cap.source() {
                Some(crate::spec::CaptureSource::Json(_)) => capture_body = true,
                Some(crate::spec::CaptureSource::JsonPath(q)) => {
                    // Rendered once, here: a load run's users share the spec's variables.
                    let vars = self
                        .vars
                        .with_overrides(&step.with)
                        .map_err(|e| fail(format!("capture `{n}`: {e}")))?;
                    let rendered = vars.render(q).map_err(|e| {
                        fail(format!(
                            "capture `{n}`: its JSONPath may name only spec variables in a load \
                             scenario ({e})"
                        ))
                    })?;
                    cap.jsonpath = Some(rendered);
                    capture_body = true;
                }
                Some(crate::spec::CaptureSource::Header(h)) => {
                    capture_headers.push(h.to_ascii_lowercase());
                }
                Some(crate::spec::CaptureSource::Cookie(_)) => {
                    capture_headers.push("set-cookie".into());
                }
                Some(crate::spec::CaptureSource::JwtClaim(j)) => match (&j.json, &j.header) {
                    (Some(_), _) => capture_body = true,
                    (None, Some(h)) => capture_headers.push(h.to_ascii_lowercase()),
                    (None, None) => {
                        return Err(fail(format!(
                            "capture `{n}`: a `jwt_claim` from a captured value is not supported \
                             by load; take the token from `json` or `header`"
                        )))
                    }
                },
                None => return Err(fail(format!("capture `{n}` must name exactly one source"))),
            }
            captures.push((self.slot(n), cap));
        }
        capture_headers.sort();
        capture_headers.dedup();

        Ok(StepPlan {
            name,
            request,
            call: step.call.clone(),
            method,
            path,
            headers,
            body,
            captures,
            capture_headers,
            capture_body,
            expect: step.expect_status.clone(),
            think: step
                .think_time
                .map(super::scenario::ThinkTime::bounds)
                .filter(|(_, max)| !max.is_zero()),
            repeat: step.repeat.max(1),
            clears: Vec::new(),
        })
    }
}

/// Every name the steps of a flow read: their operations' templates (less what `with`
/// replaces) and their `with` values.
fn used_names(spec: &Spec, flow: &Flow) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for step in flow.on_start.iter().chain(&flow.flow).chain(&flow.on_stop) {
        if let Some(op) = spec.operations.get(&step.call) {
            if let Ok(names) = super::semantic::operation_names(spec, op) {
                used.extend(names.into_iter().filter(|n| !step.with.contains_key(n)));
            }
        }
        for v in step.with.values() {
            if let Ok(names) = template::names(v) {
                used.extend(names.into_iter().map(str::to_owned));
            }
        }
    }
    used
}

/// The names one step can resolve: `with` overrides, captures (slots), spec variables.
struct Env<'a> {
    vars: &'a Vars,
    with: &'a IndexMap<String, String>,
    slots: HashMap<String, usize>,
    per_user: &'a HashMap<String, usize>,
    shard: &'a str,
}

impl Env<'_> {
    /// Compiles `text`; `with_allowed` is false inside a `with` value (rendered against the
    /// values before the overrides, like [`Vars::with_overrides`]).
    fn compile(&self, text: &str, enc: Enc, with_allowed: bool) -> Result<Tpl, String> {
        let mut out = Tpl::default();
        for piece in template::parse(text).map_err(|e| e.to_string())? {
            match piece {
                TplPiece::Text(t) => out.push_text(&encode(t, enc)),
                TplPiece::Var("$random") => out.pieces.push(Piece::Random(enc)),
                TplPiece::Var("$now") => out.pieces.push(Piece::Now(enc)),
                TplPiece::Var("$shard") => out.push_text(&encode(self.shard, enc)),
                // Functions apply to values known before the run (spec variables, `with`).
                TplPiece::Call(n, functions) => {
                    let known = match self.with.get(n).filter(|_| with_allowed) {
                        Some(w) => Some(self.vars.render(w).map_err(|e| e.to_string())?),
                        None if self.slots.contains_key(n) || self.per_user.contains_key(n) => None,
                        None => self.vars.get(n).map(str::to_owned),
                    };
                    let Some(mut value) = known else {
                        return Err(format!(
                            "`{n}`: template functions apply only to spec variables in a load scenario"
                        ));
                    };
                    for f in functions {
                        value = f.apply(&value).map_err(|e| e.to_string())?;
                    }
                    out.push_text(&encode(&value, enc));
                }
                TplPiece::Var(n) => {
                    if let Some(w) = self.with.get(n).filter(|_| with_allowed) {
                        out.append(self.compile(w, enc, false)?);
                    } else if let Some(slot) = self.slots.get(n).or_else(|| self.per_user.get(n)) {
                        out.pieces.push(Piece::Slot(*slot, enc));
                    } else if let Some(v) = self.vars.get(n) {
                        out.push_text(&encode(v, enc));
                    } else {
                        return Err(format!("unknown variable `{n}`"));
                    }
                }
            }
        }
        Ok(out)
    }
}

const HOLE_START: char = '\u{E000}';
const HOLE_END: char = '\u{E001}';

/// A JSON body: strings rendered, serialised once, holes left where captured values go.
fn json_body(value: &Value, env: &Env<'_>) -> Result<Tpl, String> {
    let mut holes: Vec<Tpl> = Vec::new();
    let skeleton = fill_json(value, env, &mut holes)?;
    let text = skeleton.to_string();
    let mut out = Tpl::default();
    let private_use = || "the body contains the private-use character U+E000".to_string();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(HOLE_START) {
        out.push_text(&rest[..start]);
        let after = &rest[start + HOLE_START.len_utf8()..];
        let end = after.find(HOLE_END).ok_or_else(private_use)?;
        let index: usize = after[..end].parse().map_err(|_| private_use())?;
        let hole = holes.get(index).ok_or_else(private_use)?;
        out.append(hole.clone());
        rest = &after[end + HOLE_END.len_utf8()..];
    }
    out.push_text(rest);
    Ok(out)
}

fn fill_json(value: &Value, env: &Env<'_>, holes: &mut Vec<Tpl>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => {
            let t = env.compile(s, Enc::Json, true)?;
            match t.as_static() {
                // Static text was escaped for JSON by `compile`; serde escapes it itself.
                Some(_) => Value::String(
                    env.compile(s, Enc::Raw, true)?
                        .as_static()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                None => {
                    holes.push(t);
                    Value::String(format!("{HOLE_START}{}{HOLE_END}", holes.len() - 1))
                }
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_json(v, env, holes))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill_json(v, env, holes)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn text_tpl(s: &str) -> Tpl {
    let mut t = Tpl::default();
    t.push_text(s);
    t
}

fn goose_method(m: Method) -> Option<GooseMethod> {
    Some(match m {
        Method::Get => GooseMethod::Get,
        Method::Head => GooseMethod::Head,
        Method::Post => GooseMethod::Post,
        Method::Put => GooseMethod::Put,
        Method::Patch => GooseMethod::Patch,
        Method::Delete => GooseMethod::Delete,
        Method::Options => return None,
    })
}

fn form_encode(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

fn encode(s: &str, enc: Enc) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(s, enc, &mut out);
    out
}

fn encode_into(s: &str, enc: Enc, out: &mut String) {
    match enc {
        Enc::Raw => out.push_str(s),
        Enc::Query => out.push_str(&percent_encode(s)),
        Enc::Form => out.push_str(&form_encode(s)),
        Enc::Json => {
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{08}' => out.push_str("\\b"),
                    '\u{0c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
