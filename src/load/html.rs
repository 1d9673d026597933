//! The HTML load report: one self-contained page (inline CSS and inline SVG plots drawn with
//! `plotters`; no script, no font, nothing fetched at view time). The verdict, interruption and
//! thresholds come first, then the plots over time, the latency distribution, a capacity search's
//! rate-vs-p95 plot, and the tables of the Markdown report. A pure function of the results.

use std::fmt::Write as _;
use std::io::{self, Write};

use plotters::prelude::*;

use crate::report::html::esc;

use super::report::{headline_line, rows, status_line, HEADERS};
use super::results::{Capacity, LoadResults, Verdict};

impl Plots {
    /// The plots of a run's results: its per-second series (the measured window and the ramp-up
    /// before it), each request's final histogram as a distribution.
    pub fn from_results(r: &LoadResults) -> Plots {
        let first = r.series.first().map_or(0, |p| p.t);
        let mut series = TimeSeries::default();
        for p in &r.series {
            series.seconds.push((p.t - first) as f64);
            series.requests_per_s.push(p.requests as f64);
            series.headline_per_s.push(p.successes as f64);
            series.errors_per_s.push(p.errors as f64);
            series.active_users.push(p.users as f64);
            series.p50_ms.push(p.p50_ms);
            series.p95_ms.push(p.p95_ms);
            series.p99_ms.push(p.p99_ms);
        }
        let distributions = r
            .operations
            .iter()
            .filter_map(|o| {
                let h = super::record::decode(&o.histogram).ok()?;
                if h.is_empty() {
                    return None;
                }
                let points = (0..=60)
                    .map(|i| {
                        let q = 1.0 - 10f64.powf(-f64::from(i) / 15.0);
                        (q, h.value_at_quantile(q) as f64 / 1000.0)
                    })
                    .chain(std::iter::once((0.999_999, h.max() as f64 / 1000.0)))
                    .collect();
                Some(Distribution {
                    name: o.name.clone(),
                    points,
                })
            })
            .collect();
        Plots {
            series,
            distributions,
            capacity: r.capacity.as_ref().map(capacity_plot),
        }
    }
}

/// The plot of the HTML report: the latency objective's value by offered rate.
pub fn capacity_plot(c: &Capacity) -> CapacityPlot {
    let limit_ms = c
        .latency_objective
        .as_deref()
        .and_then(|t| super::threshold::Threshold::parse(t).ok().map(|t| t.limit));
    CapacityPlot {
        metric: c.latency_objective.as_deref().map_or_else(
            || "latency".to_owned(),
            |t| super::capacity_report::objective_metric(t).to_owned(),
        ),
        limit_ms,
        steps: c
            .steps
            .iter()
            .filter(|s| !s.interrupted)
            .map(|s| CapacityStep {
                rate: s.rate_per_s,
                latency_ms: s.latency_ms,
                passed: s.passed,
            })
            .collect(),
        max_rate: c.max_rate_per_s,
    }
}

/// One plotted line: a name and a y value per x.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Values per second of the run (x: seconds since the measured window began).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeries {
    pub seconds: Vec<f64>,
    pub requests_per_s: Vec<f64>,
    pub headline_per_s: Vec<f64>,
    pub errors_per_s: Vec<f64>,
    pub active_users: Vec<f64>,
    /// Latency percentiles of each second, milliseconds (`None` for a second without responses).
    pub p50_ms: Vec<Option<f64>>,
    pub p95_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
}

/// One request's latency distribution: (quantile 0..1, milliseconds) points, increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One step of a capacity search.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityStep {
    /// Offered arrival rate, per second.
    pub rate: f64,
    /// The SLA latency measured at that rate, milliseconds.
    pub latency_ms: Option<f64>,
    pub passed: bool,
}

/// A capacity search's steps with the latency objective they were held to.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPlot {
    /// What the y axis is (`login p95`).
    pub metric: String,
    /// The objective's limit in milliseconds, drawn as a line.
    pub limit_ms: Option<f64>,
    pub steps: Vec<CapacityStep>,
    pub max_rate: Option<f64>,
}

