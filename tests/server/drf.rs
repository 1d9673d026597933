//! drf-sessions: user and client logins, lists with ETag/Last-Modified and conditional GET/HEAD,
//! deletes, 401 vs 403.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use sessionspec::server::Dialect;

use super::{etag_of, http_date, jwt_claims, send, unix_now, with_headers, Api, Resp};

pub const USER: (&str, &str) = ("user3@gmail.com", "user3-password");
pub const CLIENT: (&str, &str) = ("+79137779135", "client1-password");

pub async fn login_user(api: &Api, email: &str, password: &str, agent: &str) -> Resp {
    let req = api
        .post("/sessions/session-user-c/")
        .header("content-type", "application/json")
        .header("user-agent", agent)
        .body(json!({"email": email, "password": password}).to_string());
    send(req).await
}

/// (session id, access token) of a fresh login of user 5.
pub async fn user_session(api: &Api, agent: &str) -> (u64, String) {
    let r = login_user(api, USER.0, USER.1, agent).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json();
    (
        b["id"].as_u64().unwrap(),
        b["access"].as_str().unwrap().to_string(),
    )
}

pub async fn list(api: &Api, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Resp {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut defaults = vec![("accept", "application/json")];
    if let Some(b) = &bearer {
        defaults.push(("authorization", b.as_str()));
    }
    send(with_headers(api.get(path), &defaults, extra)).await
}

pub async fn delete(api: &Api, path: &str, token: &str) -> Resp {
    send(
        api.delete(path)
            .header("authorization", format!("Bearer {token}")),
    )
    .await
}

const LIST5: &str = "/sessions/session-user-l/5/";

#[tokio::test]
async fn user_lifecycle() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let r = login_user(&api, USER.0, USER.1, "PostmanRuntime/7.28.3").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.no_store());
    let b = r.json();
    assert_eq!(b["user_id"], 5);
    let first = b["id"].as_u64().unwrap();
    let token = b["access"].as_str().unwrap().to_string();
    let claims = jwt_claims(&token);
    assert_eq!(claims["token_type"], "access");
    assert_eq!(claims["user_id"], 5);
    assert!(claims["exp"].as_u64().unwrap().abs_diff(unix_now() + 3600) <= 5);
    assert_eq!(claims["jti"].as_str().map(str::len), Some(32));
    let (second, token2) = user_session(&api, "curl/8").await;
    assert!(second > first);

    let r = list(&api, LIST5, Some(&token), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("etag"), Some(etag_of(&r.body).as_str()));
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
    assert_eq!(r.header("vary"), Some("Authorization"));
    let lm = httpdate::parse_http_date(r.header("last-modified").unwrap()).unwrap();
    assert!(lm <= SystemTime::now() && lm + Duration::from_secs(10) > SystemTime::now());
    let items = r.json();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], first, "oldest first");
    assert_eq!(items[0]["device"], "PostmanRuntime/7.28.3");
    assert_eq!(items[1]["device"], "curl/8");
    let user = &items[0]["user"];
    assert_eq!(user.as_object().map(serde_json::Map::len), Some(12));
    assert_eq!(user["email"], USER.0);
    assert_eq!(user["phone"], "+79137779135");
    assert_eq!(user["confirmed_email"], true);
    assert_eq!(user["created_at"], "2021-09-08T12:22:26.072030Z");

    let head = send(with_headers(
        api.request(reqwest::Method::HEAD, LIST5),
        &[("authorization", &format!("Bearer {token}"))],
        &[],
    ))
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), r.header("etag"));

    // Delete the second session with the first one's token, then the first with its own.
    let r = delete(&api, &format!("/sessions/session-user-d/{second}/"), &token).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let r = list(&api, LIST5, Some(&token2), &[]).await;
    assert_eq!(r.status, 403, "the deleted session's token");
    assert_eq!(
        r.json()["detail"],
        "You do not have permission to perform this action."
    );
    assert_eq!(
        list(&api, LIST5, Some(&token), &[])
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        delete(&api, &format!("/sessions/session-user-d/{first}/"), &token)
            .await
            .status,
        204
    );
    assert_eq!(
        list(&api, LIST5, Some(&token), &[]).await.status,
        403,
        "use after logout"
    );
}

