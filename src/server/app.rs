//! State shared by every dialect, the response builder, and the layer every response passes through
//! (fault `flaky`, fault `wrong-content-type`, `X-Content-Type-Options`, rails-jwt's headers).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use super::conditional::{self, EntityTag, Evaluation, Preconditions, ResourceState};
use super::faults::{FaultSet, SLOW_LOGIN};
use super::fixture::{Directory, Weaknesses};
use super::metrics::{self, ServerMetrics};
use super::negotiation::{self, Consumes, Produces, JSON, JSONAPI};
use super::pool::{HashPool, PoolError};
use super::tokens::{self, JwtKeys};
use super::variants::VariantSet;
use super::{Dialect, Fault, ServerConfig, ServerError, Variant};

/// Everything a request handler of any dialect may need. Immutable but for the request counter.
#[derive(Debug)]
pub(crate) struct App {
    pub dialect: Dialect,
    pub faults: FaultSet,
    pub variants: VariantSet,
    pub directory: Directory,
    pub jwt: JwtKeys,
    /// What the server counted (`serve --metrics-addr`, embedded load runs).
    pub metrics: Arc<ServerMetrics>,
    requests: AtomicU64,
    /// `--token-ttl`: the lifetime of tokens and sessions where the dialect's expire.
    token_ttl: Option<Duration>,
    /// Counts the tokens `weak-tokens` hands out.
    weak_tokens: AtomicU64,
}

/// rails-jwt's JSON type.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

impl App {
    /// Hashes the fixture passwords (on the blocking pool) and draws the JWT key.
    pub(crate) async fn build(config: &ServerConfig) -> Result<App, ServerError> {
        let (dialect, cost) = (config.dialect, config.hash_cost);
        let pool = HashPool::new(config.hash_workers, config.hash_queue);
        let weak = Weaknesses {
            timing_leak: config.faults.contains(&Fault::TimingLeak),
            no_lockout: config.faults.contains(&Fault::NoLockout),
        };
        let extra = config.load_accounts.clone();
        let directory = tokio::task::spawn_blocking(move || {
            Directory::build_with(dialect, cost, pool, weak, &extra)
        })
        .await
        .map_err(ServerError::HashTask)?
        .map_err(|e| ServerError::Hash(e.to_string()))?;
        let es256 = config.variants.contains(&Variant::Es256Tokens)
            || config.faults.contains(&Fault::AlgConfusion);
        let jwt = if es256 {
            JwtKeys::es256().map_err(|e| ServerError::JwtKey(e.to_string()))?
        } else {
            JwtKeys::random()
        };
        Ok(App {
            dialect,
            faults: FaultSet::new(&config.faults),
            variants: VariantSet::new(&config.variants),
            directory,
            jwt,
            metrics: Arc::new(ServerMetrics::new()),
            requests: AtomicU64::new(0),
            token_ttl: config.token_ttl,
            weak_tokens: AtomicU64::new(0),
        })
    }

    // ---- session security (issue 15) ----

    /// The lifetime of a token whose documented lifetime is `documented` (`--token-ttl` wins).
    pub(crate) fn token_ttl(&self, documented: Duration) -> Duration {
        self.token_ttl.unwrap_or(documented)
    }

    /// Whether an expiry at `expires` has passed (never under `no-expiry`).
    pub(crate) fn expired(&self, expires: SystemTime) -> bool {
        !self.has(Fault::NoExpiry) && expires <= SystemTime::now()
    }

    /// A new opaque token or session secret: 32 random bytes, or under `weak-tokens` a short
    /// counter (`tok-000001`).
    pub(crate) fn opaque_token(&self) -> String {
        if self.has(Fault::WeakTokens) {
            return format!("tok-{:06}", self.next_weak());
        }
        tokens::opaque()
    }

    /// A new JWT `jti`: 16 random bytes in hex, or under `weak-tokens` a counter.
    pub(crate) fn jti(&self) -> String {
        if self.has(Fault::WeakTokens) {
            return self.next_weak().to_string();
        }
        tokens::jti()
    }

