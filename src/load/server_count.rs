//! "Count what the server counted": the number of successful logins the server itself saw during
//! the run, beside ours. Embedded runs read the reference server's counters in process; against
//! an outside target, `--server-metrics URL --server-login-metric NAME` reads a Prometheus counter
//! before and after the run.
//!
//! Both counts cover the whole run, ramp-up included (the server cannot tell our measured window
//! from the rest). Ours counts logins whose response we received with a 2xx status; a login the
//! server answered while we had already given up (cancelled at the end, or past `--timeout`) is in
//! its count and not in ours, which is the usual, explained, gap.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::check::client::HttpClient;
use crate::http::RequestData;
use crate::server::metrics::{read_counter, ServerMetrics, LOGINS_METRIC};
use crate::spec::model::Method;
use crate::tls::ClientTls;

/// Where the server's count comes from.
#[derive(Debug, Clone)]
pub enum ServerCounter {
    /// The embedded reference server's own counters.
    Embedded(Arc<ServerMetrics>),
    /// A Prometheus text page and the counter to read (`name` or `name{label="value"}`).
    Scrape { url: String, metric: String },
}

/// The comparison, as the summary and the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCount {
    /// `embedded reference server` or the metrics URL.
    pub source: String,
    /// The counter read.
    pub metric: String,
    /// Successful logins the server counted during the run; `None` when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<u64>,
    /// Successful logins we counted during the whole run (ramp-up included).
    pub ours: u64,
    /// `server − ours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference: Option<i64>,
    /// The difference as a percentage of the server's count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference_pct: Option<f64>,
    /// Requests in flight (cancelled) when the run ended: logins among them the server may have
    /// counted although we never saw their response.
    pub in_flight: u64,
    /// Why the server's count is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ServerCount {
    /// Compares the server's count (`after − before`) with ours.
    pub fn compare(
        source: String,
        metric: String,
        counted: Result<(f64, f64), String>,
        ours: u64,
        in_flight: u64,
    ) -> ServerCount {
        let mut count = ServerCount {
            source,
            metric,
            server: None,
            ours,
            difference: None,
            difference_pct: None,
            in_flight,
            error: None,
        };
        match counted {
            Ok((before, after)) if after >= before => {
                let server = (after - before).round() as u64;
                let difference = i64::try_from(server).unwrap_or(i64::MAX)
                    - i64::try_from(ours).unwrap_or(i64::MAX);
                count.server = Some(server);
                count.difference = Some(difference);
                count.difference_pct =
                    (server > 0).then(|| 100.0 * difference as f64 / server as f64);
            }
            Ok((before, after)) => {
                count.error = Some(format!(
                    "the counter went down during the run ({before} → {after}): the server restarted or the metric is not a counter"
                ));
            }
            Err(e) => count.error = Some(e),
        }
        count
    }

    /// The summary line: `server counted 1,234 logins; we counted 1,230 (−0.3 %, 4 in flight at the end)`.
    pub fn line(&self) -> String {
        match (self.server, self.difference, &self.error) {
            (Some(server), Some(diff), _) => {
                let pct = self
                    .difference_pct
                    .map_or_else(String::new, |p| format!(", {p:+.2} %"));
                let flight = if self.in_flight > 0 {
                    format!("; {} requests were in flight at the end", self.in_flight)
                } else {
                    String::new()
                };
                format!(
                    "server counted {server} logins, we counted {} (difference {diff:+}{pct}{flight})",
                    self.ours
                )
            }
            (_, _, Some(e)) => format!(
                "server count unavailable ({}: {e}); we counted {} logins",
                self.source, self.ours
            ),
            _ => format!("we counted {} logins", self.ours),
        }
    }
}

impl ServerCounter {
    /// The source's name in reports.
    pub fn source(&self) -> String {
        match self {
            ServerCounter::Embedded(_) => "embedded reference server".to_owned(),
            ServerCounter::Scrape { url, .. } => crate::redact::mask_userinfo(url),
        }
    }

