//! Fault switches: each one changes exactly its own observations of the main paths, and nothing else.
//!
//! A fingerprint is a map of named observations of one dialect's main flows (login, bad credentials,
//! negotiation, conditional requests, delete, reuse after delete). The fingerprint under a fault is
//! compared with the fault-free one; the keys that differ must be exactly the ones the fault names.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sessionspec::server::{Dialect, Fault};

use super::{drf, etag_of, form, jsonapi, rails, send, service, with_headers, Api, Resp};

type Fingerprint = BTreeMap<&'static str, String>;

/// `2xx` for any success (so that `wrong-status` shows only where it is meant to), else the status.
fn class(r: &Resp) -> String {
    if (200..300).contains(&r.status) {
        "2xx".into()
    } else {
        r.status.to_string()
    }
}

fn cache(r: &Resp) -> String {
    format!("{:?}|{:?}", r.header("cache-control"), r.header("pragma"))
}

fn etag_kind(r: &Resp) -> String {
    match r.header("etag") {
        None => "none".into(),
        Some(t) if t.starts_with("W/") => "weak".into(),
        Some(_) => "strong".into(),
    }
}

fn content_type(r: &Resp) -> String {
    r.header("content-type").unwrap_or("none").to_string()
}

/// Member names and JSON types of an object, sorted.
fn shape(v: &Value) -> String {
    let Some(obj) = v.as_object() else {
        return format!("not an object: {v}");
    };
    let mut keys: Vec<String> = obj
        .iter()
        .map(|(k, v)| {
            let ty = match v {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Object(_) => "object",
                Value::Array(_) => "array",
                Value::Bool(_) => "bool",
                Value::Null => "null",
            };
            format!("{k}:{ty}")
        })
        .collect();
    keys.sort();
    keys.join(",")
}

fn login_observations(fp: &mut Fingerprint, r: &Resp) {
    fp.insert("login.status", r.status.to_string());
    fp.insert("login.content_type", content_type(r));
    fp.insert("login.cache", cache(r));
}

fn bad_observations(fp: &mut Fingerprint, wrong: &Resp, unknown: &Resp) {
    fp.insert("bad.status", wrong.status.to_string());
    fp.insert("bad.unknown_status", unknown.status.to_string());
    fp.insert(
        "bad.same",
        (wrong.comparable() == unknown.comparable()).to_string(),
    );
}

async fn jsonapi_fingerprint(api: &Api) -> Fingerprint {
    use jsonapi::{create, destroy, doc, EMAIL, PASSWORD};
    let mut fp = Fingerprint::new();
    let good = doc(EMAIL, PASSWORD);
    // A session: (id from Location, the strong tag of the body whether or not an ETag is sent).
    let session = || async {
        let r = create(api, &good, &[]).await;
        let id = r
            .header("location")
            .unwrap_or_default()
            .trim_start_matches("/v1/sessions/")
            .to_string();
        (r.clone(), id, etag_of(&r.body))
    };
    let (r, sid, _) = session().await;
    login_observations(&mut fp, &r);
    fp.insert("sec.token", token_shape(&sid));
    fp.insert("login.etag", etag_kind(&r));
    fp.insert("login.body", shape(&r.json()["data"]));
    let wrong = create(api, &doc(EMAIL, "wrong"), &[]).await;
    let unknown = create(api, &doc("nobody@example.com", PASSWORD), &[]).await;
    bad_observations(&mut fp, &wrong, &unknown);
    fp.insert(
        "neg.406",
        class(&create(api, &good, &[("accept", "text/html")]).await),
    );
    fp.insert(
        "neg.415",
        class(&create(api, &good, &[("content-type", "application/json")]).await),
    );
    fp.insert(
        "cond.create_if_match",
        class(&create(api, &good, &[("if-match", "*")]).await),
    );
    let (_, id, etag) = session().await;
    let r = destroy(api, &id, &[("if-match", &format!("W/{etag}"))]).await;
    fp.insert("cond.delete_if_match_weak", class(&r));
    let (_, id, etag) = session().await;
    fp.insert(
        "cond.delete_if_none_match",
        class(&destroy(api, &id, &[("if-none-match", &etag)]).await),
    );
    let (_, id, _) = session().await;
    let r = destroy(api, &id, &[]).await;
    fp.insert("delete.status", r.status.to_string());
    fp.insert("delete.content_type", content_type(&r));
    fp.insert("delete.reuse", class(&destroy(api, &id, &[]).await));
    fp
}

