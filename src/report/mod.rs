//! Report writers for `sessionspec check`: terminal, JSON, JUnit XML, Markdown and HTML.
//!
//! Every writer is a pure function of one [`RunOutcome`] (already redacted) into any `W: Write`;
//! files are written atomically ([`write_atomic`]).

mod atomic;
pub mod compat;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod summary;
pub mod terminal;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use atomic::write_atomic;
pub use compat::{compatibility_table, CompatRow, CompatVerdict};
pub use html::write_html;
pub use json::{write_json, JsonReport};
pub use junit::write_junit;
pub use markdown::write_markdown;
pub use summary::{summarize, Counts, SpecSummary, Summary, Verdict};
pub use terminal::{write_terminal, TerminalOptions};

use crate::check::outcome::RunOutcome;

/// What `--report` accepts, for messages.
pub const VALID_FORMATS: &str = "json, junit, markdown, html";

/// Why a report could not be chosen or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown report format `{given}`: expected one of {VALID_FORMATS}, optionally followed by `:PATH` (e.g. `junit:out/check.xml`)")]
    UnknownFormat { given: String },
    #[error("`--report {format}:` has an empty path: give one after the colon, or write `--report {format}` for `{}`", format.default_path().display())]
    EmptyReportPath { format: ReportFormat },
    #[error("a report path must not be empty")]
    EmptyPath,
    #[error("cannot create the report directory `{}`: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },
    #[error("cannot write the report `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    Json,
    Junit,
    Markdown,
    Html,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Markdown,
        ReportFormat::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Junit => "junit",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Html => "html",
        }
    }

    /// Where the report goes when `--report FORMAT` has no path.
    pub fn default_path(self) -> PathBuf {
        PathBuf::from(match self {
            ReportFormat::Json => "reports/check.json",
            ReportFormat::Junit => "reports/check.junit.xml",
            ReportFormat::Markdown => "reports/check.md",
            ReportFormat::Html => "reports/check.html",
        })
    }

    /// Writes this format of the report of `run` into `w`.
    pub fn write<W: Write>(self, w: W, run: &RunOutcome) -> io::Result<()> {
        match self {
            ReportFormat::Json => write_json(w, run),
            ReportFormat::Junit => write_junit(w, run),
            ReportFormat::Markdown => write_markdown(w, run),
            ReportFormat::Html => write_html(w, run),
        }
    }
}

impl std::fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportFormat {
    type Err = ReportError;

    /// `json`, `junit` (or `xml`), `markdown` (or `md`), `html`; case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(ReportFormat::Json),
            "junit" | "xml" => Ok(ReportFormat::Junit),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "html" => Ok(ReportFormat::Html),
            _ => Err(ReportError::UnknownFormat {
                given: s.to_owned(),
            }),
        }
    }
}

/// Parses `--report FORMAT[:PATH]`; without a path, the format's default under `reports/`.
pub fn parse_report_arg(s: &str) -> Result<(ReportFormat, PathBuf), ReportError> {
    match s.split_once(':') {
        None => {
            let format: ReportFormat = s.parse()?;
            Ok((format, format.default_path()))
        }
        Some((f, path)) => {
            let format: ReportFormat = f.parse()?;
            if path.trim().is_empty() {
                return Err(ReportError::EmptyReportPath { format });
            }
            Ok((format, PathBuf::from(path)))
        }
    }
}

/// Writes one report file atomically, creating its directory if needed.
pub fn write_report(
    format: ReportFormat,
    run: &RunOutcome,
    path: &Path,
) -> Result<(), ReportError> {
    write_atomic(path, |w| format.write(w, run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_args() {
        let (f, p) = parse_report_arg("junit").unwrap();
        assert_eq!(f, ReportFormat::Junit);
        assert_eq!(p, PathBuf::from("reports/check.junit.xml"));
        let (f, p) = parse_report_arg("MD:out/summary.md").unwrap();
        assert_eq!(f, ReportFormat::Markdown);
        assert_eq!(p, PathBuf::from("out/summary.md"));
        let (_, p) = parse_report_arg("html:C:/x.html").unwrap();
        assert_eq!(p, PathBuf::from("C:/x.html"));
        let e = parse_report_arg("yaml:x").unwrap_err().to_string();
        assert!(e.contains("`yaml`") && e.contains(VALID_FORMATS), "{e}");
        let e = parse_report_arg("json:").unwrap_err().to_string();
        assert!(e.contains("reports/check.json"), "{e}");
        for f in ReportFormat::ALL {
            assert_eq!(f.as_str().parse::<ReportFormat>().unwrap(), f);
        }
    }
}
