//! Overload: with one hash worker and a queue of one, a burst of concurrent logins at OWASP cost
//! overflows the queue; the overflow is answered 503 with `Retry-After: 1` in the dialect's error
//! format, the admitted logins succeed, and once the burst is over a login succeeds again.

use futures::future::join_all;
use reqwest::RequestBuilder;
use serde_json::Value;
use sessionspec::server::{Dialect, HashCost, ServerConfig, QUEUE_PER_WORKER};

use super::{drf, form, jsonapi, rails, send, service, Api, Resp};

/// Concurrent logins per burst: only 2 are admitted at a time and each OWASP verification takes tens
/// of milliseconds, far longer than the 20 take to arrive, so most of them find the pool full.
const BURST: usize = 20;

async fn overloadable(dialect: Dialect) -> Api {
    Api::start_with(ServerConfig {
        hash_cost: HashCost::Owasp,
        hash_workers: 1,
        hash_queue: 1,
        ..ServerConfig::new(dialect)
    })
    .await
}

/// A login of the dialect's fixture user with the right password.
pub(crate) fn good_login(api: &Api, dialect: Dialect) -> RequestBuilder {
    let json = |req: RequestBuilder, ct: &str, body: Value| {
        req.header("accept", ct)
            .header("content-type", ct)
            .body(body.to_string())
    };
    match dialect {
        Dialect::JsonapiSessions => json(
            api.post("/v1/sessions"),
            jsonapi::CT,
            jsonapi::doc(jsonapi::EMAIL, jsonapi::PASSWORD),
        ),
        Dialect::SessionsService => json(
            api.post("/sessions"),
            "application/json",
            service::creds(service::EMAIL, service::PASSWORD),
        ),
        Dialect::RailsJwt => api
            .post("/api/v1/sessions")
            .header("content-type", rails::FORM)
            .body(rails::GOOD),
        Dialect::FormSessions => json(
            api.post("/api/sessions"),
            "application/json",
            form::create_doc(form::EMAIL, form::PASSWORD),
        )
        .header("authorization", form::AUTH),
        Dialect::DrfSessions => json(
            api.post("/sessions/session-user-c/"),
            "application/json",
            serde_json::json!({"email": drf::USER.0, "password": drf::USER.1}),
        ),
    }
}

/// The documented success status of a login.
fn success(dialect: Dialect) -> u16 {
    match dialect {
        Dialect::RailsJwt => 200,
        _ => 201,
    }
}

/// The 503 is in the dialect's own error format.
fn assert_error_format(dialect: Dialect, r: &Resp) {
    let body = r.json();
    match dialect {
        Dialect::JsonapiSessions | Dialect::FormSessions => {
            assert_eq!(r.header("content-type"), Some(jsonapi::CT));
            assert_eq!(body["errors"][0]["status"], "503", "{body}");
            assert!(body["errors"][0]["title"].is_string(), "{body}");
        }
        Dialect::SessionsService => {
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(body["code"], "overloaded", "{body}");
            assert!(body["message"].is_string(), "{body}");
        }
        Dialect::RailsJwt => {
            assert_eq!(r.header("content-type"), Some(rails::JSON_UTF8));
            assert!(body["message"].is_string(), "{body}");
            assert_eq!(r.header("cache-control"), Some("no-cache"));
        }
        Dialect::DrfSessions => {
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert!(body["detail"].is_string(), "{body}");
        }
    }
}

async fn burst_overflows_into_503_then_recovers(dialect: Dialect) {
    let api = overloadable(dialect).await;
    let burst: Vec<Resp> = join_all((0..BURST).map(|_| send(good_login(&api, dialect)))).await;
    let (refused, admitted): (Vec<&Resp>, Vec<&Resp>) = burst.iter().partition(|r| r.status == 503);
    let statuses: Vec<u16> = burst.iter().map(|r| r.status).collect();
    assert!(
        !refused.is_empty() && !admitted.is_empty(),
        "{dialect}: some refused, some admitted: {statuses:?}"
    );
    for r in &admitted {
        assert_eq!(r.status, success(dialect), "{dialect}: {statuses:?}");
        assert_eq!(r.header("retry-after"), None);
    }
    for r in &refused {
        assert_eq!(r.header("retry-after"), Some("1"), "{dialect}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_error_format(dialect, r);
        assert_eq!(
            r.comparable(),
            refused[0].comparable(),
            "{dialect}: every 503 is the same"
        );
    }
    // The burst is over: the pool has drained and a login is admitted again.
    let after = send(good_login(&api, dialect)).await;
    assert_eq!(after.status, success(dialect), "{dialect} after the burst");
    api.server.shutdown().await;
}

#[tokio::test]
async fn jsonapi_burst_overflows_into_503_then_recovers() {
    burst_overflows_into_503_then_recovers(Dialect::JsonapiSessions).await;
}

#[tokio::test]
async fn service_burst_overflows_into_503_then_recovers() {
    burst_overflows_into_503_then_recovers(Dialect::SessionsService).await;
}

#[tokio::test]
async fn rails_burst_overflows_into_503_then_recovers() {
    burst_overflows_into_503_then_recovers(Dialect::RailsJwt).await;
}

#[tokio::test]
async fn form_burst_overflows_into_503_then_recovers() {
    burst_overflows_into_503_then_recovers(Dialect::FormSessions).await;
}

#[tokio::test]
async fn drf_burst_overflows_into_503_then_recovers() {
    burst_overflows_into_503_then_recovers(Dialect::DrfSessions).await;
}

#[test]
fn defaults_are_one_worker_per_core_and_a_queue_per_worker() {
    let config = ServerConfig::new(Dialect::RailsJwt);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert_eq!(config.hash_workers, cores);
    assert_eq!(config.hash_queue, cores * QUEUE_PER_WORKER);
}
