//! The spec format: plain serde data types.
//!
//! A spec file is JSON. Its JSON Schema is `specs/schema/spec.schema.json`; keep the two in step
//! (a test checks every shipped spec against both). See `docs/spec-format.md` for the prose.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One documented session API: its variables, request templates and conformance cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Path of the JSON Schema, for editors (`schema/spec.schema.json`).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Unique name, also the file stem (`rails-jwt`).
    pub name: String,
    /// Human title of the documented API.
    pub title: String,
    /// The source document this spec encodes (a file of the seeds).
    pub source: String,
    /// Reference-server dialect that implements this spec; defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// Free text describing the API.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How each ambiguity or contradiction in the source document was resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// Variables usable as `{{name}}` in operations and steps.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub variables: IndexMap<String, Variable>,
    /// Headers sent with every operation unless the operation or step overrides them.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Request templates, by name.
    pub operations: IndexMap<String, Operation>,
    /// Conformance cases, run in this order in reports.
    pub cases: Vec<Case>,
}

impl Spec {
    /// The reference-server dialect of this spec.
    pub fn dialect(&self) -> &str {
        self.dialect.as_deref().unwrap_or(&self.name)
    }
}

/// How one ambiguity of the source document was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// What the document leaves open or contradicts.
    pub topic: String,
    /// What this spec (and the reference server) does about it, and why.
    pub resolution: String,
    /// Ids of the cases that test the resolution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<String>,
}

/// A spec variable. Its value is, first found: `--var NAME=VALUE`, the environment variable `env`, `default`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Environment variable that overrides the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Redact the value everywhere (terminal, reports, curl lines, snapshots).
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// HTTP methods a spec can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub method: Method,
    /// Path below the target URL, with `{{templating}}` (`/v1/sessions/{{session_id}}`).
    pub path: String,
    /// The documented request this operation encodes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
    /// Query parameters (templated values).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, String>,
    /// Request headers (templated values); they replace the spec-wide `headers` of the same name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Values taken from the response for later steps, by variable name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capture: IndexMap<String, Capture>,
}

/// A request body. Every string inside is templated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// `application/json` (unless a Content-Type header says otherwise).
    Json(Value),
    /// `application/vnd.api+json`.
    Jsonapi(Value),
    /// `application/x-www-form-urlencoded`, fields in order.
    Form(IndexMap<String, String>),
    /// Bytes sent as they are (for malformed-body cases); set Content-Type in `headers`.
    Raw(String),
    /// No body at all (to remove the operation's body in a step).
    Empty(bool),
}

impl Body {
    /// The Content-Type this body implies, if any.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Json(_) => Some("application/json"),
            Body::Jsonapi(_) => Some("application/vnd.api+json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Raw(_) | Body::Empty(_) => None,
        }
    }
}

/// Where a captured value comes from: exactly one of `json`, `jsonpath`, `header`, `cookie`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// JSON pointer into the response body (`/data/id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// JSONPath query (RFC 9535) into the response body, templated before it is parsed; the first
    /// node it selects is captured (`$[?@.device == '{{device}}'].id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonpath: Option<String>,
    /// Response header name (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Cookie name in `Set-Cookie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// A claim of a JWT's payload, decoded without verifying the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_claim: Option<JwtClaim>,
    /// Redact the captured value everywhere.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
    /// The value may be absent: finding nothing is not a failure even when a later step uses it
    /// (that step then cannot be built, an error, unless a `when` skips it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// A claim of a JWT taken from exactly one of: a value captured so far (`from`), a JSON pointer of
/// this response's body (`json`), or a header of this response (`header`; a `Bearer ` prefix is
/// dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The claim's name in the payload (`user_id`, `exp`).
    pub claim: String,
}

impl JwtClaim {
    /// How many token sources are given (exactly one is valid).
    pub fn source_count(&self) -> usize {
        [&self.from, &self.json, &self.header]
            .iter()
            .filter(|v| v.is_some())
            .count()
    }
}