    fn next_weak(&self) -> u64 {
        self.weak_tokens.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Verifies a JWT of this server: signature (not under `no-signature-check`), algorithm
    /// HS256 (or `none` under `alg-none`) and `exp` (not under `no-expiry`).
    pub(crate) fn verify_jwt<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<C, tokens::TokenError> {
        self.jwt.verify_lax(
            token,
            tokens::Lax {
                alg_none: self.has(Fault::AlgNone),
                no_signature: self.has(Fault::NoSignatureCheck),
                no_expiry: self.has(Fault::NoExpiry),
                alg_confusion: self.has(Fault::AlgConfusion),
            },
        )
    }

    /// The answer to a login of a locked name: 429 with `Retry-After` (seconds, rounded up) in
    /// the dialect's error format.
    pub(crate) fn throttled(&self, left: Duration) -> Reply {
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        self.standard_error(StatusCode::TOO_MANY_REQUESTS)
            .header(header::RETRY_AFTER, &secs.max(1).to_string())
    }

    pub(crate) fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }

    pub(crate) fn is(&self, variant: Variant) -> bool {
        self.variants.has(variant)
    }

    /// The entity-tag of a representation: strong, or weak under `weak-etags` (or when `weak`).
    pub(crate) fn etag_of(&self, bytes: &[u8], weak: bool) -> EntityTag {
        EntityTag::of_representation(bytes, weak || self.is(Variant::WeakEtags))
    }

    /// A resource's modification date as the server exposes it: none under `no-last-modified`.
    pub(crate) fn last_modified(&self, t: SystemTime) -> Option<SystemTime> {
        (!self.is(Variant::NoLastModified)).then_some(t)
    }

    /// Adds `Last-Modified: t` unless `no-last-modified` is on.
    pub(crate) fn with_last_modified(&self, reply: Reply, t: SystemTime) -> Reply {
        match self.last_modified(t) {
            Some(t) => reply.header(header::LAST_MODIFIED, &http_date(t)),
            None => reply,
        }
    }

    /// Evaluates the request's preconditions (minus those the faults ignore; If-Match compared
    /// weakly under `weak-if-match`) against `resource` (RFC 9110 §13.2.2).
    pub(crate) fn evaluate(
        &self,
        method: &axum::http::Method,
        headers: &HeaderMap,
        resource: &ResourceState<'_>,
    ) -> Evaluation {
        let comparison = if self.has(Fault::WeakIfMatch) {
            conditional::Comparison::Weak
        } else {
            conditional::Comparison::Strong
        };
        conditional::evaluate_with(method, &self.preconditions(headers), resource, comparison)
    }

    /// Whether 406/415 are answered (not under `accept-anything`).
    pub(crate) fn negotiates(&self) -> bool {
        !self.has(Fault::AcceptAnything)
    }

