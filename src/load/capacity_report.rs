//! How a capacity search ([`super::capacity`]) shows in the terminal summary, the Markdown and
//! HTML reports (the JSON report carries [`Capacity`] as it is; JUnit has a `find-max` case; the HTML
//! report's plot is [`super::html::capacity_plot`]).
//! Pure functions of the results.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::results::{Capacity, CapacityStep, Phase, Stopped};
use crate::report::html::esc;

/// `3 climb 40/s: held (39.9 logins/s, login:p95<250ms p95 = 45ms)` for the progress lines.
pub fn step_line(s: &CapacityStep) -> String {
    let verdict = if s.interrupted {
        "interrupted".to_owned()
    } else if s.passed {
        "held".to_owned()
    } else {
        let broken: Vec<String> = s
            .thresholds
            .iter()
            .filter(|t| !t.passed)
            .map(|t| format!("{} ({})", t.threshold, t.observed))
            .collect();
        format!("BROKE {}", broken.join(", "))
    };
    format!(
        "step {} ({}) at {}/s: {verdict}; {} per s, {} requests, {:.2}% errors, {} dropped{}",
        s.step,
        phase_name(s.phase),
        s.rate_per_s,
        s.headline_per_s
            .map_or_else(|| "-".to_owned(), |h| format!("{h:.1}")),
        s.requests,
        s.error_rate_pct,
        s.dropped,
        s.latency_ms
            .map_or_else(String::new, |l| format!(", latency objective {l:.1} ms")),
    )
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Climb => "climb",
        Phase::Refine => "refine",
    }
}

/// The answer in one line.
pub fn answer_line(c: &Capacity, headline: &str) -> String {
    let broke = c
        .broke_at_per_s
        .map_or_else(String::new, |b| format!("; broke at {b}/s"));
    match (c.max_rate_per_s, c.stopped) {
        (Some(max), stopped) => {
            let note = match stopped {
                Stopped::MaxSteps => {
                    " (every step held: a lower bound; raise --max-steps or --start-rate)"
                }
                Stopped::Interrupted => " (interrupted: the search did not finish)",
                Stopped::Error => " (a step could not judge the target)",
                _ => "",
            };
            format!(
                "maximum sustainable rate: {max}/s offered, {} {headline} measured{broke}{note}",
                c.max_headline_per_s
                    .map_or_else(|| "-".to_owned(), |h| format!("{h:.1}")),
            )
        }
        (None, Stopped::Interrupted) => {
            "maximum sustainable rate: none found before the search was interrupted".to_owned()
        }
        (None, Stopped::Error) => {
            "maximum sustainable rate: none (a step could not judge the target)".to_owned()
        }
        (None, _) => format!(
            "maximum sustainable rate: none: even the first step ({}/s) broke an objective",
            c.steps
                .first()
                .map_or(c.search.start_per_s, |s| s.rate_per_s)
        ),
    }
}

fn objectives_line(c: &Capacity) -> String {
    format!(
        "objectives: {}; a step holds when every objective holds and no arrival was dropped",
        c.objectives.join(", ")
    )
}

const HEADERS: [&str; 9] = [
    "step",
    "phase",
    "rate/s",
    "headline/s",
    "requests",
    "errors",
    "dropped",
    "latency ms",
    "result",
];

fn rows(c: &Capacity) -> Vec<[String; 9]> {
    c.steps
        .iter()
        .map(|s| {
            [
                s.step.to_string(),
                phase_name(s.phase).to_owned(),
                format!("{}", s.rate_per_s),
                s.headline_per_s
                    .map_or_else(|| "-".to_owned(), |h| format!("{h:.1}")),
                s.requests.to_string(),
                format!("{:.2}%", s.error_rate_pct),
                s.dropped.to_string(),
                s.latency_ms
                    .map_or_else(|| "-".to_owned(), |l| format!("{l:.1}")),
                if s.interrupted {
                    "interrupted".to_owned()
                } else if s.passed {
                    "held".to_owned()
                } else {
                    "BROKE".to_owned()
                },
            ]
        })
        .collect()
}

fn headers(c: &Capacity, headline: &str) -> [String; 9] {
    let mut h = HEADERS.map(str::to_owned);
    h[3] = headline.to_owned();
    if let Some(l) = &c.latency_objective {
        h[7] = format!("{} ms", objective_metric(l));
    }
    h
}

/// `login:p95` of `login:p95<250ms`.
pub(crate) fn objective_metric(text: &str) -> &str {
    text.split(['<', '>']).next().unwrap_or(text).trim()
}

/// The search's section of the terminal summary.
pub fn write_terminal<W: Write>(w: &mut W, c: &Capacity, headline: &str) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "capacity search: {}", objectives_line(c))?;
    let head = headers(c, headline);
    let table = rows(c);
    let mut widths = head.clone().map(|h| h.chars().count());
    for row in &table {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&head).chain(&table) {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if i == 1 || i == 8 {
                let _ = write!(line, " {cell}{pad}");
            } else {
                let _ = write!(line, " {pad}{cell}");
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    writeln!(w, "{}", answer_line(c, headline))?;
    if c.max_rate_per_s.is_some() {
        writeln!(w, "(the request tables above are of the step at that rate)")?;
    }
    Ok(())
}

/// The search's section of the Markdown report.
pub fn write_markdown<W: Write>(w: &mut W, c: &Capacity, headline: &str) -> io::Result<()> {
    writeln!(w, "## Capacity search")?;
    writeln!(w)?;
    writeln!(w, "**{}**", answer_line(c, headline))?;
    writeln!(w)?;
    writeln!(w, "{}", objectives_line(c).replace('|', "\\|"))?;
    writeln!(w)?;
    let head = headers(c, headline);
    writeln!(w, "| {} |", head.join(" | ").replace('<', "\\<"))?;
    writeln!(w, "|---:|---|---:|---:|---:|---:|---:|---:|---|")?;
    for row in rows(c) {
        writeln!(w, "| {} |", row.join(" | "))?;
    }
    writeln!(w)?;
    if c.max_rate_per_s.is_some() {
        writeln!(
            w,
            "The sections below are of the step at the maximum sustainable rate."
        )?;
        writeln!(w)?;
    }
    Ok(())
}

/// The search's answer and table in the HTML report (the plot is drawn beside it).
pub fn html(c: &Capacity, headline: &str) -> String {
    let mut page = String::new();
    let _ = writeln!(
        page,
        "<p><strong>{}</strong></p>\n<p>{}</p>",
        esc(&answer_line(c, headline)),
        esc(&objectives_line(c))
    );
    page.push_str("<table><tr>");
    for h in headers(c, headline) {
        let _ = write!(page, "<th>{}</th>", esc(&h));
    }
    page.push_str("</tr>\n");
    for row in rows(c) {
        page.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match (i, cell.as_str()) {
                (8, "held") => " class=\"l pass\"",
                (8, "BROKE") => " class=\"l fail\"",
                (1 | 8, _) => " class=\"l\"",
                _ => "",
            };
            let _ = write!(page, "<td{class}>{}</td>", esc(cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
    if c.max_rate_per_s.is_some() {
        page.push_str(
            "<p>The sections below are of the step at the maximum sustainable rate.</p>\n",
        );
    }
    page
}