/// The source of a [`Capture`], once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureSource<'a> {
    Json(&'a str),
    JsonPath(&'a str),
    Header(&'a str),
    Cookie(&'a str),
    JwtClaim(&'a JwtClaim),
}

impl Capture {
    /// Whether the body is read (a `json` or `jsonpath` capture).
    pub fn reads_body(&self) -> bool {
        self.json.is_some()
            || self.jsonpath.is_some()
            || self.jwt_claim.as_ref().is_some_and(|j| j.json.is_some())
    }

    /// The one source this capture names; `None` if it names zero or several (a load error).
    pub fn source(&self) -> Option<CaptureSource<'_>> {
        let sources = [
            self.json.as_deref().map(CaptureSource::Json),
            self.jsonpath.as_deref().map(CaptureSource::JsonPath),
            self.header.as_deref().map(CaptureSource::Header),
            self.cookie.as_deref().map(CaptureSource::Cookie),
            self.jwt_claim.as_ref().map(CaptureSource::JwtClaim),
        ];
        let mut given = sources.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

/// `must`: what the source document states (fails CI). `should`: what RFC 9110, JSON:API, RFC 6750
/// or OWASP add (fails CI only with `--strict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
        }
    }
}

/// A conformance case: steps run in order against one fresh set of captures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique within the spec, kebab-case.
    pub id: String,
    /// One line saying what the case proves.
    pub title: String,
    pub level: Level,
    /// The documented example or normative rule this case encodes
    /// (`002 "when user details are incorrect"`, `RFC 9110 §13.1.1`).
    pub doc: String,
    /// The rule cited in failure messages, when it is not the document itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Grouping: `lifecycle`, `conditional`, `negotiation`, `hygiene`, `auth`, `validation`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Variable values for every step of the case (templated); a step's own `with` wins.
    #[serde(default, rename = "with", skip_serializing_if = "IndexMap::is_empty")]
    pub with: IndexMap<String, String>,
    /// Headers added to, replaced in or (`null`) removed from every step's request; a step's own
    /// `headers` win.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Option<String>>,
    pub steps: Vec<Step>,
}

/// The longest `wait` step.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Case {
    /// Step `j` as it runs: the case's `with` and `headers` under the step's own (the step's value
    /// of a name wins; header names compare case-insensitively).
    pub fn effective_step(&self, j: usize) -> std::borrow::Cow<'_, Step> {
        let step = &self.steps[j];
        if self.with.is_empty() && self.headers.is_empty() {
            return std::borrow::Cow::Borrowed(step);
        }
        let mut out = step.clone();
        let mut with: IndexMap<String, String> = self
            .with
            .iter()
            .filter(|(k, _)| !step.with.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        with.extend(step.with.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.with = with;
        let mut headers: IndexMap<String, Option<String>> = self
            .headers
            .iter()
            .filter(|(k, _)| !step.headers.keys().any(|h| h.eq_ignore_ascii_case(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        headers.extend(step.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.headers = headers;
        std::borrow::Cow::Owned(out)
    }
}

/// One request of a case: an operation called with overrides, and what its response must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Name of the operation to call (empty for a `wait` step).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub call: String,
    /// A pause instead of a request (`"1500ms"`, `"1s"`; at most [`MAX_WAIT`]), e.g. for a
    /// validator that changes after a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// Name of this step, for `same_as` in later steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Variable values for this step only (templated).
    #[serde(default, rename = "with", skip_serializing_if = "IndexMap::is_empty")]
    pub with: IndexMap<String, String>,
    /// Headers to add or replace (templated); `null` removes a header.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Option<String>>,
    /// Replaces the operation's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Extra captures for this step.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capture: IndexMap<String, Capture>,
    /// Run the step only when this holds; otherwise it is skipped, with the reason shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(default, skip_serializing_if = "Expect::is_empty")]
    pub expect: Expect,
}

impl Step {
    /// How long a `wait` step waits; `None` for a request step, `Err` when the text is no
    /// duration (a load error).
    pub fn wait_duration(&self) -> Option<Result<std::time::Duration, String>> {
        self.wait
            .as_deref()
            .map(|w| humantime::parse_duration(w.trim()).map_err(|e| e.to_string()))
    }
}

/// A condition on the values captured so far; exactly one of the tests is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// True when this capture has a value (an earlier step found it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<String>,
    /// True when this capture has no value (no earlier step found it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_captured: Option<String>,
    /// True when this capture is a strong entity-tag (`"…"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strong_etag: Option<String>,
    /// True when this capture is a weak entity-tag (`W/"…"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak_etag: Option<String>,
    /// Why the step is skipped when the condition is false (shown in every report).
    pub reason: String,
    /// When false, skip the rest of the case too, not only this step.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rest: bool,
}

impl When {
    /// The capture the condition is about, and the test's name.
    pub fn test(&self) -> Option<(&'static str, &str)> {
        [
            ("captured", &self.captured),
            ("not_captured", &self.not_captured),
            ("strong_etag", &self.strong_etag),
            ("weak_etag", &self.weak_etag),
        ]
        .into_iter()
        .find_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// How many tests are given (exactly one is valid).
    pub fn test_count(&self) -> usize {
        [
            &self.captured,
            &self.not_captured,
            &self.strong_etag,
            &self.weak_etag,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count()
    }

    /// Whether the condition holds, given the capture's value (`None`: not captured).
    pub fn holds(&self, value: Option<&str>) -> bool {
        let tag = value.map(str::trim);
        match self.test().map(|(k, _)| k) {
            Some("captured") => value.is_some(),
            Some("not_captured") => value.is_none(),
            Some("strong_etag") => {
                tag.is_some_and(|t| t.starts_with('"') && t.ends_with('"') && t.len() >= 2)
            }
            Some("weak_etag") => {
                tag.is_some_and(|t| t.starts_with("W/\"") && t.ends_with('"') && t.len() >= 4)
            }
            _ => false,
        }
    }
}

/// What a response must show. Every given part is checked; all must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusExpect>,
    /// Header rules by name (case-insensitive).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, HeaderExpect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyExpect>,
    /// Rules on values captured so far (after this step's captures).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub captured: IndexMap<String, ValueExpect>,
    /// This response must equal an earlier step's response in the listed parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<SameAs>,
    /// Documented alternatives: the step passes when every other part holds and all of at least
    /// one alternative does (an alternative has no `any_of` of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<Expect>,
    // ---- session security (issue 15; `super::security`) ----
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_forgery: Option<JwtForgery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_entropy: Option<TokenEntropy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_same_as: Option<TimingSameAs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Expiry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixation: Option<Fixation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout: Option<Lockout>,
}

impl Expect {
    /// Whether nothing is expected.
    pub fn is_empty(&self) -> bool {
        *self == Expect::default()
    }
}

/// One status, or any of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusExpect {
    One(u16),
    AnyOf(Vec<u16>),
}

impl StatusExpect {
    pub fn allows(&self, status: u16) -> bool {
        match self {
            StatusExpect::One(s) => *s == status,
            StatusExpect::AnyOf(v) => v.contains(&status),
        }
    }
}

/// A header rule: a plain string means `equals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeaderExpect {
    Equals(String),
    Rule(HeaderRule),
}

/// Every given field must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    /// Exact value (templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Regular expression the value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// `true`: the header is present; `false`: it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// Comma-separated list header containing each of these elements (case-insensitive), e.g.
    /// `Cache-Control` containing `no-store`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
    /// Media type whose type/subtype equals this (case-insensitive); for `application/vnd.api+json`
    /// only the `ext` and `profile` parameters are allowed (JSON:API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Entity-tag syntax (RFC 9110 §8.8.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<EtagKind>,
    /// An HTTP-date (IMF-fixdate, RFC 9110 §5.6.7).
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_date: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EtagKind {
    Strong,
    Weak,
    Any,
}

/// Body rules; every given field must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyExpect {
    /// `true`: no content (204/304); `false`: some content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<bool>,
    /// JSON Schema (draft 2020-12) the JSON body must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// The JSON body equals this exactly (strings templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The JSON body contains this: objects by subset, arrays element-wise (strings templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Value>,
    /// A JSON:API document of this kind (top-level rules of JSON:API 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonapi: Option<JsonApiKind>,
    /// A JWT found at a JSON pointer of the body, decoded (signature not verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtExpect>,
    /// The body as text (UTF-8): equal to a templated string, or matching a regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextExpect>,
    /// The body's bytes exactly, written in the spec as base64 or hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<BytesExpect>,
}

/// Rules on a body read as text; every given field must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextExpect {
    /// The whole body equals this text (templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// A regular expression (not templated) the body matches somewhere (anchor it with `^…$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// The exact bytes of a body: exactly one of `base64` (RFC 4648 §4, padding optional) or `hex`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BytesExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

impl BytesExpect {
    /// The bytes written, or why they cannot be read (not exactly one encoding, bad digits).
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        match (&self.base64, &self.hex) {
            (Some(b), None) => {
                let compact: String = b.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(compact.trim_end_matches('='))
                    .map_err(|e| format!("not base64 (RFC 4648 §4): {e}"))
            }
            (None, Some(h)) => {
                let digits: Vec<u8> = h
                    .bytes()
                    .filter(|b| !b.is_ascii_whitespace() && *b != b':')
                    .collect();
                if digits.len() % 2 != 0 {
                    return Err(format!("an odd number of hex digits ({})", digits.len()));
                }
                digits
                    .chunks(2)
                    .map(|pair| {
                        std::str::from_utf8(pair)
                            .ok()
                            .and_then(|p| u8::from_str_radix(p, 16).ok())
                            .ok_or_else(|| {
                                format!("`{}` is not a hex byte", String::from_utf8_lossy(pair))
                            })
                    })
                    .collect()
            }
            _ => Err("give exactly one of `base64` or `hex`".to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonApiKind {
    /// Top level has `data` (and no `errors`).
    Data,
    /// Top level has `errors`: an array of error objects with string `status`/`code`.
    Errors,
    /// Any valid top level (`data`, `errors` or `meta`).
    Any,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtExpect {
    /// JSON pointer of the token in the body (`/auth_token`).
    pub pointer: String,
    /// Required `alg` of the JOSE header (`HS256`), or the list of those allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<AlgExpect>,
    /// Claims that must be present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
    /// `exp` must be in the future.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unexpired: bool,
}

/// A rule on a captured value. Values are templated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// Compare this response with an earlier named step's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SameAs {
    /// `name` of an earlier step of the same case.
    pub step: String,
    /// Parts to compare: `status`, `body`, or `header:NAME`.
    pub compare: Vec<String>,
}

// ---- session security (issue 15): the attacks of a step, `docs/spec-format.md` "Session security";
// run by `src/check/attack.rs`, judged by `src/check/checks/security.rs` ----

/// Bounds of the counts a spec may ask for (also in the JSON Schema).
pub const MAX_LOGINS: u32 = 100;
pub const MAX_SAMPLES: u32 = 200;
pub const MAX_ATTEMPTS: u32 = 200;
/// Longest wait of an `expiry` case, in seconds.
pub const MAX_WAIT_SECS: u64 = 10;

impl Expect {
    /// Whether the step asks for any security attack (they run after its own checks held).
    pub fn has_attack(&self) -> bool {
        self.jwt_forgery.is_some()
            || self.token_entropy.is_some()
            || self.timing_same_as.is_some()
            || self.expiry.is_some()
            || self.fixation.is_some()
            || self.lockout.is_some()
    }
}

/// The allowed `alg` of a JWT: one, or any of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AlgExpect {
    One(String),
    AnyOf(Vec<String>),
}

impl AlgExpect {
    /// Whether `alg` is allowed (exact, case-sensitive: RFC 7515 §4.1.1).
    pub fn allows(&self, alg: &str) -> bool {
        match self {
            AlgExpect::One(a) => a == alg,
            AlgExpect::AnyOf(all) => all.iter().any(|a| a == alg),
        }
    }
}

impl std::fmt::Display for AlgExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlgExpect::One(a) => write!(f, "alg `{a}`"),
            AlgExpect::AnyOf(all) => {
                let shown: Vec<String> = all.iter().map(|a| format!("`{a}`")).collect();
                write!(f, "alg one of {}", shown.join(", "))
            }
        }
    }
}

