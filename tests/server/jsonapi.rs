//! jsonapi-sessions: create/destroy, JSON:API negotiation, 400/422, conditional requests.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use sessionspec::server::Dialect;

use super::{etag_of, http_date, raw, send, with_headers, Api, Resp};

pub const CT: &str = "application/vnd.api+json";
pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

pub fn doc(email: &str, password: &str) -> Value {
    json!({"data": {"type": "sessions", "attributes": {"email": email, "password": password}}})
}

/// `POST /v1/sessions` with JSON:API headers plus `extra`.
pub async fn create(api: &Api, body: &Value, extra: &[(&str, &str)]) -> Resp {
    let req = api.post("/v1/sessions").body(body.to_string());
    send(with_headers(
        req,
        &[("accept", CT), ("content-type", CT)],
        extra,
    ))
    .await
}

pub async fn destroy(api: &Api, id: &str, extra: &[(&str, &str)]) -> Resp {
    let req = api.delete(&format!("/v1/sessions/{id}"));
    send(with_headers(req, &[("accept", CT)], extra)).await
}

/// A fresh session: (id, ETag, Last-Modified).
pub async fn session(api: &Api) -> (String, String, String) {
    let r = create(api, &doc(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    let id = r.json()["data"]["id"]
        .as_str()
        .expect("data.id")
        .to_string();
    let etag = r.header("etag").expect("ETag").to_string();
    let lm = r
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    (id, etag, lm)
}

fn first_error(r: &Resp) -> Value {
    let doc = r.json();
    assert!(doc.get("data").is_none(), "errors and data never together");
    doc["errors"][0].clone()
}

#[tokio::test]
async fn create_and_destroy_a_session() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let r = create(&api, &doc(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some(CT));
    let body = r.json();
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 43);
    let link = format!("/v1/sessions/{id}");
    assert_eq!(body["data"]["type"], "sessions");
    assert_eq!(body["data"]["attributes"]["email"], EMAIL);
    assert_eq!(body["data"]["links"]["self"], link.as_str());
    assert_eq!(body["links"]["self"], link.as_str());
    assert_eq!(r.header("location"), Some(link.as_str()));
    assert_eq!(
        r.header("etag"),
        Some(etag_of(&r.body).as_str()),
        "strong ETag of the body"
    );
    let created =
        humantime::parse_rfc3339(body["data"]["attributes"]["created_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(r.header("last-modified"), Some(http_date(created).as_str()));
    assert!(r.no_store());
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    let (other, _, _) = session(&api).await;
    assert_ne!(other, id, "a new id on every login");

    let r = destroy(&api, &id, &[]).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), Some(CT));
    let r = destroy(&api, &id, &[]).await;
    assert_eq!(r.status, 404, "use after delete");
    assert_eq!(first_error(&r)["code"], "not_found");
    assert_eq!(destroy(&api, &other, &[]).await.status, 204);
}

#[tokio::test]
async fn bad_credentials_are_indistinguishable() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let wrong = create(&api, &doc(EMAIL, "wrong"), &[]).await;
    let unknown = create(&api, &doc("nobody@example.com", PASSWORD), &[]).await;
    assert_eq!(wrong.status, 401);
    let e = first_error(&wrong);
    assert_eq!(
        (e["status"].as_str(), e["code"].as_str()),
        (Some("401"), Some("invalid_credentials"))
    );
    assert_eq!(e["title"], "Invalid credentials");
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Session realm=\"sessions\"")
    );
    assert_eq!(wrong.header("content-type"), Some(CT));
    assert_eq!(wrong.comparable(), unknown.comparable());
}

