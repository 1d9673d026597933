//! drf-sessions (seed 004): Django REST framework sessions under `/sessions/` with Bearer JWTs,
//! per-user and per-client session lists (ETag, Last-Modified, conditional GET/HEAD) and deletes
//! (`docs/dialects.md`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::routing::{delete, get, post};
use axum::Router;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::app::{now_seconds, App, Reply};
use super::body::{self, JsonBodyError};
use super::conditional::{Evaluation, ResourceState};
use super::fixture::{Authentication, Kind};
use super::negotiation::{self, Consumes, Produces, JSON};
use super::tokens;
use super::variants::FOREIGN_DEVICES;
use super::{Fault, Variant};

/// How long an access token lives.
const ACCESS_TTL: Duration = Duration::from_secs(60 * 60);
const CHALLENGE: &str = "Bearer realm=\"api\"";
const INVALID_CHALLENGE: &str = "Bearer realm=\"api\", error=\"invalid_token\"";
const LIST_CACHE: &str = "private, no-cache";

/// A user or a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Principal {
    kind: Kind,
    id: u64,
}

#[derive(Debug, Clone)]
struct Live {
    device: String,
    jti: String,
}

/// The sessions of one principal: its own lock (a `DashMap` shard), never a global one.
#[derive(Debug)]
struct Owner {
    sessions: BTreeMap<u64, Live>,
    last_modified: SystemTime,
}

struct Drf {
    app: Arc<App>,
    owners: DashMap<Principal, Owner>,
    /// Live tokens: `jti` → (owner, session id).
    tokens: DashMap<String, (Principal, u64)>,
    next_session: AtomicU64,
    started: SystemTime,
}

type St = State<Arc<Drf>>;
type IdPath = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The access token's claims: the shapes of the document's example tokens.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    token_type: String,
    exp: u64,
    jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<u64>,
}

pub(crate) fn router(app: Arc<App>) -> Router {
    let state = Arc::new(Drf {
        app,
        owners: DashMap::new(),
        tokens: DashMap::new(),
        next_session: AtomicU64::new(1),
        started: now_seconds(),
    });
    if state.app.is(Variant::ForeignSessions) {
        foreign_sessions(&state);
    }
    Router::new()
        .route("/sessions/session-user-c/", post(login_user))
        .route("/sessions/session-client-c/", post(login_client))
        .route("/sessions/session-user-l/{id}/", get(list_user))
        .route("/sessions/session-client-l/{id}/", get(list_client))
        .route("/sessions/session-user-d/{id}/", delete(delete_user))
        .route("/sessions/session-client-d/{id}/", delete(delete_client))
        .with_state(state)
}

/// The `foreign-sessions` variant: every fixture account starts with sessions of other devices
/// (whose tokens no client holds), older than any session a run creates.
fn foreign_sessions(st: &Drf) {
    for account in st.app.directory.accounts() {
        let who = Principal {
            kind: account.kind,
            id: account.id,
        };
        let mut owner = Owner {
            sessions: BTreeMap::new(),
            last_modified: st.started,
        };
        for device in FOREIGN_DEVICES {
            let id = st.next_session.fetch_add(1, Ordering::Relaxed);
            let jti = tokens::jti();
            owner.sessions.insert(
                id,
                Live {
                    device: device.to_string(),
                    jti: jti.clone(),
                },
            );
            st.tokens.insert(jti, (who, id));
        }
        st.owners.insert(who, owner);
    }
}

async fn login_user(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    login(&st, Kind::User, &headers, body).await
}
async fn login_client(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    login(&st, Kind::Client, &headers, body).await
}
async fn list_user(State(st): St, method: Method, id: IdPath, headers: HeaderMap) -> Reply {
    list(&st, Kind::User, &method, id, &headers)
}
async fn list_client(State(st): St, method: Method, id: IdPath, headers: HeaderMap) -> Reply {
    list(&st, Kind::Client, &method, id, &headers)
}
async fn delete_user(State(st): St, id: IdPath, headers: HeaderMap) -> Reply {
    destroy(&st, Kind::User, id, &headers)
}
async fn delete_client(State(st): St, id: IdPath, headers: HeaderMap) -> Reply {
    destroy(&st, Kind::Client, id, &headers)
}

fn detail(status: StatusCode, text: &str) -> Reply {
    Reply::json(status, JSON, &json!({ "detail": text }))
}

fn forbidden() -> Reply {
    detail(
        StatusCode::FORBIDDEN,
        "You do not have permission to perform this action.",
    )
}

fn not_provided() -> Reply {
    detail(
        StatusCode::UNAUTHORIZED,
        "Authentication credentials were not provided.",
    )
    .header(header::WWW_AUTHENTICATE, CHALLENGE)
}