/// What the plots of the page show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plots {
    pub series: TimeSeries,
    pub distributions: Vec<Distribution>,
    pub capacity: Option<CapacityPlot>,
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 300;
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A line chart over the run's seconds, as an SVG element.
pub fn time_chart(title: &str, y_label: &str, seconds: &[f64], lines: &[Line]) -> String {
    let points: Vec<Vec<(f64, f64)>> = lines
        .iter()
        .map(|l| {
            seconds
                .iter()
                .zip(&l.values)
                .filter_map(|(x, y)| y.map(|y| (*x, y)))
                .collect()
        })
        .collect();
    let x_max = seconds.iter().copied().fold(1.0_f64, f64::max);
    let y_max = points.iter().flatten().map(|p| p.1).fold(0.0_f64, f64::max);
    let named: Vec<(&str, Vec<(f64, f64)>)> =
        lines.iter().map(|l| l.name.as_str()).zip(points).collect();
    chart(
        title,
        ("seconds", y_label),
        (0.0, x_max),
        nice_max(y_max),
        &named,
        (&|x| format!("{x:.0}"), (x_max as usize + 1).min(10)),
        &Overlay::default(),
    )
}

/// The latency distribution: milliseconds by percentile, the x axis in "nines" (50 %, 90 %, 99 %,
/// 99.9 %, …) so the tail is as wide as the body, as HdrHistogram's own plots draw it.
pub fn distribution_chart(distributions: &[Distribution]) -> String {
    let nines = |q: f64| -(1.0 - q.min(0.999_999)).log10();
    let named: Vec<(&str, Vec<(f64, f64)>)> = distributions
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.points.iter().map(|(q, ms)| (nines(*q), *ms)).collect(),
            )
        })
        .collect();
    let x_max = named
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max)
        .ceil();
    let y_max = named
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    chart(
        "Latency distribution",
        ("percentile", "ms"),
        (0.0, x_max),
        nice_max(y_max),
        &named,
        (
            &|x| {
                let pct = 100.0 * (1.0 - 10f64.powf(-x));
                if pct < 99.0 {
                    format!("{pct:.0}%")
                } else {
                    let digits = (x - 2.0).round().clamp(0.0, 9.0);
                    format!("{pct:.prec$}%", prec = digits as usize)
                }
            },
            x_max as usize + 1,
        ),
        &Overlay::default(),
    )
}

/// `(legend, color, points)` of filled circles.
type Marks = (String, RGBColor, Vec<(f64, f64)>);

/// What a chart draws besides its lines: a horizontal limit, a dashed vertical, point marks.
#[derive(Default)]
struct Overlay {
    /// `(name, y)`: a red horizontal line, `NAME y ms` in the legend.
    limit: Option<(String, f64)>,
    /// `(legend, x)`: a dashed green vertical line.
    vertical: Option<(String, f64)>,
    /// `(legend, color, points)`: filled circles.
    marks: Vec<Marks>,
}

/// A capacity search: the latency objective's metric by offered rate, the limit as a red line,
/// steps that held as green and steps that broke as red points, the answer as a dashed line. A
/// broken step far above the limit would flatten the rest: the axis ends at 4× the limit and
/// such a point is drawn at its top.
pub fn capacity_chart(plot: &CapacityPlot) -> String {
    let mut sorted: Vec<(f64, f64, bool)> = plot
        .steps
        .iter()
        .filter_map(|s| s.latency_ms.map(|l| (s.rate, l, s.passed)))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x_max = sorted.iter().map(|p| p.0).fold(1.0_f64, f64::max) * 1.05;
    let highest = sorted
        .iter()
        .map(|p| p.1)
        .chain(plot.limit_ms)
        .fold(0.0_f64, f64::max);
    let y_max = nice_max(match plot.limit_ms {
        Some(l) => (highest * 1.1).min(l * 4.0),
        None => highest * 1.1,
    });
    let clamp = |(x, y, _): &(f64, f64, bool)| (*x, y.min(y_max));
    let line: Vec<(f64, f64)> = sorted.iter().map(clamp).collect();
    let marks = |held: bool| -> Vec<(f64, f64)> {
        sorted.iter().filter(|p| p.2 == held).map(clamp).collect()
    };
    let overlay = Overlay {
        limit: plot.limit_ms.map(|l| ("SLA".to_owned(), l)),
        vertical: plot.max_rate.map(|m| (format!("max sustainable {m}/s"), m)),
        marks: vec![
            ("held".to_owned(), RGBColor(44, 160, 44), marks(true)),
            ("broke".to_owned(), RGBColor(214, 39, 40), marks(false)),
        ],
    };
    let name = plot.metric.clone();
    chart(
        "Capacity search: latency by offered rate",
        ("arrivals per second", "ms"),
        (0.0, x_max),
        y_max,
        &[(name.as_str(), line)],
        (&|x| format!("{x:.0}"), 10),
        &overlay,
    )
}

