//! sessions-service (seed 001): `POST /sessions` (createSession), `DELETE /sessions/{sessionId}`
//! (deleteSession, `X-Api-Key`), `application/json` (`docs/dialects.md`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::routing::{delete, post};
use axum::Router;
use dashmap::DashMap;
use serde_json::{json, Value};

use super::app::{now_seconds, rfc3339, App, Reply};
use super::body;
use super::fixture::{Authentication, Kind};
use super::negotiation::{Consumes, Produces, JSON};
use super::Fault;

/// How long an API key lives.
const SESSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

const CHALLENGE: &str = "ApiKey realm=\"sessions\"";

/// What an API key grants: acting on one session until it expires.
#[derive(Debug, Clone)]
struct Grant {
    session_id: String,
    expires: SystemTime,
}

struct Service {
    app: Arc<App>,
    /// Live API keys.
    keys: DashMap<String, Grant>,
    /// Numeric session ids under `schema-drift`.
    counter: AtomicU64,
}

type St = State<Arc<Service>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let state = Arc::new(Service {
        app,
        keys: DashMap::new(),
        counter: AtomicU64::new(0),
    });
    Router::new()
        .route("/sessions", post(create))
        .route("/sessions/{session_id}", delete(destroy))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    Reply::json(status, JSON, &json!({"code": code, "message": message}))
}

fn negotiate(app: &App, headers: &HeaderMap, body: &[u8], body_required: bool) -> Option<Reply> {
    app.negotiate(headers, body, Produces::Json, Consumes::Json, body_required)
}

async fn create(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    let app = &st.app;
    app.login_delay().await;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Some(reply) = negotiate(app, &headers, &bytes, true) {
        return reply;
    }
    let creds = match body::json_object(&bytes) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "malformed_body", &e.to_string()),
    };
    let (Some(email), Some(password)) = (
        body::non_empty_str(&creds, "email"),
        body::non_empty_str(&creds, "password"),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_credentials_payload",
            "email and password must be non-empty strings",
        );
    };
    let account = match app
        .directory
        .authenticate(Kind::User, email, password)
        .await
    {
        Ok(Authentication::Ok(account)) => account,
        Ok(Authentication::UnknownUser) if app.has(Fault::EnumerateUsers) => {
            return error(StatusCode::NOT_FOUND, "unknown_user", "No such user");
        }
        Ok(Authentication::UnknownUser | Authentication::WrongPassword) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid email or password",
            )
            .header(header::WWW_AUTHENTICATE, CHALLENGE);
        }
        Ok(Authentication::Throttled(left)) => return app.throttled(left),
        Err(e) => return app.login_failed(&e),
    };
    let created = now_seconds();
    let expires = created + app.token_ttl(SESSION_TTL);
    let api_key = app.opaque_token();
    let (session_id, id_value) = if app.has(Fault::SchemaDrift) {
        let n = st.counter.fetch_add(1, Ordering::Relaxed) + 1;
        (n.to_string(), json!(n))
    } else {
        let id = app.opaque_token();
        (id.clone(), Value::String(id))
    };
    let response = json!({
        "sessionId": id_value,
        "apiKey": api_key,
        "userId": account.id,
        "email": account.login,
        "createdAt": rfc3339(created),
        "expiresAt": rfc3339(expires),
    });
    let location = format!("/sessions/{session_id}");
    st.keys.insert(
        api_key,
        Grant {
            session_id,
            expires,
        },
    );
    let reply =
        Reply::json(app.faults.created(), JSON, &response).header(header::LOCATION, &location);
    app.token_cache(reply, None)
}

async fn destroy(
    State(st): St,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let app = &st.app;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Some(reply) = negotiate(app, &headers, &bytes, false) {
        return reply;
    }
    let key = headers
        .get(HeaderName::from_static("x-api-key"))
        // A value that is not text can match no key: it is invalid, not missing.
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "The X-Api-Key header is required",
        )
        .header(header::WWW_AUTHENTICATE, CHALLENGE);
    };
    let invalid = || {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The API key is unknown, expired or revoked",
        )
        .header(header::WWW_AUTHENTICATE, CHALLENGE)
    };
    let Some(grant) = st.keys.get(key).map(|g| g.clone()) else {
        return invalid();
    };
    if app.expired(grant.expires) {
        st.keys.remove(key);
        return invalid();
    }
    let target = path.map(|Path(id)| id).unwrap_or_default();
    if grant.session_id != target {
        if app.has(Fault::CrossUserDelete) {
            // The fault: the key acts on another live session too.
            let other = st
                .keys
                .iter()
                .find(|g| g.session_id == target)
                .map(|g| g.key().clone());
            if let Some(other) = other {
                st.keys.remove(&other);
                return app.deleted(&json!({}));
            }
        }
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This API key cannot act on that session",
        );
    }
    if !app.has(Fault::NoRevoke) && st.keys.remove(key).is_none() {
        return invalid();
    }
    app.deleted(&json!({}))
}
