//! The scenario format (`scenarios/*.json`): plain serde types, and loading with
//! `file:line:column` errors, validation against `scenarios/schema/scenario.schema.json` and the
//! semantic checks of [`super::semantic`].
//!
//! A scenario names a spec and the flow of that spec's operations each simulated user runs. Keep
//! these types and the JSON Schema in step (a test checks every shipped scenario against both).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::spec::{LoadedSpec, SourceMap, SpecError, StatusExpect};

/// The published JSON Schema of scenario files.
pub const SCHEMA_TEXT: &str = include_str!("../../scenarios/schema/scenario.schema.json");

/// A load scenario as written in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Path of the JSON Schema, for editors (`schema/scenario.schema.json`).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unique name, also the file stem.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Name of the spec whose operations the flow calls.
    pub spec: String,
    /// Simulated users (default [`DEFAULT_USERS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<usize>,
    /// Users started per second (default: all within one second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hatch_rate: Option<f64>,
    /// Default length of a run, at most [`MAX_DEFAULT_RUN_TIME`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<HumanDuration>,
    /// Pause after each step that sets none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Request whose successful responses per second are the headline (default `login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// CI gates checked after every run, with those given on the command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
    /// Steps each user runs once before its first iteration (single-flow form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_start: Vec<FlowStep>,
    /// The steps each user runs again and again (single-flow form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<FlowStep>,
    /// Steps each user runs once when the run ends (single-flow form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_stop: Vec<FlowStep>,
    /// Several kinds of users, shared out by weight (instead of `flow`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Flow>,
}

/// Users of a scenario that sets none.
pub const DEFAULT_USERS: usize = 10;

/// The longest run a scenario file may ask for by default; longer runs need `--run-time`.
pub const MAX_DEFAULT_RUN_TIME: Duration = Duration::from_secs(60);

/// The longest pause a step may take.
pub const MAX_THINK_TIME: Duration = Duration::from_secs(60);

/// One kind of user: its own flow and a share of the users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Relative share of the users (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_start: Vec<FlowStep>,
    pub flow: Vec<FlowStep>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_stop: Vec<FlowStep>,
}

/// One step of a flow: an operation of the spec, called with overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    /// Name of the spec operation.
    pub call: String,
    /// Name of the request in metrics and thresholds (default: `call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Variable values for this step only (templated).
    #[serde(default, rename = "with", skip_serializing_if = "IndexMap::is_empty")]
    pub with: IndexMap<String, String>,
    /// Runs in a row per iteration (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: usize,
    /// Status that counts as success (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<StatusExpect>,
    /// Pause after this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
}

impl FlowStep {
    /// The request name of this step in metrics and thresholds.
    pub fn request_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.call)
    }
}

/// A pause: fixed, or uniformly random between `min` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThinkTime {
    Fixed(HumanDuration),
    Range {
        min: HumanDuration,
        max: HumanDuration,
    },
}

impl ThinkTime {
    /// `(min, max)`.
    pub fn bounds(self) -> (Duration, Duration) {
        match self {
            ThinkTime::Fixed(d) => (d.0, d.0),
            ThinkTime::Range { min, max } => (min.0, max.0),
        }
    }
}

/// A duration written like `250ms`, `30s` or `1m30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid duration `{text}`: {e} (write e.g. 250ms, 30s or 1m30s)"
                ))
            })
    }
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// One problem in a scenario file, located like a compiler error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// JSON pointer of the offending value (`/flow/1/call`).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(top level)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path, self.line, self.column, pointer, self.message
        )
    }
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no scenario named `{name}` in {dir} (known: {known})")]
    NotFound {
        name: String,
        dir: String,
        known: String,
    },
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("scenario {path} names spec `{spec}`: {source}")]
    Spec {
        path: String,
        spec: String,
        source: Box<SpecError>,
    },
}

impl ScenarioError {
    /// Every problem, one line each.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ScenarioError::Invalid(diags) => diags.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn join_lines(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A scenario as loaded and checked, with its spec.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// The path as given (shown in messages).
    pub path: PathBuf,
    pub source_map: SourceMap,
    pub spec: LoadedSpec,
}

impl LoadedScenario {
    /// The flows in one shape: the single-flow form becomes one flow named after the scenario.
    pub fn flows(&self) -> Vec<Flow> {
        normalized_flows(&self.scenario)
    }

