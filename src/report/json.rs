//! The JSON report: the [`RunOutcome`] as is, plus the computed `summary` and `compatibility`.
//!
//! Its JSON Schema is published at `reports/schema/check-report.schema.json`; `format_version`
//! ([`crate::check::outcome::REPORT_FORMAT_VERSION`]) changes whenever a field changes meaning or
//! disappears (new fields may be added within a version only to the schema first).

use std::io::{self, Write};

use serde::Serialize;

use super::compat::{compatibility_table, CompatRow};
use super::summary::{summarize, Summary};
use crate::check::outcome::RunOutcome;

/// The JSON report document.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    #[serde(flatten)]
    pub run: &'a RunOutcome,
    pub summary: Summary,
    pub compatibility: Vec<CompatRow>,
}

impl<'a> JsonReport<'a> {
    pub fn new(run: &'a RunOutcome) -> JsonReport<'a> {
        JsonReport {
            run,
            summary: summarize(run),
            compatibility: compatibility_table(run),
        }
    }
}

/// Writes the JSON report (pretty-printed, one trailing newline).
pub fn write_json<W: Write>(mut w: W, run: &RunOutcome) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &JsonReport::new(run))?;
    w.write_all(b"\n")
}
