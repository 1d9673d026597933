//! The scenario format (`scenarios/*.json`): plain serde types (loading is [`super::loader`]).
//!
//! A scenario names a spec and the flow of that spec's operations each simulated user runs. Keep
//! these types and the JSON Schema in step (a test checks every shipped scenario against both).

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::spec::{LoadedSpec, SourceMap, StatusExpect};

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
    /// Open model (k6's `ramping-arrival-rate`): the arrival rate goes linearly from the previous
    /// stage's target (the first from `start_rate`) to each stage's target over its duration;
    /// the users are the pool serving the arrivals and the stages bound the run. `--rate`
    /// overrides them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<RateStage>,
    /// The rate the first stage starts from (default 0/s, as k6's `startRate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_rate: Option<PerSecond>,
}

/// One stage of a scenario's arrival rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStage {
    pub duration: HumanDuration,
    /// Arrival rate at the stage's end.
    pub target: PerSecond,
}

/// An arrival rate written `100/s` or `100`, per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerSecond(pub f64);

impl Serialize for PerSecond {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/s", self.0))
    }
}

impl<'de> Deserialize<'de> for PerSecond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(f64),
            Text(String),
        }
        let bad = |t: &str| {
            serde::de::Error::custom(format!(
                "`{t}` is not an arrival rate such as 100/s (0 or more per second)"
            ))
        };
        let v = match Written::deserialize(d)? {
            Written::Number(n) => n,
            Written::Text(t) => {
                let n = t.trim();
                let n = n.strip_suffix("/s").unwrap_or(n).trim();
                n.parse::<f64>().map_err(|_| bad(&t))?
            }
        };
        if v.is_finite() && v >= 0.0 {
            Ok(PerSecond(v))
        } else {
            Err(bad(&v.to_string()))
        }
    }
}

impl Scenario {
    /// The open model's schedule of the `stages`, as the runner takes it (empty without stages).
    pub fn arrival_stages(&self) -> Vec<super::arrival::Stage> {
        let mut from = self.start_rate.map_or(0.0, |r| r.0);
        self.stages
            .iter()
            .map(|s| {
                let stage = super::arrival::Stage {
                    duration_s: s.duration.0.as_secs_f64(),
                    from_per_s: from,
                    to_per_s: s.target.0,
                };
                from = s.target.0;
                stage
            })
            .collect()
    }

    /// How long the stages last together.
    pub fn stages_total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration.0).sum()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
