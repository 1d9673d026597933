//! The hostile test server: a raw TCP server on 127.0.0.1 whose misbehaviour is chosen by the request
//! path (garbage, invalid JSON, 50 MB bodies, silence, slow loris, resets, redirect loops, wrong
//! Content-Length), plus `/login` (a fresh random token) and `/echo`, `/echo-string` (the request sent back).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Size of the `/huge` body.
pub const HUGE: u64 = 50 * 1024 * 1024;

/// A misbehaving HTTP server on 127.0.0.1, stopped when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Default)]
struct State {
    /// Bytes of the `/huge` body written so far (all connections).
    huge_sent: AtomicU64,
    /// Tokens handed out by `/login`.
    issued: Mutex<Vec<String>>,
}

impl HostileServer {
    pub fn start() -> HostileServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot build the hostile server's runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("no local address");
        let state = Arc::new(State::default());
        let st = state.clone();
        runtime.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(handle(sock, st.clone()));
            }
        });
        HostileServer {
            addr,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes of the 50 MB body written to clients so far.
    pub fn huge_sent(&self) -> u64 {
        self.state.huge_sent.load(Ordering::SeqCst)
    }

    /// Every token `/login` handed out.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state
            .issued
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        // Cancels every task: the listener and the connections that never answer are closed.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A request as read: the head (request line and headers) and the body (at most 64 KiB).
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn target(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("/")
    }

    fn path(&self) -> &str {
        let t = self.target();
        t.split('?').next().unwrap_or(t)
    }
}

async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    const LIMIT: usize = 64 * 1024;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > LIMIT {
            return None;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(LIMIT);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request { head, body })
}

/// The head of a response with `Content-Length: length`.
fn head(status: &str, content_type: &str, length: u64, extra: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n"
    )
}

async fn respond(sock: &mut TcpStream, status: &str, content_type: &str, extra: &str, body: &[u8]) {
    let head = head(status, content_type, body.len() as u64, extra);
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body).await;
    let _ = sock.flush().await;
}

async fn handle(mut sock: TcpStream, state: Arc<State>) {
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    const JSON: &str = "application/json";
    match req.path() {
        "/ok" => respond(&mut sock, "200 OK", JSON, "", br#"{"ok":true}"#).await,
        "/garbage" => {
            let _ = sock
                .write_all(b"\x00\xff\xfeSSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n\x07")
                .await;
        }
        "/invalid-json" => respond(&mut sock, "200 OK", JSON, "", br#"{"ok": tru"#).await,
        "/huge" => {
            let h = head("200 OK", JSON, HUGE, "");
            if sock.write_all(h.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < HUGE {
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len() as u64;
                state
                    .huge_sent
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        "/silent" => tokio::time::sleep(Duration::from_secs(600)).await,
        "/slow-head" => {
            let h = head("200 OK", JSON, 11, "");
            for b in h.bytes().chain(br#"{"ok":true}"#.iter().copied()) {
                if sock.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "/slow-body" => {
            let h = head("200 OK", JSON, 11, "");
            if sock.write_all(h.as_bytes()).await.is_err() {
                return;
            }
            for b in br#"{"ok":true}"# {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if sock.write_all(&[*b]).await.is_err() {
                    return;
                }
            }
        }
        "/reset" => {
            let h = head("200 OK", JSON, 1000, "");
            let _ = sock.write_all(h.as_bytes()).await;
            let _ = sock.write_all(&[b' '; 100]).await;
            let _ = sock.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = sock.set_zero_linger();
        }
        "/redirect" => respond(&mut sock, "302 Found", JSON, "Location: /redirect\r\n", b"").await,
        "/short-length" => {
            let h = head("200 OK", JSON, 100, "");
            let _ = sock.write_all(h.as_bytes()).await;
            let _ = sock.write_all(br#"{"ok":true"#).await;
            let _ = sock.shutdown().await;
        }
        "/long-length" => {
            let h = head("200 OK", JSON, 10, "");
            let _ = sock.write_all(h.as_bytes()).await;
            let mut body = br#"{"ok":true"#.to_vec();
            body.resize(100, b'}');
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
        }
        "/login" => {
            let token = Alphanumeric.sample_string(&mut rand::rng(), 43);
            if let Ok(mut issued) = state.issued.lock() {
                issued.push(token.clone());
            }
            let body = serde_json::json!({ "token": token }).to_string();
            respond(
                &mut sock,
                "200 OK",
                JSON,
                "Cache-Control: no-store\r\n",
                body.as_bytes(),
            )
            .await;
        }
        "/echo" | "/echo-string" => {
            // Everything the client sent, back in a header and in the body: redaction must mask both.
            // `/echo` embeds a JSON request body as JSON; `/echo-string` as a string (escaped twice).
            let request_line = req.head.lines().next().unwrap_or("").to_owned();
            let text = String::from_utf8_lossy(&req.body).into_owned();
            let sent = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(json) if req.path() == "/echo" => json,
                _ => serde_json::Value::String(text),
            };
            let body = serde_json::json!({ "request": req.head, "body": sent }).to_string();
            let extra = format!("X-Echo-Request-Line: {request_line}\r\n");
            respond(&mut sock, "400 Bad Request", JSON, &extra, body.as_bytes()).await;
        }
        _ => {
            respond(
                &mut sock,
                "404 Not Found",
                JSON,
                "",
                br#"{"error":"no such path"}"#,
            )
            .await;
        }
    }
}

/// Sends `GET path` over a plain socket and returns everything the server wrote until it closed.
fn raw_get(server: &HostileServer, path: &str) -> String {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(server.addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    write!(sock, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
    let mut bytes = Vec::new();
    let _ = sock.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn hostile_server_misbehaves_as_designed() {
    let server = HostileServer::start();
    let split = |r: &str| {
        r.split_once("\r\n\r\n")
            .map(|(h, b)| (h.to_owned(), b.len()))
    };
    assert!(raw_get(&server, "/ok").ends_with("\r\n\r\n{\"ok\":true}"));
    assert!(!raw_get(&server, "/garbage").starts_with("HTTP/"));
    assert!(raw_get(&server, "/redirect").contains("\r\nLocation: /redirect\r\n"));
    let (head, len) = split(&raw_get(&server, "/short-length")).expect("a head");
    assert!(
        head.contains("Content-Length: 100") && len == 10,
        "{head} + {len} bytes"
    );
    let (head, len) = split(&raw_get(&server, "/long-length")).expect("a head");
    assert!(
        head.contains("Content-Length: 10\r") && len == 100,
        "{head} + {len} bytes"
    );
    let (head, len) = split(&raw_get(&server, "/reset")).expect("a head");
    assert!(
        head.contains("Content-Length: 1000") && len == 100,
        "{head} + {len} bytes"
    );
}
