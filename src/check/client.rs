//! The HTTP client of a `check` run: one connection pool per run, no redirects followed (a 3xx is
//! just a status the spec describes), one timeout over connect + headers + body, bodies read in
//! chunks and cut at `--max-body`, and every failure classified into a one-line reason. TLS
//! settings (extra CA certificates, `insecure`, HTTP/1.1 only, fixed name resolution) come from a
//! [`ClientTls`]; HTTP/2 is negotiated through ALPN on `https://` targets that offer it.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use crate::http::{RequestData, ResponseData};
use crate::tls::{ClientTls, TlsError};

/// Why an exchange produced no response. `Display` is the one-line reason shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("timeout after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("connection refused")]
    Refused,
    #[error("connection reset")]
    Reset,
    #[error("connection closed before a complete response")]
    Closed,
    #[error("invalid HTTP response: {0}")]
    InvalidResponse(String),
    #[error("cannot send the request: {0}")]
    InvalidRequest(String),
    /// The TLS handshake failed; the reason names the cause (see [`crate::tls::describe`]).
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Other(String),
}

/// The HTTP client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot create the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A `--target` that cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("target `{url}` is not a valid URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("target {url}: only http:// and https:// targets are supported")]
    Scheme { url: String },
    #[error("target {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: ExchangeError },
}

/// What the client sends as `Accept` when a request has none: reqwest always adds it (as curl
/// does), so reports record it ([`with_wire_defaults`]) to show requests exactly as sent.
pub const DEFAULT_ACCEPT: &str = "*/*";

/// `req` as it goes on the wire: with `Accept: */*` added when it has no `Accept`.
pub fn with_wire_defaults(mut req: RequestData) -> RequestData {
    if req.header("accept").is_none() {
        req.headers.push(("Accept".into(), DEFAULT_ACCEPT.into()));
    }
    req
}

/// Sends resolved requests; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    timeout: Duration,
    max_body: usize,
}

impl HttpClient {
    /// A client whose exchanges time out after `timeout` and read at most `max_body` body bytes,
    /// with the default TLS settings (system roots, certificates verified).
    pub fn new(timeout: Duration, max_body: usize) -> Result<HttpClient, ClientError> {
        HttpClient::with_tls(timeout, max_body, &ClientTls::default())
    }

    /// [`HttpClient::new`] with the TLS settings `tls`.
    pub fn with_tls(
        timeout: Duration,
        max_body: usize,
        tls: &ClientTls,
    ) -> Result<HttpClient, ClientError> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true);
        let inner = tls.apply(builder)?.build().map_err(ClientError::Build)?;
        Ok(HttpClient {
            inner,
            timeout,
            max_body,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `req` and reads the response, all within the timeout. Never panics on what the
    /// server sends: anything unreadable becomes an [`ExchangeError`].
    pub async fn send(&self, req: &RequestData) -> Result<ResponseData, ExchangeError> {
        let request = self.build(req)?;
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(ExchangeError::Timeout(self.timeout)),
        }
    }

    fn build(&self, req: &RequestData) -> Result<reqwest::Request, ExchangeError> {
        let bad = |what: String| ExchangeError::InvalidRequest(what);
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| bad(format!("invalid URL `{}`: {e}", req.url)))?;
        let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
            .map_err(|e| bad(format!("invalid method: {e}")))?;
        let mut request = reqwest::Request::new(method, url);
        let headers = request.headers_mut();
        for (name, value) in &req.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad(format!("invalid header name `{name}`")))?;
            let v = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|_| bad(format!("invalid value of header `{name}`")))?;
            headers.append(n, v);
        }
        if let Some(body) = &req.body {
            *request.body_mut() = Some(body.clone().into());
        }
        Ok(request)
    }

    async fn exchange(&self, request: reqwest::Request) -> Result<ResponseData, ExchangeError> {
        let mut resp = self.inner.execute(request).await.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body: Vec<u8> = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            let room = self.max_body.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(ResponseData {
            status,
            headers,
            body,
            truncated,
        })
    }
}

