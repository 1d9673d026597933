//! Target profiles end to end: a target that logs in at another path and needs a header fails
//! the shipped spec at its first step (and the summary says so in one line); the shipped spec
//! plus a profile passes; a case the profile skips is reported as skipped, with its reason, in
//! every report format and never as a pass.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{Request, Response, StatusCode};
use sessionspec::server::{self, Dialect, HashCost, RunningServer, ServerConfig};

use crate::support;

/// A "real" deployment of the rails-jwt API: the reference server behind a gateway that serves
/// the login at `/auth/login` (not `/api/v1/sessions`) and refuses requests without `X-Client: qa`.
struct Gateway {
    url: String,
    backend: RunningServer,
    task: tokio::task::JoinHandle<()>,
}

async fn forward(State(backend): State<String>, req: Request<Body>) -> Response<Body> {
    let refuse = |status: StatusCode, body: &'static str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap_or_default()
    };
    if req.headers().get("x-client").and_then(|v| v.to_str().ok()) != Some("qa") {
        return refuse(
            StatusCode::BAD_REQUEST,
            r#"{"error":"X-Client header required"}"#,
        );
    }
    let path = match req.uri().path() {
        "/auth/login" => "/api/v1/sessions",
        _ => return refuse(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#),
    };
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = reqwest::Client::new().request(method, format!("{backend}{path}"));
    for (name, value) in req.headers() {
        if name != "host" && name != "content-length" {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let body = to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let Ok(answer) = out.body(body.to_vec()).send().await else {
        return refuse(StatusCode::BAD_GATEWAY, r#"{"error":"backend"}"#);
    };
    let mut reply = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            reply = reply.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    reply.body(Body::from(bytes)).unwrap_or_default()
}

impl Gateway {
    async fn start() -> Gateway {
        let mut config = ServerConfig::new(Dialect::RailsJwt);
        config.hash_cost = HashCost::Low;
        let backend = server::start(config).await.unwrap();
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(backend.base_url());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gateway { url, backend, task }
    }

    async fn stop(self) {
        self.task.abort();
        self.backend.shutdown().await;
    }
}

const PROFILE: &str = r#"{
  "$schema": "schema/profile.schema.json",
  "spec": "rails-jwt",
  "description": "our gateway: login at /auth/login, an X-Client header on every request",
  "headers": { "X-Client": "qa" },
  "operations": { "login": { "path": "/auth/login" } },
  "cases": { "request-id-per-request": { "skip": "the gateway sets its own X-Request-Id" } }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_adapts_the_shipped_spec_to_a_gateway() {
    let gateway = Gateway::start().await;
    let dir = support::temp_dir();
    let profile = dir.path().join("gateway.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let url = gateway.url.clone();
    let reports: Vec<String> = [
        ("json", "check.json"),
        ("junit", "check.xml"),
        ("markdown", "check.md"),
        ("html", "check.html"),
    ]
    .iter()
    .flat_map(|(f, n)| {
        [
            "--report".to_owned(),
            format!("{f}:{}", dir.path().join(n).display()),
        ]
    })
    .collect();

    // Without the profile: every case fails at its first step, and one line says why.
    let u = url.clone();
    let out = tokio::task::spawn_blocking(move || {
        support::run(
            ["check", "--spec", "rails-jwt", "--target", &u],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stdout
            .contains("16 of 16 cases failed at their first `login` step: 400"),
        "{}",
        out.transcript()
    );

    // With it (no --spec: the profile names it), every counted case passes; one is skipped.
    let mut args = vec![
        "check".to_owned(),
        "--profile".to_owned(),
        profile.display().to_string(),
        "--target".to_owned(),
        url.clone(),
        "--strict".to_owned(),
    ];
    args.extend(reports);
    let out = tokio::task::spawn_blocking(move || support::run(&args, Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(out.stdout.contains("profile: "), "{}", out.stdout);
    assert!(
        out.stdout.contains("operation `login`: path"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("(not applicable: the gateway sets its own X-Request-Id)"),
        "{}",
        out.stdout
    );

    let (value, outcome) = support::read_json_report(&dir.path().join("check.json"));
    let case = outcome.specs[0]
        .cases
        .iter()
        .find(|c| c.id == "request-id-per-request")
        .unwrap();
    assert_eq!(case.status.as_str(), "skipped");
    assert_eq!(
        case.skip_reason.as_deref(),
        Some("the gateway sets its own X-Request-Id")
    );
    assert_eq!(value["summary"]["verdict"], "pass");
    assert_eq!(value["profile"]["spec"], "rails-jwt");
    let junit = std::fs::read_to_string(dir.path().join("check.xml")).unwrap();
    assert!(
        junit.contains(r#"<skipped message="not applicable to this target: the gateway sets its own X-Request-Id"/>"#),
        "{junit}"
    );
    let md = std::fs::read_to_string(dir.path().join("check.md")).unwrap();
    assert!(
        md.contains("Profile `") && md.contains("request-id-per-request\\` skipped: the gateway"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.path().join("check.html")).unwrap();
    assert!(
        html.contains(
            "Not applicable to this target (profile): the gateway sets its own X-Request-Id"
        ),
        "{html}"
    );
    gateway.stop().await;
}

#[test]
fn a_profile_that_skips_every_counted_case_is_incomplete_not_pass() {
    let dir = support::temp_dir();
    let loaded =
        sessionspec::spec::load_spec(&support::root().join("specs/rails-jwt.json")).unwrap();
    let skips: Vec<String> = loaded
        .spec
        .cases
        .iter()
        .map(|c| format!("\"{}\": {{\"skip\": \"not here\"}}", c.id))
        .collect();
    let profile = dir.path().join("all.json");
    std::fs::write(
        &profile,
        format!(
            "{{\"spec\": \"rails-jwt\", \"cases\": {{{}}}}}",
            skips.join(", ")
        ),
    )
    .unwrap();
    let json = dir.path().join("check.json");
    let out = support::run(
        [
            "check",
            "--profile",
            &profile.display().to_string(),
            "--report",
            &format!("json:{}", json.display()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let (value, _) = support::read_json_report(&json);
    assert_eq!(value["summary"]["verdict"], "incomplete");
}

#[test]
fn a_wrong_profile_is_located() {
    let dir = support::temp_dir();
    let profile = dir.path().join("bad.json");
    std::fs::write(
        &profile,
        "{\"spec\": \"rails-jwt\",\n \"operations\": {\"logn\": {\"path\": \"/x\"}}}",
    )
    .unwrap();
    let out = support::run(
        ["check", "--profile", &profile.display().to_string()],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(2), "{}", out.transcript());
    assert_eq!(
        out.stderr.trim(),
        format!(
            "error: {}:2:25: /operations/logn: spec `rails-jwt` has no operation `logn` (did you mean `login`?)",
            profile.display()
        ),
        "{}",
        out.transcript()
    );
}
