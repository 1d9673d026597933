//! form-sessions (seed 003): `POST /api/sessions` and `DELETE /api/sessions` with a `form_name`, an
//! API token on every request and a session cookie (`docs/dialects.md`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dashmap::DashMap;
use serde_json::{json, Map, Value};

use super::app::{App, Reply};
use super::body;
use super::fixture::{Authentication, Kind};
use super::negotiation::{Consumes, Produces, JSONAPI};
use super::tokens;
use super::Fault;

/// The "YOUR API TOKEN" of the document.
pub(crate) const API_TOKEN: &str = "form-api-token-0001";
const COOKIE: &str = "_form_session";
const CREATE_FORM: &str = "reference_rest_api_create_sessions";
const DELETE_FORM: &str = "reference_rest_api_delete_sessions";
const CHALLENGE: &str = "Token realm=\"Application\"";

struct Forms {
    app: Arc<App>,
    /// Live session secrets → user id.
    sessions: DashMap<String, u64>,
}

type St = State<Arc<Forms>>;

pub(crate) fn router(app: Arc<App>) -> Router {
    let state = Arc::new(Forms {
        app,
        sessions: DashMap::new(),
    });
    Router::new()
        .route("/api/sessions", post(create).delete(destroy))
        .with_state(state)
}

fn error(status: StatusCode, title: &str, detail: Option<&str>, pointer: Option<&str>) -> Value {
    let mut e = Map::new();
    e.insert("status".into(), json!(status.as_u16().to_string()));
    e.insert("title".into(), json!(title));
    if let Some(d) = detail {
        e.insert("detail".into(), json!(d));
    }
    if let Some(p) = pointer {
        e.insert("source".into(), json!({"pointer": p}));
    }
    Value::Object(e)
}

fn errors(status: StatusCode, list: Vec<Value>) -> Reply {
    Reply::json(status, JSONAPI, &json!({"errors": list}))
}

/// The one 401 of this API: bad API token, bad credentials, or no live session.
fn unauthorized() -> Reply {
    errors(
        StatusCode::UNAUTHORIZED,
        vec![error(
            StatusCode::UNAUTHORIZED,
            "Invalid Authentication",
            None,
            None,
        )],
    )
    .header(header::WWW_AUTHENTICATE, CHALLENGE)
}

fn wrong_parameters() -> Reply {
    let detail = "Wrong parameters passed";
    errors(
        StatusCode::NOT_ACCEPTABLE,
        vec![error(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable",
            Some(detail),
            None,
        )],
    )
}

/// The token of `Authorization: Token token=VALUE` (quotes and further options allowed, as Rails).
fn api_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    rest.split([',', ';', '\t']).find_map(|opt| {
        let (name, v) = opt.trim().split_once('=')?;
        (name.trim() == "token").then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
    })
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then_some(value)
        })
}

/// API token (401), then `Accept` (406), then the body's type (415), then its syntax (400).
fn gate(
    app: &App,
    headers: &HeaderMap,
    bytes: &[u8],
    required: bool,
) -> Result<Map<String, Value>, Reply> {
    let token_ok = api_token(headers)
        .is_some_and(|t| tokens::constant_time_eq(t.as_bytes(), API_TOKEN.as_bytes()));
    if !token_ok {
        return Err(unauthorized());
    }
    let negotiated = app.negotiate(
        headers,
        bytes,
        Produces::JsonOrJsonApi,
        Consumes::JsonOrJsonApi,
        required,
    );
    if let Some(reply) = negotiated {
        return Err(reply);
    }
    if bytes.is_empty() && !required {
        return Ok(Map::new());
    }
    body::json_object(bytes).map_err(|e| {
        errors(
            StatusCode::BAD_REQUEST,
            vec![error(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                Some(&e.to_string()),
                None,
            )],
        )
    })
}

fn invalid(pointer: &str, detail: &str) -> Value {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Unprocessable Entity",
        Some(detail),
        Some(pointer),
    )
}

async fn create(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    let app = &st.app;
    app.login_delay().await;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let doc = match gate(app, &headers, &bytes, true) {
        Ok(doc) => doc,
        Err(reply) => return reply,
    };
    let form = doc.get("form").and_then(Value::as_object);
    let (Some(CREATE_FORM), Some(form)) = (doc.get("form_name").and_then(Value::as_str), form)
    else {
        return wrong_parameters();
    };
    let email = body::non_empty_str(form, "email").filter(|e| e.contains('@'));
    let password = body::non_empty_str(form, "password");
    let mut problems = Vec::new();
    if email.is_none() {
        problems.push(invalid(
            "/form/email",
            "Wrong values, not matched validations: email must be an email address",
        ));
    }
    if password.is_none() {
        problems.push(invalid(
            "/form/password",
            "Wrong values, not matched validations: password is required",
        ));
    }
    let (Some(email), Some(password)) = (email, password) else {
        return errors(StatusCode::UNPROCESSABLE_ENTITY, problems);
    };
    let account = match app
        .directory
        .authenticate(Kind::User, email, password)
        .await
    {
        Ok(Authentication::Ok(account)) => account,
        Ok(Authentication::UnknownUser) if app.has(Fault::EnumerateUsers) => {
            let err = error(StatusCode::NOT_FOUND, "No such user", None, None);
            return errors(StatusCode::NOT_FOUND, vec![err]);
        }
        Ok(Authentication::UnknownUser | Authentication::WrongPassword) => return unauthorized(),
        Ok(Authentication::Throttled(left)) => return app.throttled(left),
        Err(e) => return app.login_failed(&e),
    };
    // `session-fixation`: a session cookie the client brought becomes the session.
    let planted = session_cookie(&headers)
        .filter(|_| app.has(Fault::SessionFixation))
        .map(str::to_owned);
    let secret = planted.unwrap_or_else(|| app.opaque_token());
    let cookie = format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict");
    st.sessions.insert(secret, account.id);
    let body = if app.has(Fault::SchemaDrift) {
        json!({"ok": true})
    } else {
        json!({})
    };
    let reply =
        Reply::json(app.faults.created(), JSONAPI, &body).append(header::SET_COOKIE, &cookie);
    app.token_cache(reply, None)
}

async fn destroy(State(st): St, headers: HeaderMap, body: Body) -> Reply {
    let app = &st.app;
    let Some(bytes) = body::read(body).await else {
        return app.standard_error(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let doc = match gate(app, &headers, &bytes, false) {
        Ok(doc) => doc,
        Err(reply) => return reply,
    };
    if doc.get("form_name").and_then(Value::as_str) != Some(DELETE_FORM) {
        return wrong_parameters();
    }
    let Some(secret) = session_cookie(&headers) else {
        return unauthorized();
    };
    let live = if app.has(Fault::NoRevoke) {
        st.sessions.contains_key(secret)
    } else {
        st.sessions.remove(secret).is_some()
    };
    if !live {
        return unauthorized();
    }
    let clear = format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    app.deleted(&json!({})).append(header::SET_COOKIE, &clear)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn reads_token_authorization() {
        let cases = [
            ("Token token=abc", Some("abc")),
            ("token token=\"abc\", nonce=\"x\"", Some("abc")),
            ("Token nonce=1; token=abc", Some("abc")),
            ("Bearer abc", None),
            ("Token abc", None),
            ("Token", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                api_token(&with(header::AUTHORIZATION, value)),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn reads_the_session_cookie() {
        assert_eq!(
            session_cookie(&with(header::COOKIE, "a=1; _form_session=xyz; b=2")),
            Some("xyz")
        );
        assert_eq!(
            session_cookie(&with(header::COOKIE, "_form_session=")),
            None
        );
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
