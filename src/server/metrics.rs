//! What the reference server itself counted: logins and logouts by status, and the sessions they
//! leave open, as Prometheus text (`serve --metrics-addr`, `GET /metrics`) and in-process for the
//! embedded runs of `load`, which compare the server's count of logins with their own.
//!
//! A request is a login or a logout by its method and path, per dialect (`docs/dialects.md`): the
//! counting happens in the layer every response passes through, so every status a client can see
//! (401, 422, 503 from the bounded hash pool, 500 from fault `flaky`) is counted under its code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Dialect;

/// Name of the login counter as Prometheus shows it (`{status="…"}` per response status).
pub const LOGINS_METRIC: &str = "sessionspec_server_logins_total";
/// Name of the logout counter.
pub const LOGOUTS_METRIC: &str = "sessionspec_server_logouts_total";
/// Name of the gauge of sessions opened by a successful login and not yet ended by a logout.
pub const ACTIVE_METRIC: &str = "sessionspec_server_active_sessions";

/// The content type of [`ServerMetrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: u16,
}

/// Which documented exchange a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exchange {
    Login,
    Logout,
}

/// The login and logout requests of each dialect, by method and path. rails-jwt documents no
/// logout (its JWT lives until `exp`).
pub(crate) fn classify(dialect: Dialect, method: &Method, path: &str) -> Option<Exchange> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (post, delete) = (method == Method::POST, method == Method::DELETE);
    match (dialect, segments.as_slice()) {
        (Dialect::JsonapiSessions, ["v1", "sessions"])
        | (Dialect::SessionsService, ["sessions"])
        | (Dialect::RailsJwt, ["api", "v1", "sessions"])
        | (Dialect::FormSessions, ["api", "sessions"])
        | (Dialect::DrfSessions, ["sessions", "session-user-c" | "session-client-c"])
            if post =>
        {
            Some(Exchange::Login)
        }
        (Dialect::JsonapiSessions, ["v1", "sessions", _])
        | (Dialect::SessionsService, ["sessions", _])
        | (Dialect::FormSessions, ["api", "sessions"])
        | (Dialect::DrfSessions, ["sessions", "session-user-d" | "session-client-d", _])
            if delete =>
        {
            Some(Exchange::Logout)
        }
        _ => None,
    }
}

/// The server's counters. Counting is a few atomic operations per login or logout; other
/// requests touch nothing.
#[derive(Debug)]
pub struct ServerMetrics {
    registry: Registry,
    logins: Family<StatusLabel, Counter>,
    logouts: Family<StatusLabel, Counter>,
    active: Gauge,
}

/// A snapshot of [`ServerMetrics`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCounts {
    /// Login responses by status.
    pub logins: BTreeMap<u16, u64>,
    /// Logout responses by status.
    pub logouts: BTreeMap<u16, u64>,
    /// Sessions opened by a successful (2xx) login and not yet ended by a successful logout.
    pub active_sessions: i64,
}

impl ServerCounts {
    /// Logins answered with a 2xx status.
    pub fn successful_logins(&self) -> u64 {
        successes(&self.logins)
    }

    /// Logouts answered with a 2xx status.
    pub fn successful_logouts(&self) -> u64 {
        successes(&self.logouts)
    }
}

fn successes(by_status: &BTreeMap<u16, u64>) -> u64 {
    by_status
        .iter()
        .filter(|(status, _)| (200..300).contains(*status))
        .map(|(_, n)| n)
        .sum()
}

impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics::new()
    }
}