    /// Every request name of the scenario, in first-use order.
    pub fn request_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for flow in self.flows() {
            for step in flow.on_start.iter().chain(&flow.flow).chain(&flow.on_stop) {
                let name = step.request_name();
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }

    /// The request whose successful responses per second are the headline, if any.
    pub fn headline(&self) -> Option<String> {
        match &self.scenario.headline {
            Some(h) => Some(h.clone()),
            None => self
                .request_names()
                .into_iter()
                .find(|n| n == DEFAULT_HEADLINE),
        }
    }
}

/// The request name used as the headline when a scenario names none.
pub const DEFAULT_HEADLINE: &str = "login";

/// The flows of a scenario in one shape.
pub(crate) fn normalized_flows(s: &Scenario) -> Vec<Flow> {
    if !s.flows.is_empty() {
        return s.flows.clone();
    }
    vec![Flow {
        name: s.name.clone(),
        description: s.description.clone(),
        weight: 1,
        on_start: s.on_start.clone(),
        flow: s.flow.clone(),
        on_stop: s.on_stop.clone(),
    }]
}

static SCHEMA: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let value: serde_json::Value = serde_json::from_str(SCHEMA_TEXT)
        .map_err(|e| format!("the scenario schema is not JSON: {e}"))?;
    jsonschema::validator_for(&value).map_err(|e| format!("the scenario schema is invalid: {e}"))
});

/// The `*.json` files directly in `dir`, sorted.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Finds a scenario by name (`drf-login-list-logout` → `DIR/drf-login-list-logout.json`) or as a path.
pub fn find_scenario(dir: &Path, name_or_file: &str) -> Result<PathBuf, ScenarioError> {
    let as_path = Path::new(name_or_file);
    if as_path.extension().is_some_and(|x| x == "json") || name_or_file.contains('/') {
        return Ok(as_path.to_owned());
    }
    let candidate = dir.join(format!("{name_or_file}.json"));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let known = scenario_files(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ScenarioError::NotFound {
        name: name_or_file.to_owned(),
        dir: dir.display().to_string(),
        known: if known.is_empty() {
            "none".into()
        } else {
            known
        },
    })
}

/// Loads a scenario file, its spec (from `specs_dir`), and checks both together.
pub fn load_scenario(path: &Path, specs_dir: &Path) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load_scenario_str(path, &text, specs_dir)
}

/// [`load_scenario`] from text; `path` is only used in messages.
pub fn load_scenario_str(
    path: &Path,
    text: &str,
    specs_dir: &Path,
) -> Result<LoadedScenario, ScenarioError> {
    let shown = path.display().to_string();
    let (scenario, source_map) = parse(&shown, text)?;
    let spec_path = crate::spec::find_spec(specs_dir, &scenario.spec)
        .map_err(|source| spec_error(&shown, &scenario.spec, &source_map, source))?;
    let spec = crate::spec::load_spec(&spec_path)
        .map_err(|source| spec_error(&shown, &scenario.spec, &source_map, source))?;
    let loaded = LoadedScenario {
        scenario,
        path: path.to_owned(),
        source_map,
        spec,
    };
    let problems = super::semantic::check(&loaded);
    if !problems.is_empty() {
        let mut diags: Vec<Diagnostic> = problems
            .into_iter()
            .map(|(pointer, message)| locate(&shown, &loaded.source_map, &pointer, message))
            .collect();
        diags.sort_by_key(|d| (d.line, d.column));
        return Err(ScenarioError::Invalid(diags));
    }
    Ok(loaded)
}

/// A spec that cannot be found or loaded. A missing spec is located at `/spec` of the scenario.
fn spec_error(shown: &str, spec: &str, map: &SourceMap, source: SpecError) -> ScenarioError {
    match source {
        SpecError::NotFound { known, dir, .. } => ScenarioError::Invalid(vec![locate(
            shown,
            map,
            "/spec",
            format!("no spec named `{spec}` in {dir} (known: {known})"),
        )]),
        source => ScenarioError::Spec {
            path: shown.to_owned(),
            spec: spec.to_owned(),
            source: Box::new(source),
        },
    }
}

fn locate(path: &str, map: &SourceMap, pointer: &str, message: String) -> Diagnostic {
    let (line, column) = map.position(pointer).unwrap_or((1, 1));
    Diagnostic {
        path: path.to_owned(),
        line,
        column,
        pointer: pointer.to_owned(),
        message,
    }
}