/// A y tick with as many decimals as the axis needs (`250`, `2.5`, `0.25`).
fn y_tick(y: f64, y_max: f64) -> String {
    match y_max {
        m if m >= 20.0 => format!("{y:.0}"),
        m if m >= 2.0 => format!("{y:.1}"),
        _ => format!("{y:.2}"),
    }
}

fn nice_max(y: f64) -> f64 {
    if !y.is_finite() || y <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(y.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * magnitude >= y)
        .unwrap_or(10.0);
    step * magnitude
}

/// Draws one chart into an SVG string. A drawing error (plotters cannot fail on a String, but
/// its API says it may) gives a short note in place of the chart rather than a broken page.
#[allow(clippy::too_many_arguments)]
fn chart(
    title: &str,
    (x_label, y_label): (&str, &str),
    x_range: (f64, f64),
    y_max: f64,
    lines: &[(&str, Vec<(f64, f64)>)],
    (x_format, x_labels): (&dyn Fn(&f64) -> String, usize),
    overlay: &Overlay,
) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(10)
            .margin_right(34)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.0..x_range.1.max(x_range.0 + 1.0), 0.0..y_max)?;
        c.configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(x_format)
            .x_labels(x_labels)
            .y_label_formatter(&|y| y_tick(*y, y_max))
            .label_style(("sans-serif", 15))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (i, (name, points)) in lines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            c.draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            if points.len() <= 40 {
                c.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
            }
        }
        if let Some((name, y)) = &overlay.limit {
            let red = RGBColor(200, 0, 0);
            let y = *y;
            c.draw_series(LineSeries::new(
                [(x_range.0, y), (x_range.1, y)],
                red.stroke_width(1),
            ))?
            .label(format!("{name} {y} ms"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red));
        }
        if let Some((name, x)) = &overlay.vertical {
            let green = RGBColor(20, 120, 20);
            let x = *x;
            c.draw_series(DashedLineSeries::new(
                [(x, 0.0), (x, y_max)],
                6,
                4,
                green.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], green));
        }
        for (name, color, points) in &overlay.marks {
            let color = *color;
            c.draw_series(points.iter().map(|p| Circle::new(*p, 5, color.filled())))?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.filled()));
        }
        c.configure_series_labels()
            .label_font(("sans-serif", 15))
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(RGBColor(200, 200, 200))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => format!(
            "<p>(the chart “{}” could not be drawn: {})</p>",
            esc(title),
            esc(&e.to_string())
        ),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}\
