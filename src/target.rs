//! Where a run sends its requests: an outside API by base URL, or the built-in reference server of
//! each spec's dialect, started in-process on a free port.

use crate::server::{Fault, HashCost, Variant};

/// The target of a `check` or `load` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An API under test, by base URL (`http://` or `https://`, no trailing slash).
    Url(String),
    /// Per spec, a reference server of the spec's dialect started in-process on a free port.
    Embedded {
        faults: Vec<Fault>,
        hash_cost: HashCost,
        /// Conformant variants of the reference servers (`docs/dialects.md`).
        variants: Vec<Variant>,
    },
}

impl Target {
    /// The embedded reference servers without faults, at the low hash cost.
    pub fn embedded() -> Target {
        Target::Embedded {
            faults: Vec::new(),
            hash_cost: HashCost::Low,
            variants: Vec::new(),
        }
    }

    /// The base URL of an outside target.
    pub fn url(&self) -> Option<&str> {
        match self {
            Target::Url(u) => Some(u),
            Target::Embedded { .. } => None,
        }
    }

    /// The fault names of an embedded target (for reports).
    pub fn fault_names(&self) -> Vec<String> {
        match self {
            Target::Embedded { faults, .. } => {
                faults.iter().map(|f| f.as_str().to_owned()).collect()
            }
            Target::Url(_) => Vec::new(),
        }
    }
}
