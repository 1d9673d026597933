//! Conformant variants: each changes what the reference server shows in a way RFC 9110 and the
//! documents allow, and exactly that (`docs/dialects.md`, "Conformant variants").

use std::time::{Duration, SystemTime};

use sessionspec::server::{Dialect, ServerConfig, Variant};

use super::{drf, http_date, jsonapi, Api};

async fn start(dialect: Dialect, variants: &[Variant]) -> Api {
    let mut config = ServerConfig::new(dialect);
    config.variants = variants.to_vec();
    Api::start_with(config).await
}

fn session_id(r: &super::Resp) -> String {
    r.header("location")
        .unwrap_or_default()
        .trim_start_matches("/v1/sessions/")
        .to_string()
}

#[test]
fn names_round_trip() {
    for v in Variant::ALL {
        assert_eq!(v.as_str().parse::<Variant>(), Ok(v));
    }
    assert!("strong-etags".parse::<Variant>().is_err());
}

#[tokio::test]
async fn weak_etags_never_pass_if_match_but_pass_if_none_match() {
    let api = start(Dialect::JsonapiSessions, &[Variant::WeakEtags]).await;
    let good = jsonapi::doc(jsonapi::EMAIL, jsonapi::PASSWORD);
    let r = jsonapi::create(&api, &good, &[]).await;
    assert_eq!(r.status, 201);
    let tag = r.header("etag").expect("an ETag").to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    let id = session_id(&r);
    // Strong comparison: the server's own weak tag never matches (§13.1.1) ...
    let r = jsonapi::destroy(&api, &id, &[("if-match", &tag)]).await;
    assert_eq!(r.status, 412);
    // ... nor does its strong form (both sides must be strong).
    let strong = tag.trim_start_matches("W/").to_string();
    let r = jsonapi::destroy(&api, &id, &[("if-match", &strong)]).await;
    assert_eq!(r.status, 412);
    // Weak comparison (§13.1.2): it matches, so DELETE gets 412 too, and the session stays.
    let r = jsonapi::destroy(&api, &id, &[("if-none-match", &strong)]).await;
    assert_eq!(r.status, 412);
    assert_eq!(
        jsonapi::destroy(&api, &id, &[("if-match", "*")])
            .await
            .status,
        204
    );

    let api = start(Dialect::DrfSessions, &[Variant::WeakEtags]).await;
    let (_, token) = drf::user_session(&api, "agent").await;
    let list = "/sessions/session-user-l/5/";
    let r = drf::list(&api, list, Some(&token), &[]).await;
    let tag = r.header("etag").expect("an ETag").to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    let r = drf::list(&api, list, Some(&token), &[("if-none-match", &tag)]).await;
    assert_eq!(r.status, 304);
    let r = drf::list(&api, list, Some(&token), &[("if-match", &tag)]).await;
    assert_eq!(r.status, 412);
}

#[tokio::test]
async fn no_last_modified_ignores_the_date_preconditions() {
    let past = http_date(SystemTime::now() - Duration::from_secs(3600));
    let api = start(Dialect::JsonapiSessions, &[Variant::NoLastModified]).await;
    let good = jsonapi::doc(jsonapi::EMAIL, jsonapi::PASSWORD);
    let r = jsonapi::create(&api, &good, &[]).await;
    assert!(r.header("etag").is_some());
    assert_eq!(r.header("last-modified"), None);
    let id = session_id(&r);
    // Without a modification date If-Unmodified-Since is ignored (§13.1.4): performed.
    let r = jsonapi::destroy(&api, &id, &[("if-unmodified-since", &past)]).await;
    assert_eq!(r.status, 204);

    let api = start(Dialect::DrfSessions, &[Variant::NoLastModified]).await;
    let (_, token) = drf::user_session(&api, "agent").await;
    let list = "/sessions/session-user-l/5/";
    let r = drf::list(&api, list, Some(&token), &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("etag").is_some());
    assert_eq!(r.header("last-modified"), None);
    let future = http_date(SystemTime::now() + Duration::from_secs(3600));
    let r = drf::list(&api, list, Some(&token), &[("if-modified-since", &future)]).await;
    assert_eq!(r.status, 200, "§13.1.3: no date, If-Modified-Since ignored");
    let r = drf::list(&api, list, Some(&token), &[("if-unmodified-since", &past)]).await;
    assert_eq!(
        r.status, 200,
        "§13.1.4: no date, If-Unmodified-Since ignored"
    );
}

#[tokio::test]
async fn foreign_sessions_come_first_in_every_list() {
    let api = start(Dialect::DrfSessions, &[Variant::ForeignSessions]).await;
    let (mine, token) = drf::user_session(&api, "PostmanRuntime/7.28.3").await;
    let r = drf::list(&api, "/sessions/session-user-l/5/", Some(&token), &[]).await;
    assert_eq!(r.status, 200);
    let items = r.json();
    let items = items.as_array().expect("a list");
    assert_eq!(items.len(), 3, "{items:?}");
    assert_ne!(items[0]["device"], "PostmanRuntime/7.28.3");
    assert_eq!(items[2]["id"], mine);
    assert_eq!(items[2]["device"], "PostmanRuntime/7.28.3");
    // The foreign sessions are not the caller's to delete by accident: they are someone's live ones.
    let foreign = items[0]["id"].as_u64().expect("an id");
    let other = drf::login_user(&api, "user4@gmail.com", "user4-password", "x").await;
    let other_token = other.json()["access"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = drf::delete(
        &api,
        &format!("/sessions/session-user-d/{foreign}/"),
        &other_token,
    )
    .await;
    assert_eq!(r.status, 403);
    // The second user and the client have their own.
    let r = drf::list(&api, "/sessions/session-user-l/6/", Some(&other_token), &[]).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(3));
}