#[tokio::test]
async fn negotiation_406_and_415() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let good = doc(EMAIL, PASSWORD);
    for accept in [
        "text/html",
        "application/json",
        "application/vnd.api+json; charset=utf-8",
    ] {
        let r = create(&api, &good, &[("accept", accept)]).await;
        assert_eq!(r.status, 406, "Accept: {accept}");
        assert_eq!(r.header("content-type"), Some(CT));
        assert_eq!(first_error(&r)["status"], "406");
    }
    for accept in [
        "*/*",
        "application/*",
        "application/vnd.api+json;charset=utf-8, */*;q=0.1",
        "application/vnd.api+json; profile=\"https://example.com/p\"",
    ] {
        assert_eq!(
            create(&api, &good, &[("accept", accept)]).await.status,
            201,
            "Accept: {accept}"
        );
    }
    let (status, _) = raw(
        &api,
        "POST",
        "/v1/sessions",
        &[("Content-Type", CT)],
        &good.to_string(),
    )
    .await;
    assert_eq!(status, 201, "no Accept at all");
    for ct in [
        "application/json",
        "application/vnd.api+json; charset=utf-8",
        "text/plain",
    ] {
        let r = create(&api, &good, &[("content-type", ct)]).await;
        assert_eq!(r.status, 415, "Content-Type: {ct}");
        assert_eq!(first_error(&r)["status"], "415");
    }
    let r = create(
        &api,
        &good,
        &[(
            "content-type",
            "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"",
        )],
    )
    .await;
    assert_eq!(r.status, 201);
    let no_type = api
        .post("/v1/sessions")
        .header("accept", CT)
        .body(good.to_string());
    assert_eq!(
        send(no_type).await.status,
        415,
        "a create must say its Content-Type"
    );
    // Negotiation on DELETE too, before the lookup.
    let (id, _, _) = session(&api).await;
    assert_eq!(
        destroy(&api, &id, &[("accept", "text/html")]).await.status,
        406
    );
    assert_eq!(
        destroy(&api, "unknown", &[("accept", "text/html")])
            .await
            .status,
        406
    );
    assert_eq!(destroy(&api, &id, &[]).await.status, 204);
}

#[tokio::test]
async fn malformed_is_400_invalid_is_422() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    for raw in ["{", "[]", "\"text\"", ""] {
        let req = api
            .post("/v1/sessions")
            .header("accept", CT)
            .header("content-type", CT)
            .body(raw);
        let r = send(req).await;
        assert_eq!(r.status, 400, "body {raw:?}");
        assert_eq!(first_error(&r)["code"], "malformed_body");
    }
    let cases = [
        (json!({}), "/data"),
        (
            json!({"data": {"type": "users", "attributes": {"email": EMAIL, "password": PASSWORD}}}),
            "/data/type",
        ),
        (json!({"data": {"type": "sessions"}}), "/data/attributes"),
        (
            json!({"data": {"type": "sessions", "attributes": {"password": PASSWORD}}}),
            "/data/attributes/email",
        ),
        (
            json!({"data": {"type": "sessions", "attributes": {"email": "", "password": PASSWORD}}}),
            "/data/attributes/email",
        ),
        (
            json!({"data": {"type": "sessions", "attributes": {"email": EMAIL, "password": 7}}}),
            "/data/attributes/password",
        ),
    ];
    for (body, pointer) in cases {
        let r = create(&api, &body, &[]).await;
        assert_eq!(r.status, 422, "{body}");
        let e = first_error(&r);
        assert_eq!(
            (e["status"].as_str(), e["code"].as_str()),
            (Some("422"), Some("invalid_attribute"))
        );
        assert_eq!(e["source"]["pointer"], pointer, "{body}");
    }
}

