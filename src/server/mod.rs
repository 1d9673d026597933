//! The reference server: every documented session API (`docs/dialects.md`), with real argon2id
//! password hashing, real tokens, real revocation, ETags and conditional requests, and fault switches
//! that each break exactly one rule.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sessionspec::server::ServerError> {
//! use sessionspec::server::{start, Dialect, ServerConfig};
//! let server = start(ServerConfig::new(Dialect::RailsJwt)).await?;
//! println!("{}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod app;
mod body;
pub mod conditional;
mod drf_sessions;
mod faults;
mod fixture;
mod form_sessions;
mod jsonapi_sessions;
pub mod load_accounts;
pub mod metrics;
pub mod negotiation;
mod passwords;
mod pool;
mod rails_jwt;
mod sessions_service;
mod throttle;
mod tls;
mod tls_listener;
mod tokens;
mod variants;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, UnknownFault};
pub use metrics::{ServerCounts, ServerMetrics};
pub use passwords::{HashCost, UnknownHashCost};
pub use tls::{ServerTls, ServerTlsError, SELF_SIGNED_NAMES};
pub use variants::{UnknownVariant, Variant};

/// One documented session API, named as in `docs/dialects.md` and the specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Seed 000: JSON:API sessions v1.
    JsonapiSessions,
    /// Seed 001: OpenAPI-generated SessionsService.
    SessionsService,
    /// Seed 002: Rails `Api::V1::Sessions` with a JWT.
    RailsJwt,
    /// Seed 003: REST API login/logout with `form_name`.
    FormSessions,
    /// Seed 004: Django REST framework sessions with Bearer JWTs.
    DrfSessions,
}

impl Dialect {
    /// Every dialect, in seed order.
    pub const ALL: [Dialect; 5] = [
        Dialect::JsonapiSessions,
        Dialect::SessionsService,
        Dialect::RailsJwt,
        Dialect::FormSessions,
        Dialect::DrfSessions,
    ];

    /// The name used by `--dialect`, the specs and `docs/dialects.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::JsonapiSessions => "jsonapi-sessions",
            Dialect::SessionsService => "sessions-service",
            Dialect::RailsJwt => "rails-jwt",
            Dialect::FormSessions => "form-sessions",
            Dialect::DrfSessions => "drf-sessions",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--dialect` value that names no dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect `{0}`; expected one of: jsonapi-sessions, sessions-service, rails-jwt, form-sessions, drf-sessions")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.as_str() == s.trim())
            .ok_or_else(|| UnknownDialect(s.to_string()))
    }
}

/// How to run one reference server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub dialect: Dialect,
    /// Fault switches; duplicates are harmless.
    pub faults: Vec<Fault>,
    /// Conformant variants (behaviour the documents and RFCs allow); duplicates are harmless.
    pub variants: Vec<Variant>,
    pub hash_cost: HashCost,
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// How many argon2 verifications (logins) run at once; 0 counts as 1. Memory for hashing is at
    /// most this many times the cost's `m` (19 MiB at [`HashCost::Owasp`]).
    pub hash_workers: usize,
    /// How many more logins may wait for a worker; a login beyond that is answered 503 with
    /// `Retry-After: 1` (`docs/dialects.md`, "Overload: 503 and Retry-After").
    pub hash_queue: usize,
    /// Serve HTTPS with this certificate (HTTP/2 and HTTP/1.1 through ALPN) instead of plain
    /// HTTP (`docs/dialects.md`, "TLS").
    pub tls: Option<ServerTls>,
    /// Also serve the server's own counters as Prometheus text at `GET /metrics` on this address
    /// (plain HTTP, its own listener; [`metrics`]).
    pub metrics_addr: Option<SocketAddr>,
    /// How long tokens and sessions live, where the dialect's credentials expire (rails-jwt and
    /// drf-sessions JWTs, sessions-service API keys); `None`: the documented lifetime.
    pub token_ttl: Option<Duration>,
    /// Extra accounts for load runs (`serve --accounts N`, [`load_accounts`]).
    pub load_accounts: load_accounts::LoadAccounts,
}

impl ServerConfig {
    /// `127.0.0.1:0`, plain HTTP, no faults, no variants, [`HashCost::Low`], [`default_hash_workers`]
    /// workers and [`QUEUE_PER_WORKER`] queued logins per worker.
    pub fn new(dialect: Dialect) -> Self {
        let hash_workers = default_hash_workers();
        ServerConfig {
            dialect,
            faults: Vec::new(),
            variants: Vec::new(),
            hash_cost: HashCost::Low,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            hash_workers,
            hash_queue: hash_workers.saturating_mul(QUEUE_PER_WORKER),
            tls: None,
            metrics_addr: None,
            token_ttl: None,
            load_accounts: load_accounts::LoadAccounts::default(),
        }
    }
}

/// The default [`ServerConfig::hash_workers`]: one per core (`std::thread::available_parallelism`),
/// 1 when that is unknown. argon2 is CPU-bound, so more workers only add memory, not throughput.
pub fn default_hash_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The default [`ServerConfig::hash_queue`] is this many logins per worker: a waiting login holds a
/// few KiB (no argon2 memory), and at OWASP cost the last one in the queue waits about
/// `QUEUE_PER_WORKER` verification times (a few seconds), well inside clients' timeouts.
pub const QUEUE_PER_WORKER: usize = 64;

/// Why a reference server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source} (is the port in use? pass port 0 for a free one)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the address the server listens on: {0}")]
    LocalAddr(#[source] std::io::Error),
    #[error("cannot hash the fixture passwords: {0}")]
    Hash(String),
    #[error("cannot make the JWT signing key: {0}")]
    JwtKey(String),
    #[error("the password hashing task failed: {0}")]
    HashTask(#[source] tokio::task::JoinError),
    #[error("cannot listen for metrics on {addr}: {source} (is the port in use? pass port 0 for a free one)")]
    MetricsBind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serve TLS: {0}")]
    Tls(#[source] rustls::Error),
}

/// How long [`RunningServer::shutdown`] waits for open connections before it aborts them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server started by [`start`]. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    dialect: Dialect,
    tls: bool,
    metrics: Arc<ServerMetrics>,
    metrics_addr: Option<SocketAddr>,
    jwt_public_key: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address actually bound (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, or `https://HOST:PORT` when serving TLS, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Whether it serves TLS ([`ServerConfig::tls`]).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The dialect this server answers.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// What the server has counted so far (logins and logouts by status, open sessions).
    pub fn counts(&self) -> ServerCounts {
        self.metrics.counts()
    }