impl ServerMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let logins = Family::<StatusLabel, Counter>::default();
        let logouts = Family::<StatusLabel, Counter>::default();
        let active = Gauge::default();
        registry.register(
            strip_total(LOGINS_METRIC),
            "Login requests answered, by response status",
            logins.clone(),
        );
        registry.register(
            strip_total(LOGOUTS_METRIC),
            "Logout requests answered, by response status",
            logouts.clone(),
        );
        registry.register(
            ACTIVE_METRIC,
            "Sessions opened by a successful login and not yet ended by a successful logout",
            active.clone(),
        );
        ServerMetrics {
            registry,
            logins,
            logouts,
            active,
        }
    }

    /// Counts one answered login or logout.
    pub(crate) fn record(&self, exchange: Exchange, status: u16) {
        let success = (200..300).contains(&status);
        match exchange {
            Exchange::Login => {
                self.logins.get_or_create(&StatusLabel { status }).inc();
                if success {
                    self.active.inc();
                }
            }
            Exchange::Logout => {
                self.logouts.get_or_create(&StatusLabel { status }).inc();
                if success {
                    self.active.dec();
                }
            }
        }
    }

    /// The counters now.
    pub fn counts(&self) -> ServerCounts {
        ServerCounts {
            logins: snapshot(&self.logins),
            logouts: snapshot(&self.logouts),
            active_sessions: self.active.get(),
        }
    }

    /// The OpenMetrics text Prometheus scrapes (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            // Writing to a String cannot fail; keep the page well-formed regardless.
            text.clear();
            let _ = writeln!(text, "# EOF");
        }
        text
    }
}

/// prometheus-client appends `_total` to a counter's name itself.
fn strip_total(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

fn snapshot(family: &Family<StatusLabel, Counter>) -> BTreeMap<u16, u64> {
    // A family has no iterator; the statuses a login can get are few and known.
    (100..600)
        .filter_map(|status| Some((status, family.get(&StatusLabel { status })?.get())))
        .collect()
}

/// Why a counter could not be read from a metrics page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadMetricError {
    #[error("the metrics page is not Prometheus text: {0}")]
    Parse(String),
    #[error("the metrics page has no counter `{0}`")]
    Missing(String),
}

/// Reads counter `name` from a Prometheus (or OpenMetrics) text page: the sum over its series, or
/// over the series whose labels match when `name` is written `metric{label="value",…}`. Only
/// series whose `status` label (if any) is 2xx count when `successes_only` is set.
pub fn read_counter(text: &str, name: &str, successes_only: bool) -> Result<f64, ReadMetricError> {
    let (metric, wanted) = split_selector(name);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines)
        .map_err(|e| ReadMetricError::Parse(e.to_string()))?;
    let mut found = false;
    let mut sum = 0.0;
    for sample in &scrape.samples {
        if sample.metric != metric && sample.metric != format!("{metric}_total") {
            continue;
        }
        if !wanted
            .iter()
            .all(|(k, v)| sample.labels.get(k) == Some(v.as_str()))
        {
            continue;
        }
        if successes_only {
            if let Some(status) = sample.labels.get("status").or(sample.labels.get("code")) {
                if !status.starts_with('2') {
                    continue;
                }
            }
        }
        let (prometheus_parse::Value::Counter(value)
        | prometheus_parse::Value::Gauge(value)
        | prometheus_parse::Value::Untyped(value)) = sample.value
        else {
            continue;
        };
        found = true;
        sum += value;
    }
    if found {
        Ok(sum)
    } else {
        Err(ReadMetricError::Missing(name.to_string()))
    }
}