#[tokio::test]
async fn client_lifecycle() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let req = api
        .post("/sessions/session-client-c/")
        .header("content-type", "application/json")
        .header("user-agent", "app/1")
        .body(json!({"phone": CLIENT.0, "password": CLIENT.1}).to_string());
    let r = send(req).await;
    assert_eq!(r.status, 201);
    let b = r.json();
    assert_eq!(b["client_id"], 1);
    let token = b["access"].as_str().unwrap().to_string();
    assert_eq!(jwt_claims(&token)["client_id"], 1);
    let r = list(&api, "/sessions/session-client-l/1/", Some(&token), &[]).await;
    assert_eq!(r.status, 200);
    let item = &r.json()[0];
    assert_eq!(item["client"]["surname"], "Client1");
    assert_eq!(item["device"], "app/1");
    assert!(item.get("user").is_none());
    // A client token on a user endpoint, and the other way round.
    assert_eq!(list(&api, LIST5, Some(&token), &[]).await.status, 403);
    let (user_sid, user_token) = user_session(&api, "x").await;
    assert_eq!(
        list(
            &api,
            "/sessions/session-client-l/1/",
            Some(&user_token),
            &[]
        )
        .await
        .status,
        403
    );
    assert_eq!(
        delete(
            &api,
            &format!("/sessions/session-client-d/{user_sid}/"),
            &token
        )
        .await
        .status,
        403
    );
    let sid = b["id"].as_u64().unwrap();
    assert_eq!(
        delete(&api, &format!("/sessions/session-client-d/{sid}/"), &token)
            .await
            .status,
        204
    );
    assert_eq!(
        list(&api, "/sessions/session-client-l/1/", Some(&token), &[])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn authentication_401_and_permission_403() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let r = list(&api, LIST5, None, &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"detail": "Authentication credentials were not provided."})
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    for bad in ["garbage", "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo1fQ.c2ln"] {
        let r = list(&api, LIST5, Some(bad), &[]).await;
        assert_eq!(r.status, 401, "{bad}");
        assert_eq!(
            r.json()["detail"],
            "Given token not valid for any token type"
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"api\", error=\"invalid_token\"")
        );
    }
    let (sid, token) = user_session(&api, "x").await;
    let r = login_user(&api, "user4@gmail.com", "user4-password", "y").await;
    let other_sid = r.json()["id"].as_u64().unwrap();
    let other_token = r.json()["access"].as_str().unwrap().to_string();
    assert_eq!(
        list(&api, "/sessions/session-user-l/6/", Some(&token), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        delete(
            &api,
            &format!("/sessions/session-user-d/{other_sid}/"),
            &token
        )
        .await
        .status,
        403
    );
    assert_eq!(
        delete(&api, "/sessions/session-user-d/999/", &token)
            .await
            .status,
        403
    );
    assert_eq!(
        delete(
            &api,
            &format!("/sessions/session-user-d/{sid}/"),
            &other_token
        )
        .await
        .status,
        403
    );
    assert_eq!(
        list(&api, "/sessions/session-user-l/6/", Some(&other_token), &[])
            .await
            .status,
        200
    );
    // An unauthenticated conditional request: 401 wins over 304/412 (§13.2.1).
    let r = list(&api, LIST5, None, &[("if-none-match", "*")]).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn logins_400_401_406_415() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let wrong = login_user(&api, USER.0, "nope", "x").await;
    let unknown = login_user(&api, "nobody@example.com", USER.1, "x").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.json(),
        json!({"detail": "No active account found with the given credentials"})
    );
    assert_eq!(wrong.comparable(), unknown.comparable());
    let post = |body: &str, ct: &str| {
        api.post("/sessions/session-user-c/")
            .header("content-type", ct)
            .body(body.to_string())
    };
    let r = send(post(r#"{"password":"x"}"#, "application/json")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"email": ["This field is required."]}));
    let r = send(post("{}", "application/json")).await;
    assert_eq!(
        r.json(),
        json!({"email": ["This field is required."], "password": ["This field is required."]})
    );
    let r = send(post(r#"{"email":"","password":"x"}"#, "application/json")).await;
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"email": ["This field may not be blank."]}))
    );
    let r = send(post("{nope", "application/json")).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("JSON parse error"));
    let r = send(post(r#"{"email":"a","password":"b"}"#, "text/plain")).await;
    assert_eq!(r.status, 415);
    let r = send(
        post(r#"{"email":"a","password":"b"}"#, "application/json").header("accept", "text/html"),
    )
    .await;
    assert_eq!(r.status, 406);
    assert_eq!(
        r.json()["detail"],
        "Could not satisfy the request Accept header."
    );
    let (_, token) = user_session(&api, "x").await;
    assert_eq!(
        list(&api, LIST5, Some(&token), &[("accept", "text/html")])
            .await
            .status,
        406
    );
}

#[tokio::test]
async fn conditional_list_requests() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let (_, token) = user_session(&api, "x").await;
    let r = list(&api, LIST5, Some(&token), &[]).await;
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();
    let weak = format!("W/{etag}");
    let past = http_date(SystemTime::now() - Duration::from_secs(3600));
    let future = http_date(SystemTime::now() + Duration::from_secs(3600));
    let status = |extra: Vec<(&'static str, String)>| {
        let (api, token) = (&api, &token);
        async move {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
            list(api, LIST5, Some(token), &extra).await
        }
    };
    let r = status(vec![("if-none-match", etag.clone())]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
    assert_eq!(r.header("vary"), Some("Authorization"));
    let table: Vec<(Vec<(&'static str, String)>, u16)> = vec![
        (vec![("if-none-match", weak.clone())], 304),
        (vec![("if-none-match", "*".into())], 304),
        (vec![("if-none-match", format!("\"x\", {etag}"))], 304),
        (vec![("if-none-match", "\"other\"".into())], 200),
        (vec![("if-match", etag.clone())], 200),
        (vec![("if-match", weak.clone())], 412),
        (vec![("if-match", "\"other\"".into())], 412),
        (vec![("if-match", "*".into())], 200),
        (vec![("if-modified-since", lm.clone())], 304),
        (vec![("if-modified-since", future.clone())], 304),
        (vec![("if-modified-since", past.clone())], 200),
        (vec![("if-modified-since", "garbage".into())], 200),
        (vec![("if-unmodified-since", past.clone())], 412),
        (vec![("if-unmodified-since", lm.clone())], 200),
        // If-None-Match present: If-Modified-Since is not looked at.
        (
            vec![
                ("if-none-match", "\"other\"".into()),
                ("if-modified-since", future.clone()),
            ],
            200,
        ),
        // If-Match first: a failing If-Match wins over a matching If-None-Match.
        (
            vec![
                ("if-match", "\"other\"".into()),
                ("if-none-match", etag.clone()),
            ],
            412,
        ),
        // If-Match present: If-Unmodified-Since is not looked at.
        (
            vec![
                ("if-match", etag.clone()),
                ("if-unmodified-since", past.clone()),
            ],
            200,
        ),
        (
            vec![
                ("if-unmodified-since", past.clone()),
                ("if-none-match", etag.clone()),
            ],
            412,
        ),
    ];
    for (headers, expected) in table {
        let r = status(headers.clone()).await;
        assert_eq!(r.status, expected, "{headers:?}");
    }
    let head = send(
        api.request(reqwest::Method::HEAD, LIST5)
            .header("authorization", format!("Bearer {token}"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(head.status, 304);
    // A change makes the old tag stale.
    user_session(&api, "y").await;
    let r = status(vec![("if-none-match", etag.clone())]).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    let _: Value = r.json();
}

#[tokio::test]
async fn routes_are_exactly_the_documented_ones() {
    let api = Api::start(Dialect::DrfSessions, &[]).await;
    let (_, token) = user_session(&api, "x").await;
    for path in [
        "/sessions/session-user-l/5",
        "/sessions/session-user-l/abc/",
        "/sessions/session-user-l/5/x/",
        "/sessions/",
    ] {
        let r = list(&api, path, Some(&token), &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
    let r = send(api.post(LIST5)).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET,HEAD")));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = send(api.get("/sessions/session-user-c/")).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}
