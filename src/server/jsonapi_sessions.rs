//! jsonapi-sessions (seed 000): `POST /v1/sessions`, `DELETE /v1/sessions/{id}` with JSON:API 1.1
//! negotiation and conditional requests (`docs/dialects.md`).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::routing::{delete, post};
use axum::Router;
use dashmap::DashMap;
use serde_json::{json, Map, Value};

use super::app::{now_seconds, rfc3339, App, Reply};
use super::body;
use super::conditional::{EntityTag, Evaluation, ResourceState};
use super::fixture::{Authentication, Kind};
use super::negotiation::{Consumes, Produces, JSONAPI};
use super::Fault;

/// A live session: its id is its secret.
#[derive(Debug, Clone)]
struct Session {
    etag: EntityTag,
    created: SystemTime,
}

struct JsonApi {
    app: Arc<App>,
    sessions: DashMap<String, Session>,
}

type St = State<Arc<JsonApi>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let state = Arc::new(JsonApi {
        app,
        sessions: DashMap::new(),
    });
    Router::new()
        .route("/v1/sessions", post(create))
        .route("/v1/sessions/{id}", delete(destroy))
        .with_state(state)
}

/// One JSON:API error object.
fn error(status: StatusCode, code: &str, title: &str, pointer: Option<&str>) -> Value {
    let mut e = json!({"status": status.as_u16().to_string(), "code": code, "title": title});
    if let (Some(p), Some(obj)) = (pointer, e.as_object_mut()) {
        obj.insert("source".into(), json!({"pointer": p}));
    }
    e
}

fn errors(status: StatusCode, list: Vec<Value>) -> Reply {
    Reply::json(status, JSONAPI, &json!({"errors": list}))
}

/// 406, then 415: JSON:API content negotiation, before anything else but routing.
fn negotiate(app: &App, headers: &HeaderMap, body: &[u8], body_required: bool) -> Option<Reply> {
    app.negotiate(
        headers,
        body,
        Produces::JsonApi,
        Consumes::JsonApi,
        body_required,
    )
}

fn invalid(pointer: &str, title: &str) -> Value {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_attribute",
        title,
        Some(pointer),
    )
}

/// The credentials of a create document, or the 422 errors it deserves.
fn credentials(doc: &Map<String, Value>) -> Result<(&str, &str), Vec<Value>> {
    let Some(data) = doc.get("data").and_then(Value::as_object) else {
        return Err(vec![invalid("/data", "data must be a resource object")]);
    };
    let mut problems = Vec::new();
    if data.get("type").and_then(Value::as_str) != Some("sessions") {
        problems.push(invalid("/data/type", "type must be \"sessions\""));
    }
    let Some(attrs) = data.get("attributes").and_then(Value::as_object) else {
        problems.push(invalid("/data/attributes", "attributes must be an object"));
        return Err(problems);
    };
    let email = body::non_empty_str(attrs, "email");
    let password = body::non_empty_str(attrs, "password");
    if email.is_none() {
        problems.push(invalid(
            "/data/attributes/email",
            "email must be a non-empty string",
        ));
    }
    if password.is_none() {
        problems.push(invalid(
            "/data/attributes/password",
            "password must be a non-empty string",
        ));
    }
    match (email, password) {
        (Some(e), Some(p)) if problems.is_empty() => Ok((e, p)),
        _ => Err(problems),
    }
}

async fn create(State(st): St, method: Method, headers: HeaderMap, body: Body) -> Reply {
    let app = &st.app;
    app.login_delay().await;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Some(reply) = negotiate(app, &headers, &bytes, true) {
        return reply;
    }
    let doc = match body::json_object(&bytes) {
        Ok(doc) => doc,
        Err(e) => {
            let mut err = error(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "Malformed body",
                None,
            );
            err["detail"] = Value::String(e.to_string());
            return errors(StatusCode::BAD_REQUEST, vec![err]);
        }
    };
    let (email, password) = match credentials(&doc) {
        Ok(c) => c,
        Err(list) => return errors(StatusCode::UNPROCESSABLE_ENTITY, list),
    };
    let account = match app
        .directory
        .authenticate(Kind::User, email, password)
        .await
    {
        Ok(Authentication::Ok(account)) => account,
        Ok(Authentication::UnknownUser) if app.has(Fault::EnumerateUsers) => {
            let err = error(StatusCode::NOT_FOUND, "unknown_user", "No such user", None);
            return errors(StatusCode::NOT_FOUND, vec![err]);
        }
        Ok(Authentication::UnknownUser | Authentication::WrongPassword) => {
            let err = error(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
                None,
            );
            return errors(StatusCode::UNAUTHORIZED, vec![err])
                .header(header::WWW_AUTHENTICATE, "Session realm=\"sessions\"");
        }
        Ok(Authentication::Throttled(left)) => return app.throttled(left),
        Err(e) => return app.login_failed(&e),
    };
    // The collection has no representation: If-Match is false, If-None-Match: * true, dates ignored.
    if app.evaluate(&method, &headers, &ResourceState::default()) != Evaluation::Proceed {
        let err = error(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "Precondition failed",
            None,
        );
        return errors(StatusCode::PRECONDITION_FAILED, vec![err]);
    }
    let id = app.opaque_token();
    let created = now_seconds();
    let link = format!("/v1/sessions/{id}");
    let mut data = json!({
        "type": "sessions",
        "id": id,
        "attributes": {"email": account.login, "created_at": rfc3339(created)},
        "links": {"self": link},
    });
    if app.has(Fault::SchemaDrift) {
        if let Some(obj) = data.as_object_mut() {
            obj.remove("id");
        }
    }
    let reply = Reply::json(
        app.faults.created(),
        JSONAPI,
        &json!({"data": data, "links": {"self": link}}),
    );
    let etag = app.etag_of(reply.body(), false);
    let reply = reply.header(header::LOCATION, &link);
    let reply = app.with_last_modified(reply, created);
    let reply = app.with_etag(reply, &etag);
    st.sessions.insert(id, Session { etag, created });
    app.token_cache(reply, None)
}

async fn destroy(
    State(st): St,
    method: Method,
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
    let not_found = || app.standard_error(StatusCode::NOT_FOUND);
    let Ok(Path(id)) = path else {
        return not_found();
    };
    let Some(session) = st.sessions.get(&id).map(|s| s.clone()) else {
        return not_found();
    };
    let resource = ResourceState {
        etag: Some(&session.etag),
        last_modified: app.last_modified(session.created),
        exists: true,
    };
    if app.evaluate(&method, &headers, &resource) != Evaluation::Proceed {
        let err = error(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "Precondition failed",
            None,
        );
        return app.with_etag(
            errors(StatusCode::PRECONDITION_FAILED, vec![err]),
            &session.etag,
        );
    }
    if !app.has(Fault::NoRevoke) && st.sessions.remove(&id).is_none() {
        // Deleted by a concurrent request in the meantime.
        return not_found();
    }
    app.deleted(&json!({"meta": {"deleted": true}}))
}