td:first-child,th:first-child,td.l{text-align:left}td:first-child,td.l{white-space:normal}\
.verdict{font-size:1.3em;font-weight:bold;padding:.4em .8em;border-radius:4px;display:inline-block}\
.pass{background:#e3f6e3;color:#135f13}.fail{background:#fbe3e3;color:#8a1010}.other{background:#fff3cd;color:#6a4b00}\
.headline{font-size:1.2em}figure{margin:1em 0}";

/// The whole page.
pub fn write_html<W: Write>(mut w: W, r: &LoadResults, plots: &Plots) -> io::Result<()> {
    let mut page = String::new();
    let verdict_class = match r.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        _ => "other",
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Load run: {scenario}</title><style>{STYLE}</style></head><body>\n\
         <h1>Load run: <code>{scenario}</code></h1>\n\
         <p><span class=\"verdict {verdict_class}\">{verdict}</span></p>\n",
        scenario = esc(&r.scenario),
        verdict = esc(r.verdict.as_str()),
    );
    if let Some(signal) = &r.interrupted {
        let _ = writeln!(
            page,
            "<p class=\"verdict other\">interrupted by {}: partial results</p>",
            esc(signal)
        );
    }
    if let Some(e) = &r.error {
        let _ = writeln!(
            page,
            "<p><strong>error</strong>: {}; no load was sent.</p>",
            esc(e)
        );
    }
    let _ = writeln!(
        page,
        "<p class=\"headline\"><strong>{}</strong></p>",
        esc(&headline_line(r))
    );
    if let Some(c) = &r.server_count {
        let _ = writeln!(page, "<p>{}</p>", esc(&c.line()));
    }
    if let Some(line) = super::shard::describe(r) {
        let _ = writeln!(page, "<p>{}</p>", esc(&line));
    }
    thresholds(&mut page, r);
    if let (Some(c), Some(plot)) = (&r.capacity, &plots.capacity) {
        let unit = super::report::headline_label(
            r.headline.as_ref().map_or("login", |h| h.request.as_str()),
        );
        page.push_str("<h2>Capacity search</h2>\n");
        page.push_str(&super::capacity_report::html(c, &unit));
        let _ = writeln!(page, "<figure>{}</figure>", capacity_chart(plot));
    }
    let _ = writeln!(
        page,
        "<ul><li>spec: <code>{}</code></li><li>target: <code>{}</code></li><li>users: {}</li>\
         <li>measured: {:.3} s</li><li>request timeout: {} ms</li>\
         <li>{}</li>{}</ul>",
        esc(&r.spec),
        esc(&r.target),
        r.users,
        r.duration_s,
        r.plan.timeout_ms,
        esc(&super::report::model_line(r)),
        if r.cancelled > 0 {
            format!(
                "<li>cancelled: {} requests still waiting when the run ended</li>",
                r.cancelled
            )
        } else {
            String::new()
        }
    );
    charts(&mut page, plots);
    tables(&mut page, r);
    page.push_str("</body></html>\n");
    w.write_all(page.as_bytes())
}

fn thresholds(page: &mut String, r: &LoadResults) {
    if r.thresholds.is_empty() {
        return;
    }
    page.push_str(
        "<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>result</th><th>observed</th></tr>\n",
    );
    for t in &r.thresholds {
        let origin = super::report::gate_note(t.gate);
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code>{origin}</td><td class=\"l {}\">{}</td><td class=\"l\">{}</td></tr>",
            esc(&t.threshold),
            if t.passed { "pass" } else { "fail" },
            if t.passed { "pass" } else { "FAIL" },
            esc(&t.observed)
        );
    }
    page.push_str("</table>\n");
}

fn charts(page: &mut String, plots: &Plots) {
    let s = &plots.series;
    if !s.seconds.is_empty() {
        page.push_str("<h2>Over time</h2>\n");
        let some = |v: &[f64]| v.iter().map(|x| Some(*x)).collect::<Vec<_>>();
        let figures = [
            time_chart(
                "Throughput",
                "per second",
                &s.seconds,
                &[
                    Line {
                        name: "requests/s".into(),
                        values: some(&s.requests_per_s),
                    },
                    Line {
                        name: "logins/s".into(),
                        values: some(&s.headline_per_s),
                    },
                ],
            ),
            time_chart(
                "Latency percentiles (all requests)",
                "ms",
                &s.seconds,
                &[
                    Line {
                        name: "p50".into(),
                        values: s.p50_ms.clone(),
                    },
                    Line {
                        name: "p95".into(),
                        values: s.p95_ms.clone(),
                    },
                    Line {
                        name: "p99".into(),
                        values: s.p99_ms.clone(),
                    },
                ],
            ),
            time_chart(
                "Errors and active users",
                "count",
                &s.seconds,
                &[
                    Line {
                        name: "errors/s".into(),
                        values: some(&s.errors_per_s),
                    },
                    Line {
                        name: "active users".into(),
                        values: some(&s.active_users),
                    },
                ],
            ),
        ];
        for f in figures {
            let _ = writeln!(page, "<figure>{f}</figure>");
        }
    }
    if !plots.distributions.is_empty() {
        page.push_str("<h2>Latency distribution</h2>\n");
        let _ = writeln!(
            page,
            "<figure>{}</figure>",
            distribution_chart(&plots.distributions)
        );
    }
}