/// Turns a reqwest error into a one-line reason by walking its causes.
pub fn classify(err: reqwest::Error) -> ExchangeError {
    if err.is_builder() {
        return ExchangeError::InvalidRequest(err.to_string());
    }
    if let Some(reason) = crate::tls::failure_reason(&err) {
        return ExchangeError::Tls(reason);
    }
    let https = err.url().is_some_and(|u| u.scheme() == "https");
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if https && err.is_connect() && io.kind() == std::io::ErrorKind::UnexpectedEof {
                return ExchangeError::Tls(
                    "handshake failed: the server closed the connection (does it serve TLS on \
                     this port? try http://)"
                        .into(),
                );
            }
            if let Some(c) = classify_io(io) {
                return c;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_parse() {
                let mut why = h.to_string();
                // A TLS server answers a plain request with a TLS alert, which is no HTTP
                // version: hyper's words are the only sign of it.
                if !https && why.contains("version") {
                    why.push_str(" (does it serve HTTPS? try https://)");
                }
                return ExchangeError::InvalidResponse(why);
            }
            if h.is_incomplete_message() {
                return ExchangeError::Closed;
            }
        }
        source = crate::tls::next_cause(e);
    }
    let mut chain = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    chain.dedup();
    ExchangeError::Other(super::checks::shorten(&chain.join(": ")))
}

fn classify_io(io: &std::io::Error) -> Option<ExchangeError> {
    use std::io::ErrorKind;
    Some(match io.kind() {
        ErrorKind::ConnectionRefused => ExchangeError::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            ExchangeError::Reset
        }
        ErrorKind::UnexpectedEof => ExchangeError::Closed,
        ErrorKind::InvalidData => ExchangeError::InvalidResponse(io.to_string()),
        _ => return None,
    })
}

