//! sessions-service: createSession / deleteSession with `X-Api-Key`.

use serde_json::{json, Value};
use sessionspec::server::Dialect;

use super::{send, with_headers, Api, Resp};

pub const EMAIL: &str = "jane@example.com";
pub const PASSWORD: &str = "s3cret-Passw0rd";
const CHALLENGE: &str = "ApiKey realm=\"sessions\"";

pub async fn create(api: &Api, body: &Value, extra: &[(&str, &str)]) -> Resp {
    let req = api.post("/sessions").body(body.to_string());
    let defaults = [
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ];
    send(with_headers(req, &defaults, extra)).await
}

pub fn creds(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

pub async fn destroy(api: &Api, id: &str, key: Option<&str>) -> Resp {
    let mut req = api
        .delete(&format!("/sessions/{id}"))
        .header("accept", "application/json");
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    send(req).await
}

/// (sessionId, apiKey) of a fresh session.
pub async fn session(api: &Api) -> (String, String) {
    let r = create(api, &creds(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201);
    let b = r.json();
    (
        b["sessionId"].as_str().unwrap().to_string(),
        b["apiKey"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn create_and_delete_with_api_key() {
    let api = Api::start(Dialect::SessionsService, &[]).await;
    let r = create(&api, &creds(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.no_store());
    let b = r.json();
    let id = b["sessionId"].as_str().unwrap();
    let key = b["apiKey"].as_str().unwrap();
    assert_eq!((id.len(), key.len()), (43, 43));
    assert_eq!(b["userId"], 1);
    assert_eq!(b["email"], EMAIL);
    let created = humantime::parse_rfc3339(b["createdAt"].as_str().unwrap()).unwrap();
    let expires = humantime::parse_rfc3339(b["expiresAt"].as_str().unwrap()).unwrap();
    assert!(expires > created);
    assert_eq!(
        r.header("location"),
        Some(format!("/sessions/{id}").as_str())
    );

    let (other_id, other_key) = session(&api).await;
    assert_ne!(other_key, key);

    let r = destroy(&api, id, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "missing_api_key");
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
    let r = destroy(&api, id, Some("not-a-key")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "invalid_api_key");
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
    let r = destroy(&api, &other_id, Some(key)).await;
    assert_eq!(r.status, 403, "a key acts on its own session only");
    assert_eq!(r.json()["code"], "forbidden");
    assert_eq!(
        destroy(&api, "unknown-session", Some(key)).await.status,
        403
    );

    let r = destroy(&api, id, Some(key)).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let r = destroy(&api, id, Some(key)).await;
    assert_eq!(r.status, 401, "the key is revoked");
    assert_eq!(r.json()["code"], "invalid_api_key");
    assert_eq!(destroy(&api, &other_id, Some(&other_key)).await.status, 204);
}

#[tokio::test]
async fn bad_credentials_and_bodies() {
    let api = Api::start(Dialect::SessionsService, &[]).await;
    let wrong = create(&api, &creds(EMAIL, "nope"), &[]).await;
    let unknown = create(&api, &creds("nobody@example.com", PASSWORD), &[]).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.json(),
        json!({"code": "invalid_credentials", "message": "Invalid email or password"})
    );
    assert_eq!(wrong.header("www-authenticate"), Some(CHALLENGE));
    assert_eq!(wrong.comparable(), unknown.comparable());

    for raw in ["{", "[1]", "null"] {
        let req = api
            .post("/sessions")
            .header("content-type", "application/json")
            .body(raw);
        let r = send(req).await;
        assert_eq!(r.status, 400, "{raw}");
        assert_eq!(r.json()["code"], "malformed_body");
    }
    for body in [
        json!({"email": EMAIL}),
        json!({"email": "", "password": PASSWORD}),
        json!({"email": 1, "password": PASSWORD}),
    ] {
        let r = create(&api, &body, &[]).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.json()["code"], "invalid_credentials_payload");
    }
}

#[tokio::test]
async fn negotiation() {
    let api = Api::start(Dialect::SessionsService, &[]).await;
    let good = creds(EMAIL, PASSWORD);
    for accept in ["text/html", "application/vnd.api+json", "application/xml"] {
        let r = create(&api, &good, &[("accept", accept)]).await;
        assert_eq!(r.status, 406, "{accept}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    for accept in ["*/*", "application/*", "application/json; charset=utf-8"] {
        assert_eq!(
            create(&api, &good, &[("accept", accept)]).await.status,
            201,
            "{accept}"
        );
    }
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
    ] {
        let r = create(&api, &good, &[("content-type", ct)]).await;
        assert_eq!(r.status, 415, "{ct}");
        assert_eq!(r.json()["code"], "unsupported_media_type");
    }
    assert_eq!(
        create(
            &api,
            &good,
            &[("content-type", "application/json; charset=utf-8")]
        )
        .await
        .status,
        201
    );
    let (id, key) = session(&api).await;
    let r = send(
        api.delete(&format!("/sessions/{id}"))
            .header("accept", "text/html")
            .header("x-api-key", &key),
    )
    .await;
    assert_eq!(r.status, 406);
    let r = send(api.get(&format!("/sessions/{id}"))).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("DELETE")));
    assert_eq!(send(api.post("/sessions/")).await.status, 404);
}