fn not_valid() -> Reply {
    detail(
        StatusCode::UNAUTHORIZED,
        "Given token not valid for any token type",
    )
    .header(header::WWW_AUTHENTICATE, INVALID_CHALLENGE)
}

/// DRF's field validation of a required `CharField`.
fn field_error(map: &Map<String, Value>, name: &str) -> Option<&'static str> {
    match map.get(name) {
        None => Some("This field is required."),
        Some(Value::Null) => Some("This field may not be null."),
        Some(Value::String(s)) if s.trim().is_empty() => Some("This field may not be blank."),
        Some(Value::String(_)) => None,
        Some(_) => Some("Not a valid string."),
    }
}

async fn login(st: &Drf, kind: Kind, headers: &HeaderMap, body: Body) -> Reply {
    let app = &st.app;
    app.login_delay().await;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Some(reply) = app.negotiate(headers, &bytes, Produces::Json, Consumes::Json, true) {
        return reply;
    }
    let data = match body::json_object(&bytes) {
        Ok(data) => data,
        Err(JsonBodyError::Syntax(e)) => {
            return detail(StatusCode::BAD_REQUEST, &format!("JSON parse error - {e}"));
        }
        Err(JsonBodyError::NotObject(kind)) => {
            let msg = format!("Invalid data. Expected a dictionary, but got {kind}.");
            return Reply::json(
                StatusCode::BAD_REQUEST,
                JSON,
                &json!({"non_field_errors": [msg]}),
            );
        }
    };
    let login_field = match kind {
        Kind::User => "email",
        Kind::Client => "phone",
    };
    let mut problems = Map::new();
    for name in [login_field, "password"] {
        if let Some(msg) = field_error(&data, name) {
            problems.insert(name.to_string(), json!([msg]));
        }
    }
    let (Some(login), Some(password), true) = (
        data.get(login_field).and_then(Value::as_str),
        data.get("password").and_then(Value::as_str),
        problems.is_empty(),
    ) else {
        return Reply::json(StatusCode::BAD_REQUEST, JSON, &Value::Object(problems));
    };
    let account = match app.directory.authenticate(kind, login, password).await {
        Ok(Authentication::Ok(account)) => account,
        Ok(Authentication::UnknownUser) if app.has(Fault::EnumerateUsers) => {
            return detail(StatusCode::NOT_FOUND, "No such user");
        }
        Ok(Authentication::UnknownUser | Authentication::WrongPassword) => {
            return detail(
                StatusCode::UNAUTHORIZED,
                "No active account found with the given credentials",
            )
            .header(header::WWW_AUTHENTICATE, CHALLENGE);
        }
        Ok(Authentication::Throttled(left)) => return app.throttled(left),
        Err(e) => return app.login_failed(&e),
    };
    let who = Principal {
        kind,
        id: account.id,
    };
    let jti = app.jti();
    let (user_id, client_id) = match kind {
        Kind::User => (Some(who.id), None),
        Kind::Client => (None, Some(who.id)),
    };
    let claims = Claims {
        token_type: "access".to_string(),
        exp: tokens::unix_seconds(SystemTime::now() + app.token_ttl(ACCESS_TTL)),
        jti: jti.clone(),
        user_id,
        client_id,
    };
    let Ok(access) = app.jwt.issue(&claims) else {
        return app.standard_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let device = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let id = st.next_session.fetch_add(1, Ordering::Relaxed);
    {
        let mut owner = st.owners.entry(who).or_insert_with(|| Owner {
            sessions: BTreeMap::new(),
            last_modified: st.started,
        });
        owner.sessions.insert(
            id,
            Live {
                device,
                jti: jti.clone(),
            },
        );
        owner.last_modified = now_seconds();
    }
    st.tokens.insert(jti, (who, id));
    let owner_field = match kind {
        Kind::User => "user_id",
        Kind::Client => "client_id",
    };
    let reply = Reply::json(
        app.faults.created(),
        JSON,
        &json!({"id": id, owner_field: who.id, "access": access}),
    );
    app.token_cache(reply, None)
}

/// Bearer authentication of a list/delete request for an endpoint of `kind`.
fn authenticate(st: &Drf, kind: Kind, headers: &HeaderMap) -> Result<Principal, Reply> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(not_provided());
    };
    let value = value.to_str().map_err(|_| not_valid())?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if scheme != "Bearer" {
        // simplejwt ignores other schemes: the request is simply unauthenticated.
        return Err(not_provided());
    }
    let claims: Claims = st.app.verify_jwt(token.trim()).map_err(|_| not_valid())?;
    let who = match (claims.token_type.as_str(), claims.user_id, claims.client_id) {
        ("access", Some(id), None) => Principal {
            kind: Kind::User,
            id,
        },
        ("access", None, Some(id)) => Principal {
            kind: Kind::Client,
            id,
        },
        _ => return Err(not_valid()),
    };
    let live = st
        .tokens
        .get(&claims.jti)
        .is_some_and(|entry| entry.0 == who);
    if !live || who.kind != kind {
        return Err(forbidden());
    }
    Ok(who)
}