/// `metric{a="1",b="2"}` → (`metric`, [(a, 1), (b, 2)]).
fn split_selector(name: &str) -> (&str, Vec<(String, String)>) {
    let Some((metric, rest)) = name.split_once('{') else {
        return (name.trim(), Vec::new());
    };
    let labels = rest
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect();
    (metric.trim(), labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_each_dialects_login_and_logout() {
        let post = Method::POST;
        let delete = Method::DELETE;
        let get = Method::GET;
        let cases = [
            (
                Dialect::JsonapiSessions,
                &post,
                "/v1/sessions",
                Some(Exchange::Login),
            ),
            (
                Dialect::JsonapiSessions,
                &delete,
                "/v1/sessions/abc",
                Some(Exchange::Logout),
            ),
            (Dialect::JsonapiSessions, &get, "/v1/sessions", None),
            (
                Dialect::SessionsService,
                &post,
                "/sessions",
                Some(Exchange::Login),
            ),
            (
                Dialect::SessionsService,
                &delete,
                "/sessions/x",
                Some(Exchange::Logout),
            ),
            (
                Dialect::RailsJwt,
                &post,
                "/api/v1/sessions",
                Some(Exchange::Login),
            ),
            (Dialect::RailsJwt, &delete, "/api/v1/sessions", None),
            (
                Dialect::FormSessions,
                &post,
                "/api/sessions",
                Some(Exchange::Login),
            ),
            (
                Dialect::FormSessions,
                &delete,
                "/api/sessions",
                Some(Exchange::Logout),
            ),
            (
                Dialect::DrfSessions,
                &post,
                "/sessions/session-user-c/",
                Some(Exchange::Login),
            ),
            (
                Dialect::DrfSessions,
                &post,
                "/sessions/session-client-c/",
                Some(Exchange::Login),
            ),
            (
                Dialect::DrfSessions,
                &delete,
                "/sessions/session-user-d/7/",
                Some(Exchange::Logout),
            ),
            (
                Dialect::DrfSessions,
                &get,
                "/sessions/session-user-l/7/",
                None,
            ),
            (
                Dialect::DrfSessions,
                &post,
                "/sessions/session-user-l/7/",
                None,
            ),
        ];
        for (dialect, method, path, expected) in cases {
            assert_eq!(
                classify(dialect, method, path),
                expected,
                "{dialect} {method} {path}"
            );
        }
    }

    #[test]
    fn counts_by_status_and_tracks_open_sessions() {
        let m = ServerMetrics::new();
        m.record(Exchange::Login, 201);
        m.record(Exchange::Login, 201);
        m.record(Exchange::Login, 401);
        m.record(Exchange::Login, 503);
        m.record(Exchange::Logout, 204);
        m.record(Exchange::Logout, 401);
        let c = m.counts();
        assert_eq!(c.logins, BTreeMap::from([(201, 2), (401, 1), (503, 1)]));
        assert_eq!(c.logouts, BTreeMap::from([(204, 1), (401, 1)]));
        assert_eq!(c.successful_logins(), 2);
        assert_eq!(c.successful_logouts(), 1);
        assert_eq!(c.active_sessions, 1);
    }

    #[test]
    fn its_own_page_reads_back() {
        let m = ServerMetrics::new();
        for _ in 0..5 {
            m.record(Exchange::Login, 200);
        }
        m.record(Exchange::Login, 401);
        let page = m.encode();
        assert!(
            page.contains("sessionspec_server_logins_total{status=\"200\"} 5"),
            "{page}"
        );
        assert!(page.trim_end().ends_with("# EOF"), "{page}");
        assert_eq!(read_counter(&page, LOGINS_METRIC, false), Ok(6.0));
        assert_eq!(read_counter(&page, LOGINS_METRIC, true), Ok(5.0));
        assert_eq!(
            read_counter(
                &page,
                "sessionspec_server_logins_total{status=\"401\"}",
                false
            ),
            Ok(1.0)
        );
        assert_eq!(read_counter(&page, ACTIVE_METRIC, false), Ok(5.0));
        assert_eq!(
            read_counter(&page, "nope_total", false),
            Err(ReadMetricError::Missing("nope_total".into()))
        );
    }

    #[test]
    fn reads_a_classic_prometheus_page() {
        let page = "# HELP http_logins_total Logins.\n# TYPE http_logins_total counter\n\
                    http_logins_total{code=\"200\",route=\"/login\"} 41\n\
                    http_logins_total{code=\"401\",route=\"/login\"} 3\n\
                    http_logins_total{code=\"200\",route=\"/other\"} 7\n";
        assert_eq!(read_counter(page, "http_logins_total", false), Ok(51.0));
        assert_eq!(read_counter(page, "http_logins_total", true), Ok(48.0));
        assert_eq!(
            read_counter(page, "http_logins_total{route=\"/login\"}", true),
            Ok(41.0)
        );
    }
}