    /// The metric's name in reports.
    pub fn metric(&self) -> String {
        match self {
            ServerCounter::Embedded(_) => LOGINS_METRIC.to_owned(),
            ServerCounter::Scrape { metric, .. } => metric.clone(),
        }
    }

    /// The server's count of successful logins now.
    pub async fn read(&self, timeout: Duration, tls: &ClientTls) -> Result<f64, String> {
        match self {
            ServerCounter::Embedded(m) => Ok(m.counts().successful_logins() as f64),
            ServerCounter::Scrape { url, metric } => scrape(url, metric, timeout, tls).await,
        }
    }
}

/// Reads `metric` (2xx series only, when it has a `status` or `code` label) from the page at `url`.
pub async fn scrape(
    url: &str,
    metric: &str,
    timeout: Duration,
    tls: &ClientTls,
) -> Result<f64, String> {
    let client = HttpClient::with_tls(timeout, 16 * 1024 * 1024, tls).map_err(|e| e.to_string())?;
    let request = RequestData {
        method: Method::Get,
        url: url.to_owned(),
        headers: vec![(
            "accept".to_owned(),
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5".to_owned(),
        )],
        body: None,
    };
    let response = client.send(&request).await.map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!("the metrics page answered {}", response.status));
    }
    read_counter(&response.text(), metric, true).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_and_explains() {
        let c = ServerCount::compare("embedded".into(), "m".into(), Ok((10.0, 1010.0)), 995, 5);
        assert_eq!(c.server, Some(1000));
        assert_eq!(c.difference, Some(5));
        assert!((c.difference_pct.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(
            c.line(),
            "server counted 1000 logins, we counted 995 (difference +5, +0.50 %; 5 requests were in flight at the end)"
        );
    }

    #[test]
    fn a_counter_that_went_down_is_not_a_count() {
        let c = ServerCount::compare("u".into(), "m".into(), Ok((50.0, 3.0)), 7, 0);
        assert_eq!(c.server, None);
        assert!(c.error.as_deref().unwrap().contains("went down"));
        assert!(c.line().starts_with("server count unavailable"));
    }

    #[test]
    fn an_unreadable_page_is_said() {
        let c = ServerCount::compare(
            "u".into(),
            "m".into(),
            Err("connection refused".into()),
            7,
            0,
        );
        assert_eq!(
            c.line(),
            "server count unavailable (u: connection refused); we counted 7 logins"
        );
    }

    #[tokio::test]
    async fn scrapes_the_reference_servers_page() {
        use crate::server::{start, Dialect, ServerConfig};
        let mut config = ServerConfig::new(Dialect::RailsJwt);
        config.metrics_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = start(config).await.expect("the server starts");
        let client = reqwest::Client::new();
        for password in ["foobar", "foobar", "wrong"] {
            let r = client
                .post(format!("{}/api/v1/sessions", server.base_url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("email=foo%40bar.com&password={password}"))
                .send()
                .await
                .expect("answered");
            assert!(r.status().as_u16() == 200 || password == "wrong");
        }
        let url = format!("http://{}/metrics", server.metrics_addr().unwrap());
        let timeout = Duration::from_secs(5);
        let counted = scrape(&url, LOGINS_METRIC, timeout, &ClientTls::default()).await;
        assert_eq!(counted, Ok(2.0));
        let embedded = ServerCounter::Embedded(server.metrics());
        assert_eq!(embedded.read(timeout, &ClientTls::default()).await, Ok(2.0));
        let missing = scrape(&url, "no_such_total", timeout, &ClientTls::default()).await;
        assert_eq!(
            missing,
            Err("the metrics page has no counter `no_such_total`".into())
        );
        server.shutdown().await;
        let gone = scrape(&url, LOGINS_METRIC, timeout, &ClientTls::default()).await;
        assert!(gone.is_err());
    }
}