fn parse_id(path: IdPath) -> Option<u64> {
    let Path(id) = path.ok()?;
    id.parse().ok()
}

fn list(st: &Drf, kind: Kind, method: &Method, path: IdPath, headers: &HeaderMap) -> Reply {
    let app = &st.app;
    let Some(id) = parse_id(path) else {
        return app.standard_error(StatusCode::NOT_FOUND);
    };
    if app.negotiates() && !negotiation::accepts(headers, Produces::Json) {
        return app.standard_error(StatusCode::NOT_ACCEPTABLE);
    }
    let who = match authenticate(st, kind, headers) {
        Ok(who) => who,
        Err(reply) => return reply,
    };
    if who.id != id {
        return forbidden();
    }
    let profile = app
        .directory
        .by_id(kind, id)
        .and_then(|a| a.profile.clone())
        .unwrap_or(Value::Null);
    let owner_key = match kind {
        Kind::User => "user",
        Kind::Client => "client",
    };
    let (items, last_modified) = match st.owners.get(&who) {
        Some(owner) => {
            let items: Vec<Value> = owner
                .sessions
                .iter()
                .map(|(sid, live)| {
                    let mut item = json!({"id": sid, owner_key: profile, "device": live.device});
                    if app.has(Fault::SchemaDrift) {
                        if let Some(obj) = item.as_object_mut() {
                            obj.remove("device");
                        }
                    }
                    item
                })
                .collect();
            (items, owner.last_modified)
        }
        None => (Vec::new(), st.started),
    };
    let reply = Reply::json(StatusCode::OK, JSON, &Value::Array(items));
    let etag = app.etag_of(reply.body(), false);
    let with_etag = |r: Reply| app.with_etag(r, &etag);
    let resource = ResourceState {
        etag: (!app.has(Fault::NoEtag)).then_some(&etag),
        last_modified: app.last_modified(last_modified),
        exists: true,
    };
    match app.evaluate(method, headers, &resource) {
        Evaluation::NotModified => with_etag(Reply::empty(StatusCode::NOT_MODIFIED))
            .header(header::CACHE_CONTROL, LIST_CACHE)
            .header(header::VARY, "Authorization"),
        Evaluation::PreconditionFailed => with_etag(detail(
            StatusCode::PRECONDITION_FAILED,
            "Precondition failed.",
        )),
        Evaluation::Proceed => app
            .with_last_modified(with_etag(reply), last_modified)
            .header(header::CACHE_CONTROL, LIST_CACHE)
            .header(header::VARY, "Authorization"),
    }
}

/// The `cross-user-delete` fault: deletes `session_id` of another principal of the same kind.
fn cross_user_delete(st: &Drf, who: Principal, session_id: u64) -> Option<Reply> {
    if !st.app.has(Fault::CrossUserDelete) {
        return None;
    }
    let live = st.owners.iter_mut().find_map(|mut owner| {
        if owner.key() == &who || owner.key().kind != who.kind {
            return None;
        }
        let live = owner.sessions.remove(&session_id)?;
        owner.last_modified = now_seconds();
        Some(live)
    })?;
    st.tokens.remove(&live.jti);
    Some(st.app.deleted(&json!({})))
}

fn destroy(st: &Drf, kind: Kind, path: IdPath, headers: &HeaderMap) -> Reply {
    let app = &st.app;
    let Some(session_id) = parse_id(path) else {
        return app.standard_error(StatusCode::NOT_FOUND);
    };
    if app.negotiates() && !negotiation::accepts(headers, Produces::Json) {
        return app.standard_error(StatusCode::NOT_ACCEPTABLE);
    }
    let who = match authenticate(st, kind, headers) {
        Ok(who) => who,
        Err(reply) => return reply,
    };
    let removed = {
        let Some(mut owner) = st.owners.get_mut(&who) else {
            return forbidden();
        };
        if app.has(Fault::NoRevoke) {
            if !owner.sessions.contains_key(&session_id) {
                return forbidden();
            }
            None
        } else {
            let Some(live) = owner.sessions.remove(&session_id) else {
                drop(owner);
                return match cross_user_delete(st, who, session_id) {
                    Some(reply) => reply,
                    None => forbidden(),
                };
            };
            owner.last_modified = now_seconds();
            Some(live)
        }
    };
    if let Some(live) = removed {
        st.tokens.remove(&live.jti);
    }
    app.deleted(&json!({}))
}
