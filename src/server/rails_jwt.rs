//! rails-jwt (seed 002): `POST /api/v1/sessions` with a form body answers `{"auth_token": JWT}`
//! (`docs/dialects.md`). The security headers are added by the common layer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::json;

use super::app::{App, Reply, JSON_UTF8};
use super::body;
use super::conditional::EntityTag;
use super::fixture::{Authentication, Kind};
use super::negotiation::{self, Consumes};
use super::tokens;
use super::Fault;

/// How long an auth token lives.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Rails' Cache-Control of a fresh 200 (the document's three directives).
const RAILS_CACHE: &str = "max-age=0, private, must-revalidate";

/// The token's claims (the document's example has `user_id` and `exp`; `jti` makes logins differ).
#[derive(Debug, Serialize)]
struct Claims {
    user_id: u64,
    exp: u64,
    jti: String,
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/sessions", post(create))
        .with_state(app)
}

/// `{"message": …}`; Rails answers errors with `Cache-Control: no-cache`.
fn message(status: StatusCode, text: &str) -> Reply {
    Reply::json(status, JSON_UTF8, &json!({"message": text}))
        .header(header::CACHE_CONTROL, "no-cache")
}

async fn create(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Reply {
    app.login_delay().await;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if app.negotiates() && !negotiation::body_type_ok(&headers, &bytes, Consumes::Form, true) {
        return message(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type");
    }
    let Ok(form) = body::form(&bytes) else {
        return message(StatusCode::BAD_REQUEST, "Malformed request body");
    };
    let email = body::field(&form, "email").filter(|s| !s.is_empty());
    let password = body::field(&form, "password").filter(|s| !s.is_empty());
    let (Some(email), Some(password)) = (email, password) else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "email and password are required",
        );
    };
    let account = match app
        .directory
        .authenticate(Kind::User, email, password)
        .await
    {
        Ok(Authentication::Ok(account)) => account,
        Ok(Authentication::UnknownUser) if app.has(Fault::EnumerateUsers) => {
            return message(StatusCode::NOT_FOUND, "No such user");
        }
        Ok(Authentication::UnknownUser | Authentication::WrongPassword) => {
            return message(StatusCode::UNAUTHORIZED, "Invalid credentials");
        }
        Ok(Authentication::Throttled(left)) => return app.throttled(left),
        Err(e) => return app.login_failed(&e),
    };
    let claims = Claims {
        user_id: account.id,
        exp: tokens::unix_seconds(SystemTime::now() + app.token_ttl(TOKEN_TTL)),
        jti: app.jti(),
    };
    let Ok(token) = app.jwt.issue(&claims) else {
        return app.standard_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let field = if app.has(Fault::SchemaDrift) {
        "token"
    } else {
        "auth_token"
    };
    // The documented login answers 200; `wrong-status` turns it into 201.
    let status = if app.has(Fault::WrongStatus) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut reply = Reply::json(status, JSON_UTF8, &json!({ field: token }));
    if !app.has(Fault::NoEtag) {
        let etag = EntityTag::of_representation(reply.body(), true);
        reply = reply.header(header::ETAG, &etag.to_string());
    }
    app.token_cache(reply, Some(RAILS_CACHE))
}
