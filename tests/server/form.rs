//! form-sessions: API token on every request, `form_name`, session cookie.

use serde_json::{json, Value};
use sessionspec::server::Dialect;

use super::{send, with_headers, Api, Resp};

pub const CT: &str = "application/vnd.api+json";
pub const AUTH: &str = "Token token=form-api-token-0001";
pub const EMAIL: &str = "example1@example.com";
pub const PASSWORD: &str = "somepassword";

pub fn create_doc(email: &str, password: &str) -> Value {
    json!({"form_name": "reference_rest_api_create_sessions", "form": {"email": email, "password": password}})
}

pub fn delete_doc() -> Value {
    json!({"form_name": "reference_rest_api_delete_sessions"})
}

fn defaults() -> [(&'static str, &'static str); 3] {
    [
        ("authorization", AUTH),
        ("accept", "application/json"),
        ("content-type", "application/json"),
    ]
}

pub async fn create(api: &Api, body: &Value, extra: &[(&str, &str)]) -> Resp {
    let req = api.post("/api/sessions").body(body.to_string());
    send(with_headers(req, &defaults(), extra)).await
}

pub async fn destroy(api: &Api, body: &Value, extra: &[(&str, &str)]) -> Resp {
    let req = api.delete("/api/sessions").body(body.to_string());
    send(with_headers(req, &defaults(), extra)).await
}

/// `_form_session=SECRET` of a fresh login.
pub async fn session(api: &Api) -> String {
    let r = create(api, &create_doc(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201);
    cookie_pair(&r)
}

pub fn cookie_pair(r: &Resp) -> String {
    let set = r.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().unwrap_or_default().to_string()
}

fn title(r: &Resp) -> Value {
    r.json()["errors"][0]["title"].clone()
}

#[tokio::test]
async fn login_and_logout_with_a_cookie() {
    let api = Api::start(Dialect::FormSessions, &[]).await;
    let r = create(&api, &create_doc(EMAIL, PASSWORD), &[]).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some(CT));
    assert_eq!(r.body, b"{}");
    assert!(r.no_store());
    let set = r.header("set-cookie").unwrap();
    let re =
        regex::Regex::new("^_form_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$")
            .unwrap();
    assert!(re.is_match(set), "{set}");
    let cookie = cookie_pair(&r);
    assert_ne!(session(&api).await, cookie, "a new secret on every login");

    let r = destroy(&api, &delete_doc(), &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(
        r.header("set-cookie"),
        Some("_form_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    );
    let r = destroy(&api, &delete_doc(), &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 401, "use after logout");
    assert_eq!(title(&r), "Invalid Authentication");
    let r = destroy(&api, &delete_doc(), &[]).await;
    assert_eq!(r.status, 401, "no session cookie");
    let r = destroy(&api, &delete_doc(), &[("cookie", "_form_session=forged")]).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn api_token_is_checked_first() {
    let api = Api::start(Dialect::FormSessions, &[]).await;
    let good = create_doc(EMAIL, PASSWORD);
    let expected = json!({"errors": [{"status": "401", "title": "Invalid Authentication"}]});
    let wrong_token = create(&api, &good, &[("authorization", "Token token=nope")]).await;
    assert_eq!(wrong_token.status, 401);
    assert_eq!(wrong_token.json(), expected);
    assert_eq!(wrong_token.header("content-type"), Some(CT));
    let no_token = send(
        api.post("/api/sessions")
            .header("content-type", "application/json")
            .body(good.to_string()),
    )
    .await;
    assert_eq!(no_token.status, 401);
    assert_eq!(
        create(
            &api,
            &good,
            &[("authorization", "Token token=\"form-api-token-0001\"")]
        )
        .await
        .status,
        201
    );
    // Order: API token (401) before Accept/form_name (406).
    let r = destroy(
        &api,
        &json!({"form_name": "x"}),
        &[("authorization", "Bearer x"), ("accept", "text/html")],
    )
    .await;
    assert_eq!(r.status, 401);
    // Accept/form_name (406) before the session (401).
    let r = destroy(&api, &json!({"form_name": "x"}), &[]).await;
    assert_eq!(r.status, 406);
    // Bad credentials: the same 401 as a bad API token.
    let wrong = create(&api, &create_doc(EMAIL, "nope"), &[]).await;
    let unknown = create(&api, &create_doc("nobody@example.com", PASSWORD), &[]).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json(), expected);
    assert_eq!(wrong.comparable(), unknown.comparable());
    assert_eq!(wrong.comparable(), wrong_token.comparable());
}

#[tokio::test]
async fn wrong_parameters_406_and_validation_422() {
    let api = Api::start(Dialect::FormSessions, &[]).await;
    for body in [
        json!({"form_name": "other", "form": {"email": EMAIL, "password": PASSWORD}}),
        json!({"form": {"email": EMAIL, "password": PASSWORD}}),
        json!({"form_name": "reference_rest_api_create_sessions"}),
        json!({"form_name": "reference_rest_api_create_sessions", "form": "x"}),
    ] {
        let r = create(&api, &body, &[]).await;
        assert_eq!(r.status, 406, "{body}");
        assert_eq!(title(&r), "Not Acceptable");
        assert_eq!(r.json()["errors"][0]["detail"], "Wrong parameters passed");
    }
    let cases = [
        (create_doc("not-an-email", PASSWORD), "/form/email"),
        (
            json!({"form_name": "reference_rest_api_create_sessions", "form": {"password": PASSWORD}}),
            "/form/email",
        ),
        (create_doc(EMAIL, ""), "/form/password"),
    ];
    for (body, pointer) in cases {
        let r = create(&api, &body, &[]).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.json()["errors"][0]["source"]["pointer"], pointer);
        assert_eq!(r.json()["errors"][0]["status"], "422");
    }
    let r = send(with_headers(
        api.post("/api/sessions").body("{oops"),
        &defaults(),
        &[],
    ))
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some(CT));
    for accept in ["text/html", "application/xml"] {
        let r = create(&api, &create_doc(EMAIL, PASSWORD), &[("accept", accept)]).await;
        assert_eq!(r.status, 406, "{accept}");
    }
    for accept in ["application/vnd.api+json", "*/*"] {
        assert_eq!(
            create(&api, &create_doc(EMAIL, PASSWORD), &[("accept", accept)])
                .await
                .status,
            201
        );
    }
    let r = create(
        &api,
        &create_doc(EMAIL, PASSWORD),
        &[("content-type", "text/plain")],
    )
    .await;
    assert_eq!(r.status, 415);
    let r = send(with_headers(api.get("/api/sessions"), &defaults(), &[])).await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.header("allow")
            .map(|a| a.contains("POST") && a.contains("DELETE")),
        Some(true)
    );
}
