//! The reference server over real HTTP: every endpoint of every dialect (`docs/dialects.md`), each
//! fault switch, overload, and the `serve` binary. Servers bind 127.0.0.1:0 with `HashCost::Low`
//! (`overload`: `HashCost::Owasp` with one hash worker).

mod binary;
mod drf;
mod faults;
mod form;
mod jsonapi;
mod metrics;
mod overload;
mod rails;
mod service;
mod variants;

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use sessionspec::server::{start, Dialect, Fault, RunningServer, ServerConfig};
use sha2::{Digest, Sha256};

/// A running server and a client for it.
pub struct Api {
    pub server: RunningServer,
    client: reqwest::Client,
}

impl Api {
    pub async fn start(dialect: Dialect, faults: &[Fault]) -> Api {
        let mut config = ServerConfig::new(dialect);
        config.faults = faults.to_vec();
        Api::start_with(config).await
    }

    pub async fn start_with(config: ServerConfig) -> Api {
        let server = start(config).await.expect("the reference server starts");
        Api {
            server,
            client: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// A received response, read completely.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Whether `Cache-Control` has `no-store` and `Pragma` is `no-cache`.
    pub fn no_store(&self) -> bool {
        self.header("cache-control")
            .is_some_and(|c| c.contains("no-store"))
            && self.header("pragma") == Some("no-cache")
    }

    /// Status, headers other than `Date`/`X-Request-Id`/`X-Runtime`, and body: what must be identical
    /// for an unknown user and a wrong password.
    pub fn comparable(&self) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| !matches!(n.as_str(), "date" | "x-request-id" | "x-runtime"))
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        headers.sort();
        (self.status, headers, self.body.clone())
    }
}

/// Adds `extra` headers, and each of `defaults` whose name `extra` does not set (reqwest appends
/// header lines, so an override must replace the default rather than follow it).
pub fn with_headers(
    mut req: RequestBuilder,
    defaults: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> RequestBuilder {
    for (n, v) in defaults {
        if !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(n)) {
            req = req.header(*n, *v);
        }
    }
    for (n, v) in extra {
        req = req.header(*n, *v);
    }
    req
}

pub async fn send(request: RequestBuilder) -> Resp {
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("the body is read").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends a hand-written HTTP/1.1 request (for what reqwest always adds, such as `Accept`) and returns
/// the status and the raw response text.
pub async fn raw(
    api: &Api,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(api.server.addr())
        .await
        .expect("connect");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("answered in time")
    .expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, response)
}

/// The project's strong ETag of a body: `"` + 32 hex of its SHA-256 + `"`.
pub fn etag_of(body: &[u8]) -> String {
    let hex: String = Sha256::digest(body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// The claims of a JWT (not verified).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url header");
    serde_json::from_slice(&bytes).expect("JSON header")
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}
