//! Loading scenario files through the one document loader ([`crate::document`]): JSON, the
//! schema `scenarios/schema/scenario.schema.json`, the serde types of [`super::scenario`], then
//! the spec it names and the semantic checks of [`super::semantic`] — every error at
//! `file:line:column: /json/pointer: message`.

use std::path::{Path, PathBuf};

use super::scenario::{LoadedScenario, Scenario, DEFAULT_USERS, SCHEMA_TEXT};
use crate::document::{self, DocumentError, LazySchema, Schema, SourceMap};
use crate::spec::SpecError;

static SCHEMA: LazySchema = LazySchema::new(|| Schema::compile("scenario", SCHEMA_TEXT));

/// A scenario that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Problems of the scenario file itself (or a file that cannot be read or found).
    #[error("{}", join_lines(.0))]
    Document(Vec<DocumentError>),
    /// The spec it names does not load.
    #[error("scenario {path} names spec `{spec}`: {source}")]
    Spec {
        path: String,
        spec: String,
        source: Box<SpecError>,
    },
}

impl From<DocumentError> for ScenarioError {
    fn from(e: DocumentError) -> Self {
        ScenarioError::Document(vec![e])
    }
}

impl ScenarioError {
    /// Every problem, one line each.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ScenarioError::Document(errors) => errors.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn join_lines(errors: &[DocumentError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `*.json` files directly in `dir`, sorted.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    Ok(document::document_files(dir)?)
}

/// Finds a scenario by name (`DIR/NAME.json`, else the shipped scenario of that name) or as a path.
pub fn find_scenario(dir: &Path, name_or_file: &str) -> Result<document::Source, ScenarioError> {
    Ok(document::find_document(
        "scenario",
        name_or_file,
        dir,
        crate::builtin::SCENARIOS,
    )?)
}

/// Loads a scenario by name or path ([`find_scenario`]), and its spec found the same way in
/// `specs_dir`; a shipped one is shown as `builtin:scenarios/NAME.json`.
pub fn load_scenario_named(
    dir: &Path,
    name_or_file: &str,
    specs_dir: &Path,
) -> Result<LoadedScenario, ScenarioError> {
    let source = find_scenario(dir, name_or_file)?;
    load_scenario_bytes(&source.shown(), &source.read()?, specs_dir)
}

/// Loads a scenario file, its spec (from `specs_dir`), and checks both together.
pub fn load_scenario(path: &Path, specs_dir: &Path) -> Result<LoadedScenario, ScenarioError> {
    let bytes = document::read_file(path)?;
    load_scenario_bytes(path, &bytes, specs_dir)
}

/// [`load_scenario`] from text; `path` is only used in messages.
pub fn load_scenario_str(
    path: &Path,
    text: &str,
    specs_dir: &Path,
) -> Result<LoadedScenario, ScenarioError> {
    load_scenario_bytes(path, text.as_bytes(), specs_dir)
}

fn load_scenario_bytes(
    path: &Path,
    bytes: &[u8],
    specs_dir: &Path,
) -> Result<LoadedScenario, ScenarioError> {
    let doc = document::load::<Scenario>(path, bytes, &SCHEMA, |_, _| Vec::new())
        .map_err(ScenarioError::Document)?;
    let (scenario, source_map) = (doc.value, doc.source_map);
    let spec = crate::spec::load_spec_named(specs_dir, &scenario.spec)
        .map_err(|source| spec_error(path, &scenario.spec, &source_map, source))?;
    let loaded = LoadedScenario {
        scenario,
        path: path.to_owned(),
        source_map,
        spec,
    };
    let problems = super::semantic::check(&loaded);
    if !problems.is_empty() {
        let at = |pointer: &str| loaded.source_map.position(pointer).unwrap_or((1, 1));
        let mut errors: Vec<DocumentError> = problems
            .into_iter()
            .map(|(pointer, message)| DocumentError::invalid(path, at(&pointer), &pointer, message))
            .collect();
        errors = document::finish(errors);
        return Err(ScenarioError::Document(errors));
    }
    Ok(loaded)
}

/// A spec that cannot be found or loaded. A missing spec is located at `/spec` of the scenario.
fn spec_error(path: &Path, spec: &str, map: &SourceMap, source: SpecError) -> ScenarioError {
    match source {
        DocumentError::NotFound { known, dir, .. } => {
            ScenarioError::Document(vec![DocumentError::invalid(
                path,
                map.position("/spec").unwrap_or((1, 1)),
                "/spec",
                format!("no spec named `{spec}` in {dir} (known: {known})"),
            )])
        }
        source => ScenarioError::Spec {
            path: path.display().to_string(),
            spec: spec.to_owned(),
            source: Box::new(source),
        },
    }
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
    let run_time = if s.stages.is_empty() {
        s.run_time.map_or_else(
            || "no default run time".into(),
            |d| humantime::format_duration(d.0).to_string(),
        )
    } else {
        format!(
            "open model: {} stage{} over {}",
            s.stages.len(),
            plural(s.stages.len()),
            humantime::format_duration(s.stages_total())
        )
    };
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
        let problems = SCHEMA.problems(&serde_json::json!({}));
        assert!(
            problems.iter().all(|(_, m)| !m.contains("built-in")),
            "{problems:?}"
        );
    }

    #[test]
    fn syntax_and_schema_errors_are_located() {
        let dir = Path::new("specs");
        let err = load_scenario_str(Path::new("x.json"), "{\n  \"name\": 1,", dir).unwrap_err();
        let line = err.to_string();
        assert!(line.starts_with("x.json:2:"), "{line}");
        assert!(line.contains("invalid JSON"), "{line}");

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
}