async fn service_fingerprint(api: &Api) -> Fingerprint {
    use service::{create, creds, destroy, EMAIL, PASSWORD};
    let mut fp = Fingerprint::new();
    let good = creds(EMAIL, PASSWORD);
    let r = create(api, &good, &[]).await;
    login_observations(&mut fp, &r);
    fp.insert("login.body", shape(&r.json()));
    fp.insert(
        "sec.token",
        token_shape(r.json()["apiKey"].as_str().unwrap_or_default()),
    );
    let wrong = create(api, &creds(EMAIL, "wrong"), &[]).await;
    let unknown = create(api, &creds("nobody@example.com", PASSWORD), &[]).await;
    bad_observations(&mut fp, &wrong, &unknown);
    fp.insert(
        "neg.406",
        class(&create(api, &good, &[("accept", "text/html")]).await),
    );
    fp.insert(
        "neg.415",
        class(&create(api, &good, &[("content-type", "text/plain")]).await),
    );
    let b = create(api, &good, &[]).await.json();
    let id = match &b["sessionId"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let key = b["apiKey"].as_str().unwrap_or_default().to_string();
    // Another session's key on a live session: refused.
    let victim = match &create(api, &good, &[]).await.json()["sessionId"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    fp.insert(
        "delete.cross",
        class(&destroy(api, &victim, Some(&key)).await),
    );
    let r = destroy(api, &id, Some(&key)).await;
    fp.insert("delete.status", r.status.to_string());
    fp.insert("delete.content_type", content_type(&r));
    fp.insert("delete.reuse", class(&destroy(api, &id, Some(&key)).await));
    fp
}

async fn rails_fingerprint(api: &Api) -> Fingerprint {
    let mut fp = Fingerprint::new();
    let r = rails::login(api, rails::GOOD).await;
    login_observations(&mut fp, &r);
    let body = r.json();
    let token = body["auth_token"].as_str().or(body["token"].as_str());
    let token = token.unwrap_or_default().to_string();
    fp.insert("sec.token", jti_shape(&token));
    // 40 wrong passwords of the lockout account, then its correct one.
    for _ in 0..40 {
        rails::login(api, "email=lockout%40example.com&password=wrong").await;
    }
    let after = rails::login(api, "email=lockout%40example.com&password=lockout-password").await;
    fp.insert("sec.lockout", class(&after));
    fp.insert("login.etag", etag_kind(&r));
    fp.insert("login.body", shape(&r.json()));
    fp.insert(
        "login.security_headers",
        r.header("x-frame-options").unwrap_or("none").to_string(),
    );
    let wrong = rails::login(api, "email=foo%40bar.com&password=toets").await;
    let unknown = rails::login(api, "email=nonexist%40mail.com&password=toets").await;
    bad_observations(&mut fp, &wrong, &unknown);
    let json_body = api
        .post("/api/v1/sessions")
        .header("content-type", "application/json")
        .body(r#"{"email":"foo@bar.com","password":"foobar"}"#);
    fp.insert("neg.415", class(&send(json_body).await));
    fp
}

async fn form_fingerprint(api: &Api) -> Fingerprint {
    use form::{create, create_doc, delete_doc, destroy, EMAIL, PASSWORD};
    let mut fp = Fingerprint::new();
    let good = create_doc(EMAIL, PASSWORD);
    let r = create(api, &good, &[]).await;
    login_observations(&mut fp, &r);
    fp.insert("sec.token", token_shape(&form::cookie_pair(&r)));
    let planted = "_form_session=planted-by-an-attacker";
    let fixed = create(api, &good, &[("cookie", planted)]).await;
    fp.insert(
        "sec.fixation",
        (form::cookie_pair(&fixed) == planted).to_string(),
    );
    fp.insert("login.body", String::from_utf8_lossy(&r.body).into_owned());
    fp.insert("login.cookie", r.header("set-cookie").is_some().to_string());
    let wrong = create(api, &create_doc(EMAIL, "wrong"), &[]).await;
    let unknown = create(api, &create_doc("nobody@example.com", PASSWORD), &[]).await;
    bad_observations(&mut fp, &wrong, &unknown);
    fp.insert(
        "neg.406",
        class(&create(api, &good, &[("accept", "text/html")]).await),
    );
    fp.insert(
        "neg.415",
        class(&create(api, &good, &[("content-type", "text/plain")]).await),
    );
    let cookie = form::cookie_pair(&create(api, &good, &[]).await);
    let r = destroy(api, &delete_doc(), &[("cookie", &cookie)]).await;
    fp.insert("delete.status", r.status.to_string());
    fp.insert("delete.content_type", content_type(&r));
    fp.insert(
        "delete.reuse",
        class(&destroy(api, &delete_doc(), &[("cookie", &cookie)]).await),
    );
    fp
}

async fn drf_fingerprint(api: &Api) -> Fingerprint {
    use drf::{list, login_user, USER};
    const LIST: &str = "/sessions/session-user-l/5/";
    let mut fp = Fingerprint::new();
    let r = login_user(api, USER.0, USER.1, "agent").await;
    login_observations(&mut fp, &r);
    fp.insert("login.body", shape(&r.json()));
    let token = r.json()["access"].as_str().unwrap_or_default().to_string();
    fp.insert("sec.token", jti_shape(&token));
    let forged = forgeries(&token);
    for (key, forged) in [("sec.alg_none", &forged.0), ("sec.forged_sig", &forged.1)] {
        fp.insert(key, class(&list(api, LIST, Some(forged), &[]).await));
    }
    // Algorithm confusion: HS256 keyed with the public key's text, where the server has one.
    let confusion = match api.server.jwt_public_key() {
        Some(pem) => {
            let forged = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &super::jwt_claims(&token),
                &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes()),
            )
            .expect("HS256 signs");
            class(&list(api, LIST, Some(&forged), &[]).await)
        }
        None => "no public key".to_owned(),
    };
    fp.insert("sec.confusion", confusion);
    let wrong = login_user(api, USER.0, "wrong", "agent").await;
    let unknown = login_user(api, "nobody@example.com", USER.1, "agent").await;
    bad_observations(&mut fp, &wrong, &unknown);
    let login_with = |extra: Vec<(&'static str, &'static str)>| {
        let body = json!({"email": USER.0, "password": USER.1}).to_string();
        let req = api.post("/sessions/session-user-c/").body(body);
        send(with_headers(
            req,
            &[("content-type", "application/json")],
            &extra,
        ))
    };
    fp.insert(
        "neg.406",
        class(&login_with(vec![("accept", "text/html")]).await),
    );
    fp.insert(
        "neg.415",
        class(&login_with(vec![("content-type", "text/plain")]).await),
    );
    let r = list(api, LIST, Some(&token), &[]).await;
    fp.insert("list.status", r.status.to_string());
    fp.insert("list.content_type", content_type(&r));
    fp.insert("list.etag", etag_kind(&r));
    fp.insert("list.cache", cache(&r));
    fp.insert("list.body", shape(&r.json()[0]));
    let etag = etag_of(&r.body);
    let lm = r.header("last-modified").unwrap_or_default().to_string();
    fp.insert(
        "cond.inm",
        class(&list(api, LIST, Some(&token), &[("if-none-match", &etag)]).await),
    );
    fp.insert(
        "cond.if_match_wrong",
        class(&list(api, LIST, Some(&token), &[("if-match", "\"other\"")]).await),
    );
    fp.insert(
        "cond.if_match_weak",
        class(
            &list(
                api,
                LIST,
                Some(&token),
                &[("if-match", &format!("W/{etag}"))],
            )
            .await,
        ),
    );
    fp.insert(
        "cond.ims",
        class(&list(api, LIST, Some(&token), &[("if-modified-since", &lm)]).await),
    );
    // The second user deletes a live session of the first: refused.
    let victim = login_user(api, USER.0, USER.1, "agent").await.json()["id"]
        .as_u64()
        .unwrap_or(0);
    let other = login_user(api, "user4@gmail.com", "user4-password", "agent").await;
    let other_token = other.json()["access"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    fp.insert(
        "delete.cross",
        class(
            &drf::delete(
                api,
                &format!("/sessions/session-user-d/{victim}/"),
                &other_token,
            )
            .await,
        ),
    );
    let b = login_user(api, USER.0, USER.1, "agent").await.json();
    let (sid, token2) = (
        b["id"].as_u64().unwrap_or(0),
        b["access"].as_str().unwrap_or_default().to_string(),
    );
    let r = drf::delete(api, &format!("/sessions/session-user-d/{sid}/"), &token2).await;
    fp.insert("delete.status", r.status.to_string());
    fp.insert("delete.content_type", content_type(&r));
    fp.insert(
        "delete.reuse",
        class(&list(api, LIST, Some(&token2), &[]).await),
    );
    fp
}

/// An opaque token's shape: its length and whether it is a short counter.
fn token_shape(token: &str) -> String {
    format!("{} chars", token.len())
}

/// The shape of a JWT's `jti`.
fn jti_shape(token: &str) -> String {
    if token.split('.').count() != 3 {
        return "no token".into();
    }
    let jti = super::jwt_claims(token)["jti"].clone();
    token_shape(jti.as_str().unwrap_or_default())
}

/// Two forgeries of `token`: its payload unsigned under `alg: none`, and its payload with another
/// token's header and signature spliced in (`a.b.c` → `a.B.c`: a payload byte changed, the old
/// signature kept).
fn forgeries(token: &str) -> (String, String) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let mut claims = super::jwt_claims(token);
    claims["exp"] = json!(super::unix_now() + 7 * 24 * 3600);
    let changed = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{header}.{changed}.{signature}");
    (none, tampered)
}

async fn fingerprint(dialect: Dialect, faults: &[Fault]) -> Fingerprint {
    let api = Api::start(dialect, faults).await;
    let fp = match dialect {
        Dialect::JsonapiSessions => jsonapi_fingerprint(&api).await,
        Dialect::SessionsService => service_fingerprint(&api).await,
        Dialect::RailsJwt => rails_fingerprint(&api).await,
        Dialect::FormSessions => form_fingerprint(&api).await,
        Dialect::DrfSessions => drf_fingerprint(&api).await,
    };
    api.server.shutdown().await;
    fp
}

/// The observations each fault must change, per dialect (empty: the fault is a no-op there).
fn expected(dialect: Dialect, fault: Fault) -> BTreeSet<&'static str> {
    use Dialect::*;
    let has_delete = dialect != RailsJwt;
    let keys: Vec<&'static str> = match fault {
        Fault::NoRevoke if has_delete => vec!["delete.reuse"],
        Fault::NoRevoke => vec![],
        Fault::NoEtag => match dialect {
            JsonapiSessions => vec![
                "login.etag",
                "cond.create_if_match",
                "cond.delete_if_match_weak",
                "cond.delete_if_none_match",
            ],
            RailsJwt => vec!["login.etag"],
            DrfSessions => vec![
                "list.etag",
                "cond.inm",
                "cond.if_match_wrong",
                "cond.if_match_weak",
            ],
            _ => vec![],
        },
        Fault::IgnoreIfMatch => match dialect {
            JsonapiSessions => vec!["cond.create_if_match", "cond.delete_if_match_weak"],
            DrfSessions => vec!["cond.if_match_wrong", "cond.if_match_weak"],
            _ => vec![],
        },
        Fault::IgnoreIfNoneMatch => match dialect {
            JsonapiSessions => vec!["cond.delete_if_none_match"],
            DrfSessions => vec!["cond.inm"],
            _ => vec![],
        },
        Fault::WrongContentType => match dialect {
            RailsJwt => vec!["login.content_type"],
            DrfSessions => vec![
                "login.content_type",
                "list.content_type",
                "delete.content_type",
            ],
            _ => vec!["login.content_type", "delete.content_type"],
        },
        Fault::AcceptAnything if dialect == RailsJwt => vec!["neg.415"],
        Fault::AcceptAnything => vec!["neg.406", "neg.415"],
        Fault::EnumerateUsers => vec!["bad.unknown_status", "bad.same"],
        Fault::WrongStatus if has_delete => vec!["login.status", "delete.status"],
        Fault::WrongStatus => vec!["login.status"],
        Fault::SchemaDrift if dialect == DrfSessions => vec!["list.body"],
        Fault::SchemaDrift => vec!["login.body"],
        Fault::CacheableToken => vec!["login.cache"],
        Fault::SlowLogin | Fault::Flaky => vec![],
        Fault::CrossUserDelete => match dialect {
            SessionsService | DrfSessions => vec!["delete.cross"],
            _ => vec![],
        },
        Fault::WeakIfMatch => match dialect {
            JsonapiSessions => vec!["cond.delete_if_match_weak"],
            DrfSessions => vec!["cond.if_match_weak"],
            _ => vec![],
        },
        // Only drf verifies JWTs (rails-jwt has no endpoint that takes its token).
        Fault::AlgNone if dialect == DrfSessions => vec!["sec.alg_none"],
        Fault::NoSignatureCheck if dialect == DrfSessions => vec!["sec.forged_sig"],
        Fault::AlgNone | Fault::NoSignatureCheck => vec![],
        // ES256 tokens whose public key, as an HMAC secret, also verifies an HS256 token.
        Fault::AlgConfusion if dialect == DrfSessions => vec!["sec.confusion"],
        Fault::AlgConfusion => vec![],
        Fault::WeakTokens => vec!["sec.token"],
        Fault::SessionFixation if dialect == FormSessions => vec!["sec.fixation"],
        Fault::NoLockout if dialect == RailsJwt => vec!["sec.lockout"],
        // Timing (`timing-leak`) and expiry (`no-expiry`, with `--token-ttl`) are not visible in
        // one pass of the main flows; `timing_leak_skips_the_dummy_hash` (unit) and
        // `no_expiry_keeps_expired_credentials_valid` below show them.
        Fault::TimingLeak | Fault::NoExpiry | Fault::SessionFixation | Fault::NoLockout => vec![],
    };
    keys.into_iter().collect()
}

