//! rails-jwt: form login answering a JWT, with Rails' security headers on every response.

use sessionspec::server::Dialect;

use super::{jwt_claims, jwt_header, send, unix_now, Api, Resp};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

pub async fn login(api: &Api, body: &str) -> Resp {
    send(
        api.post("/api/v1/sessions")
            .header("content-type", FORM)
            .body(body.to_string()),
    )
    .await
}

pub const GOOD: &str = "email=foo%40bar.com&password=foobar";

/// The six documented security headers, `X-Request-Id` (UUID v4) and `X-Runtime`.
fn assert_rails_headers(r: &Resp) {
    let expected = [
        ("x-frame-options", "SAMEORIGIN"),
        ("x-xss-protection", "1; mode=block"),
        ("x-content-type-options", "nosniff"),
        ("x-download-options", "noopen"),
        ("x-permitted-cross-domain-policies", "none"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ];
    for (name, value) in expected {
        assert_eq!(r.header(name), Some(value), "{name} on a {}", r.status);
    }
    let uuid =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    assert!(
        uuid.is_match(r.header("x-request-id").unwrap_or_default()),
        "X-Request-Id on a {}",
        r.status
    );
    let runtime = r.header("x-runtime").unwrap_or_default();
    assert!(
        runtime.parse::<f64>().is_ok_and(|s| s >= 0.0),
        "X-Runtime {runtime:?}"
    );
}

#[tokio::test]
async fn login_answers_a_jwt() {
    let api = Api::start(Dialect::RailsJwt, &[]).await;
    let r = login(&api, GOOD).await;
    assert_eq!(r.status, 200);
    assert_rails_headers(&r);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(
        r.header("cache-control"),
        Some("max-age=0, private, must-revalidate, no-store")
    );
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let etag = r.header("etag").unwrap();
    assert_eq!(
        etag,
        format!("W/{}", super::etag_of(&r.body)),
        "weak ETag of the body"
    );
    let body = r.json();
    assert_eq!(body.as_object().map(serde_json::Map::len), Some(1));
    let token = body["auth_token"].as_str().unwrap();
    assert_eq!(jwt_header(token)["alg"], "HS256");
    let claims = jwt_claims(token);
    assert_eq!(claims["user_id"], 1);
    let exp = claims["exp"].as_u64().unwrap();
    let day = 24 * 60 * 60;
    assert!(exp.abs_diff(unix_now() + day) <= 5, "exp is now + 24 h");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let again = login(&api, GOOD).await.json();
    assert_ne!(
        again["auth_token"], body["auth_token"],
        "a new token on every login"
    );
}

#[tokio::test]
async fn errors_401_422_415_400() {
    let api = Api::start(Dialect::RailsJwt, &[]).await;
    let unknown = login(&api, "email=nonexist%40mail.com&password=toets").await;
    let wrong = login(&api, "email=foo%40bar.com&password=toets").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.json(),
        serde_json::json!({"message": "Invalid credentials"})
    );
    assert_eq!(unknown.header("content-type"), Some(JSON_UTF8));
    assert_eq!(unknown.header("cache-control"), Some("no-cache"));
    assert!(unknown.header("etag").is_none());
    assert_rails_headers(&unknown);
    assert_eq!(unknown.comparable(), wrong.comparable());

    for body in [
        "email=foo%40bar.com",
        "password=foobar",
        "email=&password=foobar",
        "",
    ] {
        let r = login(&api, body).await;
        assert_eq!(r.status, 422, "{body:?}");
        assert_eq!(r.json()["message"], "email and password are required");
    }
    let json_body = api
        .post("/api/v1/sessions")
        .header("content-type", "application/json")
        .body(r#"{"email":"foo@bar.com","password":"foobar"}"#);
    let r = send(json_body).await;
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["message"], "Unsupported media type");
    assert_rails_headers(&r);
    let r = login(&api, "email=foo%zz&password=foobar").await;
    assert_eq!(r.status, 400);
    let charset = send(
        api.post("/api/v1/sessions")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body(GOOD),
    )
    .await;
    assert_eq!(charset.status, 200);
}

#[tokio::test]
async fn every_response_has_the_security_headers() {
    let api = Api::start(Dialect::RailsJwt, &[]).await;
    let not_found = send(api.get("/api/v1/sessions/current")).await;
    assert_eq!(not_found.status, 404, "not documented, not served");
    assert_rails_headers(&not_found);
    assert_eq!(not_found.header("content-type"), Some(JSON_UTF8));
    let not_allowed = send(api.get("/api/v1/sessions")).await;
    assert_eq!(
        (not_allowed.status, not_allowed.header("allow")),
        (405, Some("POST"))
    );
    assert_rails_headers(&not_allowed);
    let a = login(&api, GOOD).await;
    let b = login(&api, GOOD).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}