    /// The counters themselves, to read them after the server is gone.
    pub fn metrics(&self) -> Arc<ServerMetrics> {
        self.metrics.clone()
    }

    /// The public key (PEM) of the server's JWTs when they are asymmetric (the `es256-tokens`
    /// variant, the `alg-confusion` fault): the spec variable `jwt_public_key` of embedded runs.
    pub fn jwt_public_key(&self) -> Option<&str> {
        self.jwt_public_key.as_deref()
    }

    /// Where `GET /metrics` is served, when [`ServerConfig::metrics_addr`] was set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Stops accepting connections, lets in-flight requests finish (at most a few seconds) and
    /// waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Graceful shutdown closes the listener at once; the task then ends on its own.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Hashes the fixture passwords, binds `config.addr` and serves `config.dialect` on a background
/// task, over TLS when `config.tls` is set.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let tls = match &config.tls {
        Some(tls) => Some(tls.server_config().map_err(ServerError::Tls)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::LocalAddr)?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::MetricsBind { addr, source })?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr().map_err(ServerError::LocalAddr)?),
        None => None,
    };
    let app = Arc::new(app::App::build(&config).await?);
    let metrics = app.metrics.clone();
    let jwt_public_key = app.jwt.public_pem().map(str::to_owned);
    let router = match config.dialect {
        Dialect::JsonapiSessions => jsonapi_sessions::router(app.clone()),
        Dialect::SessionsService => sessions_service::router(app.clone()),
        Dialect::RailsJwt => rails_jwt::router(app.clone()),
        Dialect::FormSessions => form_sessions::router(app.clone()),
        Dialect::DrfSessions => drf_sessions::router(app.clone()),
    };
    let router = app::finish(router, app);
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    let is_tls = tls.is_some();
    let (stopped, metrics_stopped) = fan_out(stopped);
    let metrics_task = metrics_listener.map(|listener| {
        let page = metrics.clone();
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let page = page.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
                        page.encode(),
                    )
                }
            }),
        );
        spawn_serve(listener, router, metrics_stopped)
    });
    let task = match tls {
        Some(tls) => spawn_serve(
            tls_listener::TlsListener::new(listener, tls),
            router,
            stopped,
        ),
        None => {
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            spawn_serve(listener, router, stopped)
        }
    };
    let task = match metrics_task {
        Some(metrics_task) => tokio::spawn(async move {
            let _ = task.await;
            let _ = metrics_task.await;
        }),
        None => task,
    };
    Ok(RunningServer {
        addr,
        dialect: config.dialect,
        tls: is_tls,
        metrics,
        metrics_addr,
        jwt_public_key,
        stop: Some(stop),
        task: Some(task),
    })
}

/// One stop signal for two listeners.
fn fan_out(
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    impl std::future::Future<Output = ()> + Send + 'static,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let first = async move {
        stopped.await;
        let _ = tx.send(true);
    };
    let second = async move {
        let mut rx = rx;
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    (first, second)
}

/// Serves `router` on `listener` until `stopped`, then shuts down gracefully (the listener
/// closes at once, open connections finish their requests).
fn spawn_serve<L>(
    listener: L,
    router: axum::Router,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: fmt::Debug,
{
    tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(stopped);
        if let Err(e) = serve.await {
            log::error!("reference server stopped: {e}");
        }
    })
}

/// Runs one reference server until `stop` fires, then shuts it down gracefully. `listening` is
/// told the bound address (the real port when 0 was asked for) once the server accepts
/// connections.
pub async fn serve(
    config: ServerConfig,
    stop: &crate::stop::Stop,
    listening: impl FnOnce(&RunningServer),
) -> Result<(), ServerError> {
    let server = start(config).await?;
    listening(&server);
    stop.stopped().await;
    server.shutdown().await;
    Ok(())
}
