//! Serving `app(state)` on a socket with the limits an open port needs: a cap on connections (so
//! thousands of idle sockets cannot exhaust file descriptors) where, at the cap, the oldest idle
//! connection is closed to make room (so silent sockets cannot starve real requests), a deadline
//! for a request's headers (which also closes idle keep-alive connections), and a graceful
//! shutdown. The whole-request deadline (body included) is a layer in [`crate::app`].

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Limits of one listening server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once. At the cap, a new connection closes the oldest one that is idle
    /// (it has sent no request yet, or waits between keep-alive requests); when every one has a
    /// request in flight, new clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time to send a request's headers, and the longest a keep-alive connection may sit idle.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_connections: 1024, header_timeout: Duration::from_secs(10) }
    }
}

/// Accepts connections until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let connections = Arc::new(Connections::default());
    let stopping = CancellationToken::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait for some to be freed.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            () = connections.make_room(limits.max_connections.max(1)) => {},
            () = &mut shutdown => break,
        }
        let entry = connections.open(stopping.child_token());
        tokio::spawn(serve_connection(&http, stream, peer, app.clone(), entry));
    }
    drop(listener);
    stopping.cancel();
    if tokio::time::timeout(Duration::from_secs(10), connections.all_closed()).await.is_err() {
        tracing::warn!("requests still open after 10 s; closing them");
    }
}

/// Serves one connection until it ends, it is evicted to make room, or the server stops.
fn serve_connection(
    http: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    entry: Registered,
) -> impl Future<Output = ()> + use<> {
    let (connection, connections) = (entry.connection.clone(), entry.connections.clone());
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_request = InRequest::start(&connection, &connections);
        let response = router.clone().oneshot(request.map(axum::body::Body::new));
        async move {
            let response = response.await?;
            // The request stays in flight until its answer has been written out.
            Ok::<_, std::convert::Infallible>(
                response.map(|body| axum::body::Body::new(TrackedBody { body, _in_request: in_request })),
            )
        }
    });
    let connection = http.serve_connection(TokioIo::new(stream), service);
    async move {
        tokio::pin!(connection);
        tokio::select! {
            // The connection first: a request already in the socket's buffer is read, and so
            // counts as sent, before an eviction is acted on.
            biased;
            _ = connection.as_mut() => {},
            () = entry.connection.close.cancelled() => {
                // One that never sent a request has nothing to finish (and hyper would wait for
                // its first request): drop it. Any other finishes the request it is in, if any.
                if entry.connection.has_had_a_request.load(Ordering::Acquire) {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        }
        drop(entry);
    }
}

/// The open connections, oldest first, so that at the cap the oldest idle one makes room.
#[derive(Default)]
struct Connections {
    by_age: Mutex<BTreeMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
    /// Woken when a connection closes or a request ends: room may have been made.
    changed: Notify,
}

struct Connection {
    /// Requests dispatched and not yet answered to the end (HTTP/1: at most one at a time, but
    /// the next may start just before the last answer's body is dropped).
    in_flight: AtomicUsize,
    has_had_a_request: AtomicBool,
    /// Cancelled to evict this connection, or when the server stops.
    close: CancellationToken,
}

impl Connections {
    fn by_age(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Connection>>> {
        self.by_age.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open(self: &Arc<Self>, close: CancellationToken) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection =
            Arc::new(Connection { in_flight: AtomicUsize::new(0), has_had_a_request: AtomicBool::new(false), close });
        self.by_age().insert(id, connection.clone());
        Registered { connections: self.clone(), id, connection }
    }

    /// Returns once fewer than `max` connections are open. At the cap, closes the oldest idle
    /// connection (unless one is closing already); when none is idle, waits for one to be.
    async fn make_room(&self, max: usize) {
        loop {
            {
                let by_age = self.by_age();
                if by_age.len() < max {
                    return;
                }
                // While an evicted connection closes, it still counts: wait for it, evict no more.
                let closing_one = by_age.values().any(|c| c.close.is_cancelled());
                if !closing_one && let Some(idle) = by_age.values().find(|c| c.is_idle()) {
                    tracing::debug!("at the connection cap: closing the oldest idle connection");
                    idle.close.cancel();
                }
            }
            // `notify_one` keeps a wake-up for a waiter that comes late, so none is lost here.
            self.changed.notified().await;
        }
    }

    async fn all_closed(&self) {
        while !self.by_age().is_empty() {
            self.changed.notified().await;
        }
    }
}

/// A connection's place among the open ones, given up when its task ends (panic included).
struct Registered {
    connections: Arc<Connections>,
    id: u64,
    connection: Arc<Connection>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.connections.by_age().remove(&self.id);
        self.connections.changed.notify_one();
    }
}

impl Connection {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// A request in flight on its connection, from its headers to the end of its answer.
struct InRequest {
    connection: Arc<Connection>,
    connections: Arc<Connections>,
}

impl InRequest {
    fn start(connection: &Arc<Connection>, connections: &Arc<Connections>) -> InRequest {
        connection.has_had_a_request.store(true, Ordering::Release);
        connection.in_flight.fetch_add(1, Ordering::AcqRel);
        InRequest { connection: connection.clone(), connections: connections.clone() }
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.connections.changed.notify_one();
    }
}

/// An answer's body that keeps its request in flight until it has been written out or dropped.
struct TrackedBody {
    body: axum::body::Body,
    _in_request: InRequest,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
