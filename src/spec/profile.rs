//! Target profiles: a small JSON file that adapts one spec to one target without copying it —
//! operations' fields replaced, variables set or added, headers sent with every request, cases
//! marked "does not apply here, because …". Loaded through the one document loader
//! ([`crate::document`]) against `specs/schema/profile.schema.json`; every error is located in
//! the profile file.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::model::{Operation, Spec, Variable};
use super::validate::validate;
use super::LoadedSpec;
use crate::document::text::did_you_mean;
use crate::document::{self, DocumentError, LazySchema, Schema, SourceMap};

/// The profile format's JSON Schema, as shipped in `specs/schema/profile.schema.json`.
pub const PROFILE_SCHEMA: &str = include_str!("../../specs/schema/profile.schema.json");

static SCHEMA: LazySchema = LazySchema::new(|| Schema::compile("profile", PROFILE_SCHEMA));

/// A profile as written in its file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(rename = "$schema", default)]
    pub schema: Option<String>,
    /// The spec it adapts (a name, or a path).
    pub spec: String,
    #[serde(default)]
    pub description: String,
    /// The target's base URL (`--target` wins over it).
    #[serde(default)]
    pub target: Option<String>,
    /// Values of the spec's variables, or new variables (`--var` wins over them).
    #[serde(default)]
    pub variables: IndexMap<String, ProfileVariable>,
    /// Headers sent with every request unless the operation or the step sets the same one.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Per operation, the fields that replace the spec's (`path`, `method`, `query`, `headers`,
    /// `body`, `capture`).
    #[serde(default)]
    pub operations: IndexMap<String, serde_json::Map<String, Value>>,
    /// Per case id, how it applies to this target.
    #[serde(default)]
    pub cases: IndexMap<String, CaseProfile>,
}

/// A variable's value, or a whole variable (to mark it secret or read it from the environment).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ProfileVariable {
    Value(String),
    Full(Variable),
}

/// How one case applies to the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseProfile {
    /// The case is not run here, for this reason; reported as skipped with it, never a pass.
    pub skip: String,
}

/// A profile applied to its spec: what it changed, for the report header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliedProfile {
    /// The profile file as given.
    pub path: String,
    /// The spec it adapted.
    pub spec: String,
    /// The target it names, if any.
    pub target: Option<String>,
    /// One line per override (`operation user_login: path, body`, `variable email`, ...).
    pub overrides: Vec<String>,
    /// Cases not run, by id, with the reason.
    pub skips: IndexMap<String, String>,
}

/// Loads a profile file.
pub fn load_profile(path: &Path) -> Result<(Profile, SourceMap), Vec<DocumentError>> {
    let bytes = document::read_file(path).map_err(|e| vec![e])?;
    load_profile_bytes(path, &bytes)
}

/// Loads a profile from bytes; `path` is only used in messages.
pub fn load_profile_bytes(
    path: &Path,
    bytes: &[u8],
) -> Result<(Profile, SourceMap), Vec<DocumentError>> {
    let doc = document::load::<Profile>(path, bytes, &SCHEMA, |_, _| Vec::new())?;
    Ok((doc.value, doc.source_map))
}