/// Checks once that `base_url` answers HTTP (connect, TLS for https, a complete response to
/// `GET base_url`, any status, all within the client's timeout), so that a dead target is one clear
/// error rather than a failure per case.
pub async fn probe(client: &HttpClient, base_url: &str) -> Result<(), ProbeError> {
    let url = reqwest::Url::parse(base_url).map_err(|e| ProbeError::BadUrl {
        url: base_url.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ProbeError::Scheme {
            url: base_url.to_owned(),
        });
    }
    if url.host_str().is_none() {
        return Err(ProbeError::BadUrl {
            url: base_url.to_owned(),
            reason: "no host".into(),
        });
    }
    let request = RequestData {
        method: crate::spec::Method::Get,
        url: url.to_string(),
        headers: Vec::new(),
        body: None,
    };
    client
        .send(&request)
        .await
        .map(|_| ())
        .map_err(|reason| ProbeError::Unreachable {
            url: base_url.trim_end_matches('/').to_owned(),
            reason,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Method;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot raw TCP server answering `reply` to the first connection.
    async fn raw_server(reply: Vec<u8>, close: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(&reply).await;
                if !close {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        });
        format!("http://{addr}")
    }

    fn get(url: &str) -> RequestData {
        RequestData {
            method: Method::Get,
            url: format!("{url}/x"),
            headers: vec![("Accept".into(), "*/*".into())],
            body: None,
        }
    }

    #[tokio::test]
    async fn reads_status_headers_and_body_without_redirects() {
        let url = raw_server(
            b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi"
                .to_vec(),
            true,
        )
        .await;
        let client = HttpClient::new(Duration::from_secs(5), 1024).unwrap();
        let resp = client.send(&get(&url)).await.unwrap();
        assert_eq!(resp.status, 302);
        assert_eq!(resp.header("location"), Some("/elsewhere"));
        assert_eq!(resp.body, b"hi");
        assert!(!resp.truncated);
    }

    #[tokio::test]
    async fn cuts_large_bodies() {
        let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
        reply.extend(std::iter::repeat_n(b'x', 100));
        let url = raw_server(reply, true).await;
        let client = HttpClient::new(Duration::from_secs(5), 10).unwrap();
        let resp = client.send(&get(&url)).await.unwrap();
        assert_eq!(resp.body.len(), 10);
        assert!(resp.truncated);
    }

    #[tokio::test]
    async fn garbage_is_an_invalid_response() {
        let url = raw_server(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec(), true).await;
        let client = HttpClient::new(Duration::from_secs(5), 1024).unwrap();
        let err = client.send(&get(&url)).await.unwrap_err();
        assert!(
            matches!(
                err,
                ExchangeError::InvalidResponse(_) | ExchangeError::Closed
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn slow_body_times_out() {
        let url = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".to_vec(),
            false,
        )
        .await;
        let client = HttpClient::new(Duration::from_millis(300), 1024).unwrap();
        let err = client.send(&get(&url)).await.unwrap_err();
        assert_eq!(err, ExchangeError::Timeout(Duration::from_millis(300)));
        assert_eq!(err.to_string(), "timeout after 300ms");
    }

    #[tokio::test]
    async fn short_body_is_a_closed_connection() {
        let url = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".to_vec(),
            true,
        )
        .await;
        let client = HttpClient::new(Duration::from_secs(5), 1024).unwrap();
        let err = client.send(&get(&url)).await.unwrap_err();
        assert_eq!(err, ExchangeError::Closed, "{err}");
    }

    #[tokio::test]
    async fn https_to_a_server_that_hangs_up_is_a_tls_failure() {
        let url = raw_server(Vec::new(), true)
            .await
            .replace("http://", "https://");
        let client = HttpClient::new(Duration::from_secs(5), 1024).unwrap();
        let err = client.send(&get(&url)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "TLS: handshake failed: the server closed the connection (does it serve TLS on this \
             port? try http://)"
        );
    }

    #[tokio::test]
    async fn refused_connections_are_one_line() {
        // Bind then drop to get a port with no listener.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = HttpClient::new(Duration::from_secs(5), 1024).unwrap();
        assert_eq!(
            client.send(&get(&url)).await.unwrap_err(),
            ExchangeError::Refused
        );
        let err = probe(&client, &url).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("target {url} is unreachable: connection refused")
        );
    }

    #[tokio::test]
    async fn probe_rejects_bad_urls() {
        let client = HttpClient::new(Duration::from_secs(1), 1024).unwrap();
        assert!(matches!(
            probe(&client, "not a url").await,
            Err(ProbeError::BadUrl { .. })
        ));
        assert!(matches!(
            probe(&client, "ftp://127.0.0.1:1").await,
            Err(ProbeError::Scheme { .. })
        ));
    }

    #[tokio::test]
    async fn probe_times_out_on_a_listener_that_never_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let client = HttpClient::new(Duration::from_millis(300), 1024).unwrap();
        let err = probe(&client, &url).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("target {url} is unreachable: timeout after 300ms")
        );
        hold.abort();
    }

    #[test]
    fn wire_defaults_add_accept_only_when_absent() {
        let mut req = get("http://127.0.0.1:1");
        req.headers.clear();
        let wire = with_wire_defaults(req.clone());
        assert_eq!(wire.header("accept"), Some(DEFAULT_ACCEPT));
        req.headers.push(("accept".into(), "text/html".into()));
        assert_eq!(with_wire_defaults(req.clone()), req);
    }

    #[tokio::test]
    async fn invalid_request_headers_are_errors() {
        let client = HttpClient::new(Duration::from_secs(1), 1024).unwrap();
        let mut req = get("http://127.0.0.1:1");
        req.headers.push(("X-Bad".into(), "a\nb".into()));
        assert!(matches!(
            client.send(&req).await,
            Err(ExchangeError::InvalidRequest(_))
        ));
    }
}