/// `jwt_forgery`: the step's request is sent again with the JWT `token` (a capture or variable
/// the request uses) replaced by forgeries of it; each must be refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtForgery {
    /// The name of the value holding the JWT (`access`).
    pub token: String,
    /// The target's public key as text (PEM, templated: `{{jwt_public_key}}`). When the token's
    /// header names an asymmetric algorithm (RS*, PS*, ES*, EdDSA), one more forgery is HS256
    /// signed with this text as the secret (algorithm confusion); empty or absent, that forgery
    /// cannot be tried and the case is skipped with the reason once the others held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The statuses that count as refused (default 401 or 403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<StatusExpect>,
}

/// `token_entropy`: the step's request (a login) is sent `logins` times in all; the capture
/// `token` of each answer is collected and judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntropy {
    /// A capture of this step (the operation's or the step's own).
    pub token: String,
    /// How many logins in all (this step's included); default 20, at most [`MAX_LOGINS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logins: Option<u32>,
    /// The least estimated random bits per token; default 128 (ASVS 5.0 V7.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bits: Option<u32>,
}

/// `timing_same_as`: the requests of the earlier named step and of this one are sent
/// alternately, `samples` times each, and their latencies compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingSameAs {
    /// `name` of an earlier step of the case (the wrong-password login).
    pub step: String,
    /// Samples of each request; default 25, at least 5, at most [`MAX_SAMPLES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
    /// The smallest difference of the medians that counts, in milliseconds (default 0.05); the
    /// difference must also be at least `min_ratio` of the faster median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_difference_ms: Option<f64>,
    /// Default 0.25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ratio: Option<f64>,
    /// Significance level of the Mann–Whitney U test (default 0.001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

/// `expiry`: after the token's lifetime the step's request is sent again and must be refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expiry {
    /// The name of the value holding the token the request uses.
    pub token: String,
    /// When the token expires (templated): an RFC 3339 time or Unix seconds. Without it (and
    /// without `lifetime`) the token must be a JWT with `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// How long the token lives from this step (templated duration, `2s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<String>,
    /// The longest the case may wait (a duration, at most 10 s; default 10 s); a longer lifetime
    /// skips the case with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait: Option<String>,
    /// The statuses that count as refused (default 401 or 403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<StatusExpect>,
}

/// `fixation` (cookie sessions): the step's login is sent again carrying a session cookie the
/// attacker chose; the answer must set a session cookie of another value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixation {
    /// The session cookie's name.
    pub cookie: String,
}

/// `lockout` (intrusive): the step's login is sent `attempts` times with the `wrong` values,
/// then once as written; throttling must show (429, 423, 503 with `Retry-After`, or a slowdown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockout {
    /// Variable values of the failing attempts (templated): `{"password": "wrong"}`.
    pub wrong: IndexMap<String, String>,
    /// How many failing attempts at most (default 50, at most [`MAX_ATTEMPTS`]); they stop at the
    /// first throttled answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
