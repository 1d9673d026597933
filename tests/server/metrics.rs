//! The server's own counters: every dialect counts its logins by status, on the in-process
//! snapshot and on the Prometheus page of `metrics_addr`, and nothing else is counted as a login.

use std::net::{Ipv4Addr, SocketAddr};

use sessionspec::server::metrics::{read_counter, ACTIVE_METRIC, LOGINS_METRIC};
use sessionspec::server::{Dialect, ServerConfig};

use super::overload::good_login;
use super::{send, Api};

#[tokio::test]
async fn every_dialect_counts_its_logins_by_status() {
    for dialect in Dialect::ALL {
        let api = Api::start_with(ServerConfig {
            metrics_addr: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            ..ServerConfig::new(dialect)
        })
        .await;
        for _ in 0..3 {
            let ok = send(good_login(&api, dialect)).await;
            assert!((200..300).contains(&ok.status), "{dialect}: {}", ok.status);
        }
        // The same request with a body no dialect accepts: a refused login, counted too.
        let refused = send(good_login(&api, dialect).body("{")).await;
        assert!(refused.status >= 400, "{dialect}: {}", refused.status);
        // Not a login: a path of no dialect.
        let _ = send(api.get("/not-a-login")).await;

        let counts = api.server.counts();
        assert_eq!(counts.successful_logins(), 3, "{dialect}: {counts:?}");
        assert_eq!(
            counts.logins.values().sum::<u64>(),
            4,
            "{dialect}: {counts:?}"
        );
        assert_eq!(counts.logins.get(&refused.status), Some(&1), "{dialect}");
        assert_eq!(counts.active_sessions, 3, "{dialect}");

        let addr = api.server.metrics_addr().expect("metrics are served");
        let page = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("the metrics page answers");
        assert_eq!(page.status(), 200);
        let content_type = page.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = page.text().await.unwrap();
        assert_eq!(
            read_counter(&text, LOGINS_METRIC, true),
            Ok(3.0),
            "{dialect}: {text}"
        );
        assert_eq!(
            read_counter(&text, LOGINS_METRIC, false),
            Ok(4.0),
            "{dialect}: {text}"
        );
        assert_eq!(
            read_counter(&text, ACTIVE_METRIC, false),
            Ok(3.0),
            "{dialect}: {text}"
        );
        api.server.shutdown().await;
    }
}