#[tokio::test]
async fn conditional_create_on_the_collection() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let good = doc(EMAIL, PASSWORD);
    for if_match in ["*", "\"abc\""] {
        let r = create(&api, &good, &[("if-match", if_match)]).await;
        assert_eq!(r.status, 412, "If-Match: {if_match}");
        assert_eq!(first_error(&r)["code"], "precondition_failed");
    }
    assert_eq!(
        create(&api, &good, &[("if-none-match", "*")]).await.status,
        201
    );
    let past = http_date(SystemTime::now() - Duration::from_secs(3600));
    assert_eq!(
        create(&api, &good, &[("if-unmodified-since", &past)])
            .await
            .status,
        201
    );
    assert_eq!(
        create(&api, &good, &[("if-modified-since", &past)])
            .await
            .status,
        201
    );
    // §13.2.1: statuses that would be neither 2xx nor 412 win.
    assert_eq!(
        create(&api, &doc(EMAIL, "wrong"), &[("if-match", "*")])
            .await
            .status,
        401
    );
    assert_eq!(
        create(&api, &json!({}), &[("if-match", "*")]).await.status,
        422
    );
    assert_eq!(
        create(&api, &good, &[("if-match", "*"), ("accept", "text/html")])
            .await
            .status,
        406
    );
}

#[tokio::test]
async fn conditional_destroy_follows_rfc_9110_order() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let past = http_date(SystemTime::now() - Duration::from_secs(3600));
    let future = http_date(SystemTime::now() + Duration::from_secs(3600));

    let (id, etag, _) = session(&api).await;
    let weak = format!("W/{etag}");
    for if_match in [weak.as_str(), "\"other\"", "garbage"] {
        let r = destroy(&api, &id, &[("if-match", if_match)]).await;
        assert_eq!(r.status, 412, "If-Match: {if_match}");
        assert_eq!(first_error(&r)["code"], "precondition_failed");
        assert_eq!(
            r.header("etag"),
            Some(etag.as_str()),
            "412 carries the current ETag"
        );
    }
    assert_eq!(
        destroy(&api, &id, &[("if-unmodified-since", &past)])
            .await
            .status,
        412
    );
    for inm in [etag.as_str(), weak.as_str(), "*"] {
        assert_eq!(
            destroy(&api, &id, &[("if-none-match", inm)]).await.status,
            412,
            "If-None-Match: {inm}"
        );
    }
    // If-Match true, so If-Unmodified-Since is not looked at.
    let r = destroy(
        &api,
        &id,
        &[
            ("if-match", &format!("\"x\", {etag}")),
            ("if-unmodified-since", &past),
        ],
    )
    .await;
    assert_eq!(r.status, 204);
    // 404 wins over any precondition.
    assert_eq!(destroy(&api, &id, &[("if-match", &etag)]).await.status, 404);

    let (id, etag, lm) = session(&api).await;
    // If-Match passes but If-None-Match matches: 412 for a DELETE.
    assert_eq!(
        destroy(&api, &id, &[("if-match", &etag), ("if-none-match", &etag)])
            .await
            .status,
        412
    );
    assert_eq!(
        destroy(
            &api,
            &id,
            &[
                ("if-unmodified-since", &lm),
                ("if-none-match", "\"other\""),
                ("if-modified-since", &future)
            ]
        )
        .await
        .status,
        204
    );

    let (id, _, _) = session(&api).await;
    assert_eq!(
        destroy(
            &api,
            &id,
            &[("if-unmodified-since", "not a date"), ("if-match", "*")]
        )
        .await
        .status,
        204
    );
    let (id, _, _) = session(&api).await;
    assert_eq!(
        destroy(&api, &id, &[("if-unmodified-since", &future)])
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn routing_404_and_405() {
    let api = Api::start(Dialect::JsonapiSessions, &[]).await;
    let r = send(api.get("/v1/sessions").header("accept", CT)).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.header("content-type"), Some(CT));
    assert_eq!(first_error(&r)["status"], "405");
    let r = send(api.request(reqwest::Method::PUT, "/v1/sessions/abc")).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("DELETE")));
    for path in ["/", "/v1/sessions/", "/v1/session", "/v1/sessions/a/b"] {
        let r = send(api.delete(path)).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some(CT));
        assert_eq!(first_error(&r)["code"], "not_found");
    }
}