#[tokio::test]
async fn each_fault_changes_exactly_its_own_observations() {
    let runs = Dialect::ALL.into_iter().map(|dialect| async move {
        let base = fingerprint(dialect, &[]).await;
        let faults = Fault::ALL.into_iter().filter(|f| *f != Fault::Flaky);
        let runs = faults.map(|fault| async move { (fault, fingerprint(dialect, &[fault]).await) });
        (dialect, base, futures::future::join_all(runs).await)
    });
    let mut failures = Vec::new();
    for (dialect, base, faulted) in futures::future::join_all(runs).await {
        for (fault, fp) in faulted {
            let changed: BTreeSet<&str> = base
                .keys()
                .filter(|k| base.get(*k) != fp.get(*k))
                .copied()
                .collect();
            let want = expected(dialect, fault);
            if changed != want {
                let diff: Vec<String> = changed
                    .symmetric_difference(&want)
                    .map(|k| format!("{k}: {:?} -> {:?}", base.get(k), fp.get(k)))
                    .collect();
                failures.push(format!("{dialect} --fault {fault}: {diff:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn baselines_are_the_documented_behaviour() {
    let checks: [(Dialect, &[(&str, &str)]); 5] = [
        (
            Dialect::JsonapiSessions,
            &[
                ("login.status", "201"),
                ("login.etag", "strong"),
                ("bad.status", "401"),
                ("bad.same", "true"),
                ("neg.406", "406"),
                ("neg.415", "415"),
                ("cond.create_if_match", "412"),
                ("cond.delete_if_match_weak", "412"),
                ("cond.delete_if_none_match", "412"),
                ("delete.status", "204"),
                ("delete.reuse", "404"),
            ],
        ),
        (
            Dialect::SessionsService,
            &[
                ("login.status", "201"),
                ("login.cache", "Some(\"no-store\")|Some(\"no-cache\")"),
                ("neg.406", "406"),
                ("neg.415", "415"),
                ("delete.status", "204"),
                ("delete.reuse", "401"),
                ("delete.cross", "403"),
                ("bad.same", "true"),
            ],
        ),
        (
            Dialect::RailsJwt,
            &[
                ("login.status", "200"),
                ("login.etag", "weak"),
                ("login.body", "auth_token:string"),
                ("neg.415", "415"),
                ("bad.status", "401"),
                ("bad.same", "true"),
            ],
        ),
        (
            Dialect::FormSessions,
            &[
                ("login.status", "201"),
                ("login.body", "{}"),
                ("neg.406", "406"),
                ("neg.415", "415"),
                ("delete.status", "204"),
                ("delete.reuse", "401"),
                ("bad.same", "true"),
            ],
        ),
        (
            Dialect::DrfSessions,
            &[
                ("login.status", "201"),
                ("list.status", "200"),
                ("list.etag", "strong"),
                ("list.body", "device:string,id:number,user:object"),
                ("cond.inm", "304"),
                ("cond.if_match_wrong", "412"),
                ("cond.if_match_weak", "412"),
                ("cond.ims", "304"),
                ("delete.cross", "403"),
                ("delete.status", "204"),
                ("delete.reuse", "403"),
                ("neg.406", "406"),
                ("neg.415", "415"),
            ],
        ),
    ];
    for (dialect, want) in checks {
        let fp = fingerprint(dialect, &[]).await;
        for (key, value) in want {
            assert_eq!(
                fp.get(key).map(String::as_str),
                Some(*value),
                "{dialect} {key}"
            );
        }
    }
}

#[tokio::test]
async fn slow_login_slows_only_logins() {
    let api = Api::start(Dialect::DrfSessions, &[Fault::SlowLogin]).await;
    let started = Instant::now();
    let r = drf::login_user(&api, drf::USER.0, drf::USER.1, "x").await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    let token = r.json()["access"].as_str().unwrap_or_default().to_string();
    // The fastest of three lists: one slow answer on a busy machine is not the fault's delay.
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(
            drf::list(&api, "/sessions/session-user-l/5/", Some(&token), &[])
                .await
                .status,
            200
        );
        fastest = fastest.min(started.elapsed());
    }
    assert!(
        fastest < Duration::from_millis(250),
        "a list is not slowed: {fastest:?}"
    );
    // Failed logins are slowed too: the delay is the login's, whatever its outcome.
    let started = Instant::now();
    assert_eq!(
        drf::login_user(&api, drf::USER.0, "wrong", "x")
            .await
            .status,
        401
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    let plain = Api::start(Dialect::DrfSessions, &[]).await;
    let started = Instant::now();
    assert_eq!(
        drf::login_user(&plain, drf::USER.0, drf::USER.1, "x")
            .await
            .status,
        201
    );
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn flaky_fails_every_twentieth_request_in_the_dialects_format() {
    for dialect in Dialect::ALL {
        let api = Api::start(dialect, &[Fault::Flaky]).await;
        let mut failed = Vec::new();
        for n in 1..=40 {
            let r = send(api.get("/not-documented")).await;
            match r.status {
                404 => {}
                500 => {
                    failed.push(n);
                    assert!(
                        r.header("content-type").is_some_and(|c| c.contains("json")),
                        "{dialect}"
                    );
                    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
                    let body = r.json();
                    let text = body.to_string();
                    assert!(text.contains("rror"), "{dialect}: {text}");
                }
                other => panic!("{dialect}: unexpected {other}"),
            }
        }
        assert_eq!(failed, vec![20, 40], "{dialect}");
    }
    // Logins themselves fail on the 20th request and work again after.
    let api = Api::start(Dialect::RailsJwt, &[Fault::Flaky]).await;
    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(rails::login(&api, rails::GOOD).await.status);
    }
    assert_eq!(statuses[19], 500);
    assert!(
        statuses
            .iter()
            .enumerate()
            .all(|(i, s)| i == 19 || *s == 200),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn no_revoke_keeps_every_kind_of_credential_valid() {
    let api = Api::start(Dialect::DrfSessions, &[Fault::NoRevoke]).await;
    let (sid, token) = drf::user_session(&api, "x").await;
    let path = format!("/sessions/session-user-d/{sid}/");
    assert_eq!(drf::delete(&api, &path, &token).await.status, 204);
    let r = drf::list(&api, "/sessions/session-user-l/5/", Some(&token), &[]).await;
    assert_eq!(r.status, 200, "the token still works");
    assert_eq!(
        r.json().as_array().map(Vec::len),
        Some(1),
        "and the session is still listed"
    );

    let api = Api::start(Dialect::FormSessions, &[Fault::NoRevoke]).await;
    let cookie = form::session(&api).await;
    for _ in 0..2 {
        let r = form::destroy(&api, &form::delete_doc(), &[("cookie", &cookie)]).await;
        assert_eq!(r.status, 204);
        assert!(r
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")));
    }
}

#[tokio::test]
async fn no_expiry_keeps_expired_credentials_valid() {
    use sessionspec::server::ServerConfig;
    for faults in [vec![], vec![Fault::NoExpiry]] {
        let mut config = ServerConfig::new(Dialect::DrfSessions);
        config.faults.clone_from(&faults);
        config.token_ttl = Some(Duration::from_secs(1));
        let api = Api::start_with(config).await;
        let r = drf::login_user(&api, drf::USER.0, drf::USER.1, "agent").await;
        let token = r.json()["access"].as_str().unwrap_or_default().to_string();
        let exp = super::jwt_claims(&token)["exp"].as_u64().unwrap_or(0);
        assert!(exp <= super::unix_now() + 1, "--token-ttl 1s sets exp");
        let fresh = drf::list(&api, "/sessions/session-user-l/5/", Some(&token), &[]).await;
        assert_eq!(fresh.status, 200);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let old = drf::list(&api, "/sessions/session-user-l/5/", Some(&token), &[]).await;
        let want = if faults.is_empty() { 401 } else { 200 };
        assert_eq!(old.status, want, "{faults:?}");
        api.server.shutdown().await;
    }
}