/// Parses the text: JSON syntax, then the JSON Schema (every violation), then the serde types.
fn parse(shown: &str, text: &str) -> Result<(Scenario, SourceMap), ScenarioError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ScenarioError::Invalid(vec![Diagnostic {
            path: shown.to_owned(),
            line: e.line(),
            column: e.column(),
            pointer: String::new(),
            message: format!("not valid JSON: {e}"),
        }])
    })?;
    let map = SourceMap::build(text);
    let validator = SCHEMA
        .as_ref()
        .map_err(|e| ScenarioError::Invalid(vec![locate(shown, &map, "", e.clone())]))?;
    let mut problems: Vec<Diagnostic> = validator
        .iter_errors(&value)
        .map(|e| {
            let pointer = e.instance_path().to_string();
            locate(shown, &map, &pointer, format!("{e}"))
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by_key(|d| (d.line, d.column));
        problems.dedup();
        return Err(ScenarioError::Invalid(problems));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
        let pointer = pointer_of(e.path());
        let inner = e.inner();
        ScenarioError::Invalid(vec![Diagnostic {
            path: shown.to_owned(),
            line: inner.line(),
            column: inner.column(),
            pointer,
            message: inner.to_string(),
        }])
    })?;
    Ok((scenario, map))
}

/// A serde path (`flow[0].call`) as a JSON pointer (`/flow/0/call`).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Checks one scenario file for `sessionspec lint`: `Ok` with a one-line summary, or every
/// problem, one line each (`file:line:col: pointer: message`). Specs are looked up in the
/// `specs/` folder beside the scenario's folder (`scenarios/../specs`), else in `./specs`.
pub fn lint_scenario_file(path: &Path) -> Result<String, Vec<String>> {
    let beside = path
        .parent()
        .and_then(Path::parent)
        .map(|root| root.join("specs"))
        .filter(|d| d.is_dir());
    let specs_dir = beside.unwrap_or_else(|| PathBuf::from("specs"));
    match load_scenario(path, &specs_dir) {
        Ok(loaded) => Ok(summary(&loaded)),
        Err(e) => Err(e.lines()),
    }
}

/// `scenario of drf-sessions: 2 flows, 5 steps, 10 users, 30s`.
fn summary(loaded: &LoadedScenario) -> String {
    let s = &loaded.scenario;
    let flows = loaded.flows();
    let steps: usize = flows
        .iter()
        .map(|f| f.on_start.len() + f.flow.len() + f.on_stop.len())
        .sum();
    let run_time = s
        .run_time
        .map(|d| humantime::format_duration(d.0).to_string())
        .unwrap_or_else(|| "no default run time".into());
    format!(
        "scenario of {}: {} flow{}, {} step{}, {} user{}, {}",
        s.spec,
        flows.len(),
        plural(flows.len()),
        steps,
        plural(steps),
        s.users.unwrap_or(DEFAULT_USERS),
        plural(s.users.unwrap_or(DEFAULT_USERS)),
        run_time
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_compiles() {
        assert!(SCHEMA.is_ok(), "{:?}", SCHEMA.as_ref().err());
    }

    #[test]
    fn syntax_and_schema_errors_are_located() {
        let dir = Path::new("specs");
        let err = load_scenario_str(Path::new("x.json"), "{\n  \"name\": 1,", dir).unwrap_err();
        let line = err.to_string();
        assert!(line.starts_with("x.json:2:"), "{line}");
        assert!(line.contains("not valid JSON"), "{line}");

        let text = "{\n  \"name\": \"a\",\n  \"spec\": \"b\",\n  \"flow\": [ {\"call\": \"login\", \"repeat\": 0} ]\n}";
        let err = load_scenario_str(Path::new("x.json"), text, dir).unwrap_err();
        let lines = err.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("x.json:4:"), "{lines:?}");
        assert!(lines[0].contains("/flow/0/repeat"), "{lines:?}");

        let text = "{\"name\": \"a\", \"spec\": \"b\"}";
        let err = load_scenario_str(Path::new("x.json"), text, dir).unwrap_err();
        assert!(err.to_string().contains("x.json:1:1"), "{err}");
    }

    #[test]
    fn durations_parse_and_print() {
        let step: FlowStep = serde_json::from_str(
            r#"{"call": "login", "think_time": {"min": "10ms", "max": "1s"}}"#,
        )
        .unwrap();
        assert_eq!(
            step.think_time.map(ThinkTime::bounds),
            Some((Duration::from_millis(10), Duration::from_secs(1)))
        );
        let bad = serde_json::from_str::<HumanDuration>(r#""soon""#).unwrap_err();
        assert!(bad.to_string().contains("invalid duration `soon`"), "{bad}");
        assert_eq!(
            serde_json::to_string(&HumanDuration(Duration::from_millis(1500))).unwrap(),
            r#""1s 500ms""#
        );
    }
}
