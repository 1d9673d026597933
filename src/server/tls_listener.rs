//! An axum [`Listener`] that accepts TCP connections and hands over only those whose TLS
//! handshake completed. Handshakes run concurrently (a slow or silent client does not hold up
//! the others), each bounded in time, and all of them end when the listener is dropped, which
//! graceful shutdown does at once: the port closes and no half-open handshake outlives it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many handshakes in flight; beyond it, new connections wait in the kernel's
/// backlog.
const MAX_HANDSHAKES: usize = 1024;

type Handshake = BoxFuture<'static, Option<(TlsStream<TcpStream>, SocketAddr)>>;

pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: FuturesUnordered<Handshake>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: FuturesUnordered::new(),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_HANDSHAKES;
            let busy = !self.handshakes.is_empty();
            tokio::select! {
                accepted = self.tcp.accept(), if room => match accepted {
                    Ok((tcp, peer)) => {
                        let _ = tcp.set_nodelay(true);
                        self.handshakes
                            .push(handshake(self.acceptor.clone(), tcp, peer).boxed());
                    }
                    Err(e) => {
                        // As axum's own TCP listener does: out of file descriptors and the
                        // like pass.
                        log::debug!("reference server: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = self.handshakes.next(), if busy => {
                    if let Some(conn) = done {
                        return conn;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some((tls, peer)),
        Ok(Err(e)) => {
            log::debug!("reference server: TLS handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            log::debug!("reference server: TLS handshake with {peer} timed out");
            None
        }
    }
}