fn tables(page: &mut String, r: &LoadResults) {
    page.push_str("<h2>Requests</h2>\n<table><tr>");
    for h in HEADERS {
        let _ = write!(page, "<th>{}</th>", esc(h));
    }
    page.push_str("</tr>\n");
    for row in rows(r, |o| o.latency_ms) {
        page.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i < 2 { " class=\"l\"" } else { "" };
            let _ = write!(page, "<td{class}>{}</td>", esc(cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str(
        "</table>\n<h2>Status codes</h2>\n<table><tr><th>request</th><th>statuses</th></tr>\n",
    );
    for o in &r.operations {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&o.name),
            esc(&status_line(o))
        );
    }
    page.push_str("</table>\n");
    if !r.errors.is_empty() {
        page.push_str(
            "<h2>Errors</h2>\n<table><tr><th>request</th><th>error</th><th>count</th></tr>\n",
        );
        for e in &r.errors {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
                esc(&e.request),
                esc(&e.error),
                e.count
            );
        }
        page.push_str("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> TimeSeries {
        let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        TimeSeries {
            requests_per_s: xs.iter().map(|x| 100.0 + x).collect(),
            headline_per_s: xs.iter().map(|x| 30.0 + x / 2.0).collect(),
            errors_per_s: vec![0.0; n],
            active_users: vec![20.0; n],
            p50_ms: xs.iter().map(|_| Some(4.0)).collect(),
            p95_ms: xs
                .iter()
                .map(|x| if *x == 3.0 { None } else { Some(12.0) })
                .collect(),
            p99_ms: xs.iter().map(|_| Some(40.0)).collect(),
            seconds: xs,
        }
    }

    #[test]
    fn charts_are_svg_with_their_labels() {
        let svg = time_chart(
            "Throughput",
            "per second",
            &series(10).seconds,
            &[Line {
                name: "requests/s".into(),
                values: vec![Some(1.0); 10],
            }],
        );
        assert!(svg.starts_with("<svg"), "{svg:.200}");
        assert!(svg.contains("Throughput") && svg.contains("requests/s"));
        assert!(svg.contains("<polyline"), "a line is drawn");
    }

    #[test]
    fn the_distribution_axis_is_in_nines() {
        let d = Distribution {
            name: "login".into(),
            points: vec![
                (0.0, 1.0),
                (0.5, 2.0),
                (0.9, 5.0),
                (0.99, 9.0),
                (0.999, 30.0),
            ],
        };
        let svg = distribution_chart(&[d]);
        for label in ["0%", "90%", "99%", "99.9%"] {
            assert!(
                svg.contains(&format!("\n{label}\n</text>")),
                "{label} missing"
            );
        }
    }

    #[test]
    fn the_capacity_chart_draws_the_objective() {
        let plot = CapacityPlot {
            metric: "login p95".into(),
            limit_ms: Some(250.0),
            steps: vec![
                CapacityStep {
                    rate: 50.0,
                    latency_ms: Some(20.0),
                    passed: true,
                },
                CapacityStep {
                    rate: 100.0,
                    latency_ms: Some(300.0),
                    passed: false,
                },
            ],
            max_rate: Some(50.0),
        };
        let svg = capacity_chart(&plot);
        assert!(svg.contains("SLA 250 ms"), "{svg:.400}");
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(2.4), 2.5);
    }
}