/// Applies `profile` (loaded from `path`, positions in `map`) to `loaded`: the adapted spec, and
/// what changed. Names the profile gets wrong (an operation or case the spec lacks, a field an
/// operation cannot have) are errors located in the profile, with "did you mean".
pub fn apply(
    profile: &Profile,
    path: &Path,
    map: &SourceMap,
    loaded: &LoadedSpec,
) -> Result<(LoadedSpec, AppliedProfile), Vec<DocumentError>> {
    let at = |pointer: &str| map.position(pointer).unwrap_or((1, 1));
    let error = |pointer: String, message: String| {
        DocumentError::invalid(path, at(&pointer), &pointer, message)
    };
    let mut spec: Spec = loaded.spec.clone();
    let mut errors = Vec::new();
    let mut applied = AppliedProfile {
        path: path.display().to_string(),
        spec: spec.name.clone(),
        target: profile.target.clone(),
        ..AppliedProfile::default()
    };

    for (name, fields) in &profile.operations {
        let pointer = format!("/operations/{}", document::source_map::escape(name));
        let Some(op) = spec.operations.get_mut(name) else {
            let hint = did_you_mean(name, loaded.spec.operations.keys().map(String::as_str));
            errors.push(error(
                pointer,
                format!(
                    "spec `{}` has no operation `{name}`{hint}",
                    loaded.spec.name
                ),
            ));
            continue;
        };
        let mut value = match serde_json::to_value(&*op) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (field, v) in fields {
            value.insert(field.clone(), v.clone());
        }
        match serde_path_to_error::deserialize::<_, Operation>(Value::Object(value)) {
            Ok(new) => *op = new,
            Err(e) => {
                let inner = e.path().to_string();
                let at = if inner == "." {
                    pointer.clone()
                } else {
                    format!("{pointer}/{}", inner.replace('.', "/"))
                };
                errors.push(error(at, e.inner().to_string()));
                continue;
            }
        }
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        applied
            .overrides
            .push(format!("operation `{name}`: {}", names.join(", ")));
    }

    for (name, var) in &profile.variables {
        let known = spec.variables.contains_key(name);
        let entry = spec.variables.entry(name.clone()).or_default();
        match var {
            ProfileVariable::Value(v) => entry.default = Some(v.clone()),
            ProfileVariable::Full(full) => *entry = full.clone(),
        }
        applied.overrides.push(if known {
            format!("variable `{name}`")
        } else {
            format!("variable `{name}` (new)")
        });
    }

    for (name, value) in &profile.headers {
        spec.headers.insert(name.clone(), value.clone());
        applied
            .overrides
            .push(format!("header `{name}` on every request"));
    }

    for (id, case) in &profile.cases {
        if spec.cases.iter().any(|c| &c.id == id) {
            applied.skips.insert(id.clone(), case.skip.clone());
            applied
                .overrides
                .push(format!("case `{id}` skipped: {}", case.skip));
        } else {
            let hint = did_you_mean(id, loaded.spec.cases.iter().map(|c| c.id.as_str()));
            errors.push(error(
                format!("/cases/{}", document::source_map::escape(id)),
                format!("spec `{}` has no case `{id}`{hint}", loaded.spec.name),
            ));
        }
    }

    if errors.is_empty() {
        // The adapted spec must still hold together (e.g. a new path's `{{names}}` exist).
        for p in validate(&spec) {
            errors.push(error(
                String::new(),
                format!(
                    "with this profile, spec `{}` is invalid at {}: {}",
                    spec.name, p.pointer, p.message
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(document::finish(errors));
    }
    Ok((
        LoadedSpec {
            spec,
            path: loaded.path.clone(),
            source_map: loaded.source_map.clone(),
        },
        applied,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rails() -> LoadedSpec {
        super::super::load_spec(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/specs/rails-jwt.json"
        )))
        .unwrap()
    }

    fn profile(text: &str) -> (Profile, SourceMap) {
        load_profile_bytes(Path::new("p.json"), text.as_bytes()).unwrap()
    }

    #[test]
    fn overrides_replace_fields_add_variables_and_skip_cases() {
        let (p, map) = profile(
            r#"{"spec": "rails-jwt",
                "variables": {"email": "qa@example.com", "account_id": "7"},
                "headers": {"User-Agent": "sessionspec-qa"},
                "operations": {"login": {"path": "/auth/{{account_id}}/login"}},
                "cases": {"login-no-store": {"skip": "a CDN adds its own Cache-Control"}}}"#,
        );
        let (spec, applied) = apply(&p, Path::new("p.json"), &map, &rails()).unwrap();
        let login = &spec.spec.operations["login"];
        assert_eq!(login.path, "/auth/{{account_id}}/login");
        assert_eq!(
            login.method,
            rails().spec.operations["login"].method,
            "fields not given are kept"
        );
        assert_eq!(
            spec.spec.variables["email"].default.as_deref(),
            Some("qa@example.com")
        );
        assert!(spec.spec.variables["password"].secret, "kept");
        assert_eq!(spec.spec.headers["User-Agent"], "sessionspec-qa");
        assert_eq!(
            applied.skips.get("login-no-store").map(String::as_str),
            Some("a CDN adds its own Cache-Control")
        );
        assert!(applied
            .overrides
            .contains(&"variable `account_id` (new)".to_owned()));
        assert!(applied
            .overrides
            .contains(&"operation `login`: path".to_owned()));
    }

    #[test]
    fn wrong_names_are_located_with_did_you_mean() {
        let text = "{\"spec\": \"rails-jwt\",\n \"operations\": {\"logn\": {\"path\": \"/x\"}},\n \"cases\": {\"login-okk\": {\"skip\": \"x\"}}}";
        let (p, map) = profile(text);
        let errors = apply(&p, Path::new("p.json"), &map, &rails()).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("p.json:2:") && lines[0].contains("did you mean `login`"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("p.json:3:") && lines[1].contains("did you mean `login-ok`"),
            "{lines:?}"
        );

        let (p, map) =
            profile(r#"{"spec": "rails-jwt", "operations": {"login": {"path": "/{{nope}}"}}}"#);
        let errors = apply(&p, Path::new("p.json"), &map, &rails()).unwrap_err();
        assert!(errors[0].to_string().contains("nope"), "{}", errors[0]);

        let errors = load_profile_bytes(
            Path::new("p.json"),
            br#"{"spec": "rails-jwt", "operations": {"login": {"verb": "GET"}}}"#,
        )
        .unwrap_err();
        assert!(
            errors[0].to_string().contains("/operations/login/verb"),
            "{}",
            errors[0]
        );
        let (p, map) =
            profile(r#"{"spec": "rails-jwt", "operations": {"login": {"method": "FETCH"}}}"#);
        let errors = apply(&p, Path::new("p.json"), &map, &rails()).unwrap_err();
        assert!(
            errors[0].to_string().contains("/operations/login"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn the_schema_refuses_unknown_members() {
        let errors =
            load_profile_bytes(Path::new("p.json"), br#"{"spec": "x", "targt": "y"}"#).unwrap_err();
        assert!(errors[0].to_string().contains("targt"), "{}", errors[0]);
    }
}