    /// 406, then 415 (not under `accept-anything`): `Some` is the reply that ends the request.
    pub(crate) fn negotiate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        produces: Produces,
        consumes: Consumes,
        body_required: bool,
    ) -> Option<Reply> {
        if !self.negotiates() {
            return None;
        }
        if !negotiation::accepts(headers, produces) {
            return Some(self.standard_error(StatusCode::NOT_ACCEPTABLE));
        }
        if !negotiation::body_type_ok(headers, body, consumes, body_required) {
            return Some(self.standard_error(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        None
    }

    /// Adds `ETag: tag` unless `no-etag` is on.
    pub(crate) fn with_etag(&self, reply: Reply, tag: &EntityTag) -> Reply {
        if self.has(Fault::NoEtag) {
            reply
        } else {
            reply.header(header::ETAG, &tag.to_string())
        }
    }

    /// A successful delete: 204 with only the dialect's `Content-Type`, or (`wrong-status`) 200
    /// with `body`.
    pub(crate) fn deleted(&self, body: &Value) -> Reply {
        match self.faults.deleted() {
            StatusCode::NO_CONTENT => Reply::empty(StatusCode::NO_CONTENT)
                .header(header::CONTENT_TYPE, self.content_type()),
            status => Reply::json(status, self.content_type(), body),
        }
    }

    /// Under `slow-login`, waits before a login is processed.
    pub(crate) async fn login_delay(&self) {
        if self.has(Fault::SlowLogin) {
            tokio::time::sleep(SLOW_LOGIN).await;
        }
    }

    /// The request's preconditions minus those the active faults ignore.
    pub(crate) fn preconditions(&self, headers: &HeaderMap) -> Preconditions {
        self.faults.filter(Preconditions::from_headers(headers))
    }

    /// The `Content-Type` of this dialect's responses.
    pub(crate) fn content_type(&self) -> &'static str {
        match self.dialect {
            Dialect::JsonapiSessions | Dialect::FormSessions => JSONAPI,
            Dialect::SessionsService | Dialect::DrfSessions => JSON,
            Dialect::RailsJwt => JSON_UTF8,
        }
    }

    /// Cache headers of a response that carries a token or session secret (dropped by `cacheable-token`).
    /// `base` is what the dialect sends without `no-store`.
    pub(crate) fn token_cache(&self, reply: Reply, base: Option<&str>) -> Reply {
        if self.has(Fault::CacheableToken) {
            return match base {
                Some(b) => reply.header(header::CACHE_CONTROL, b),
                None => reply,
            };
        }
        let cc = match base {
            Some(b) => format!("{b}, no-store"),
            None => "no-store".to_string(),
        };
        reply
            .header(header::CACHE_CONTROL, &cc)
            .header(header::PRAGMA, "no-cache")
    }

    /// An error in the dialect's own format for a status that is not specific to one endpoint.
    pub(crate) fn standard_error(&self, status: StatusCode) -> Reply {
        let (code, title) = match status.as_u16() {
            400 => ("malformed_body", "Malformed request body"),
            404 => ("not_found", "Not found"),
            405 => ("method_not_allowed", "Method not allowed"),
            406 => ("not_acceptable", "Not Acceptable"),
            413 => ("payload_too_large", "Request body too large"),
            415 => ("unsupported_media_type", "Unsupported media type"),
            429 => ("too_many_attempts", "Too many failed logins, retry later"),
            503 => ("overloaded", "Service unavailable, retry later"),
            _ => ("internal_error", "Internal server error"),
        };
        let status_text = status.as_u16().to_string();
        let body = match self.dialect {
            Dialect::JsonapiSessions => {
                json!({"errors": [{"status": status_text, "code": code, "title": title}]})
            }
            Dialect::FormSessions => json!({"errors": [{"status": status_text, "title": title}]}),
            Dialect::SessionsService => json!({"code": code, "message": title}),
            Dialect::RailsJwt => json!({"message": title}),
            Dialect::DrfSessions => json!({"detail": drf_detail(status, title)}),
        };
        let reply = Reply::json(status, self.content_type(), &body);
        match self.dialect {
            Dialect::RailsJwt => reply.header(header::CACHE_CONTROL, "no-cache"),
            _ => reply,
        }
    }

    /// The answer to a login whose password could not be verified: 503 with `Retry-After: 1` when the
    /// hash pool is full, 500 when the verification task failed; both in the dialect's error format.
    pub(crate) fn login_failed(&self, error: &PoolError) -> Reply {
        match error {
            PoolError::Overloaded => self
                .standard_error(StatusCode::SERVICE_UNAVAILABLE)
                .header(header::RETRY_AFTER, "1"),
            PoolError::Task(e) => {
                log::error!("login: {e}");
                self.standard_error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Django REST framework's own wording for the generic errors.
fn drf_detail(status: StatusCode, fallback: &'static str) -> &'static str {
    match status.as_u16() {
        400 => "Malformed request.",
        404 => "Not found.",
        405 => "Method not allowed.",
        406 => "Could not satisfy the request Accept header.",
        413 => "Request body too large.",
        415 => "Unsupported media type in request.",
        429 => "Request was throttled.",
        500 => "A server error occurred.",
        503 => "Service temporarily unavailable, try again later.",
        _ => fallback,
    }
}

/// A response under construction: status, headers, body bytes (kept so ETags can hash them).
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    /// In order; small, unlike a `HeaderMap`, so that `Result<_, Reply>` stays cheap.
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
}

impl Reply {
    /// No body (204, 304).
    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON body with its `Content-Type`.
    pub(crate) fn json(status: StatusCode, content_type: &str, value: &Value) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply::empty(status)
            .header(header::CONTENT_TYPE, content_type)
            .with_body(body)
    }

    fn with_body(mut self, body: Vec<u8>) -> Reply {
        self.body = body;
        self
    }

    /// Sets (replaces) a header; a value that is not a valid header value is skipped.
    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.retain(|(n, _)| *n != name);
            self.headers.push((name, v));
        }
        self
    }

    /// Adds a header line, keeping earlier ones of the same name.
    pub(crate) fn append(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        // Our headers win over the defaults (`Content-Type: application/octet-stream` of `Vec<u8>`).
        response.headers_mut().remove(header::CONTENT_TYPE);
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

/// Seconds precision, as HTTP dates carry it.
pub(crate) fn now_seconds() -> SystemTime {
    let secs = tokens::unix_seconds(SystemTime::now());
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// RFC 3339 with second precision, UTC (`2021-09-08T12:22:26Z`).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Adds the dialect-independent parts to a dialect's router: 404 and 405 (with `Allow`) in the
/// dialect's error format, and the common response layer.
pub(crate) fn finish(router: Router, app: Arc<App>) -> Router {
    let not_found = app.clone();
    let not_allowed = app.clone();
    router
        .fallback(move || {
            let app = not_found.clone();
            async move { app.standard_error(StatusCode::NOT_FOUND) }
        })
        .method_not_allowed_fallback(move || {
            let app = not_allowed.clone();
            async move { app.standard_error(StatusCode::METHOD_NOT_ALLOWED) }
        })
        .layer(axum::middleware::from_fn_with_state(app, common_layer))
}

const RAILS_HEADERS: [(&str, &str); 6] = [
    ("x-frame-options", "SAMEORIGIN"),
    ("x-xss-protection", "1; mode=block"),
    ("x-content-type-options", "nosniff"),
    ("x-download-options", "noopen"),
    ("x-permitted-cross-domain-policies", "none"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

/// Whether `Accept` prefers `text/html` to every JSON type (a browser's `text/html,…,*/*;q=0.8`).
fn prefers_html(headers: &HeaderMap) -> bool {
    let ranges = negotiation::parse_accept(headers);
    let q_of = |wanted: &dyn Fn(&str) -> bool| {
        ranges
            .iter()
            .filter(|r| wanted(&r.media.essence))
            .map(|r| r.q)
            .fold(0.0_f32, f32::max)
    };
    let html = q_of(&|e| e == "text/html");
    let json = q_of(&|e| e == JSON || e == JSONAPI || e == "application/*");
    html > 0.0 && html > json
}

/// `html-for-browsers`: a JSON answer as an HTML page (status and other headers kept; the JSON
/// representation's `ETag` dropped, since the page is another representation).
async fn html_page(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept"));
    if !is_json {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let json = String::from_utf8_lossy(&bytes);
    let escaped = json
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — sessionspec reference server</title></head>\n<body><h1>{}</h1><pre>{escaped}</pre></body></html>\n",
        parts.status, parts.status
    );
    parts.headers.remove(header::ETAG);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// Every request passes through here: `flaky` answers every 20th with 500 before the handler runs.
async fn common_layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let exchange = metrics::classify(app.dialect, request.method(), request.uri().path());
    // Only `flaky` counts requests: no shared counter is touched on the usual path.
    let flaky = app.has(Fault::Flaky) && app.faults.flaky_hit(app.next_request());
    let mut request = request;
    let browser = app.is(Variant::HtmlForBrowsers) && prefers_html(request.headers());
    if browser {
        // The handler answers as for any client; the page is made of its answer below.
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    let mut response = if flaky {
        app.standard_error(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response()
    } else {
        next.run(request).await
    };
    if browser {
        response = html_page(response).await;
    }
    let status = response.status();
    if let Some(exchange) = exchange {
        app.metrics.record(exchange, status.as_u16());
    }
    let headers = response.headers_mut();
    if app.has(Fault::WrongContentType) && status.is_success() {
        let wrong = if app.content_type().starts_with(JSON) {
            "text/plain"
        } else {
            JSON
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(wrong));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if app.dialect == Dialect::RailsJwt {
        for (name, value) in RAILS_HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        if let Ok(id) = HeaderValue::from_str(&tokens::uuid_v4()) {
            headers.insert(HeaderName::from_static("x-request-id"), id);
        }
        let runtime = format!("{:.6}", started.elapsed().as_secs_f64());
        if let Ok(rt) = HeaderValue::from_str(&runtime) {
            headers.insert(HeaderName::from_static("x-runtime"), rt);
        }
    }
    response
}
