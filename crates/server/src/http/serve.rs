//! Serving `app(state)` on a socket with the limits an open port needs: a cap on connections (so
//! thousands of sockets cannot exhaust file descriptors) where, at the cap, the longest-idle
//! connection is closed to make room (so silent sockets cannot starve real requests), a deadline
//! for a request's headers (which also closes idle keep-alive connections), and a graceful
//! shutdown. The whole-request deadline (body included) is a layer in [`crate::app`].

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Limits of one listening server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once. At the cap, a new connection closes the longest-idle one (it has
    /// sent no request yet, or waits between keep-alive requests); while every one has a request
    /// in flight, new clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time to send a request's headers, and the longest a keep-alive connection may sit idle.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_connections: 1024, header_timeout: Duration::from_secs(10) }
    }
}

/// Connections the kernel completes and queues while the accept loop catches up (Linux caps it at
/// `net.core.somaxconn`, 4096 by default). Tokio's `TcpListener::bind` asks for 128: under a
/// connection flood a lag of 128 connects overflows it, and the kernel then drops every SYN, a
/// real client's too, which the client retries only after 1 s, then 3 s, then 7 s.
const BACKLOG: u32 = 1024;

/// Listens on `addr` with a backlog of [`BACKLOG`] (address reuse as tokio's `bind`).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Accepts connections until `shutdown` resolves, then lets open requests finish (up to 10 s).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let room = Room::new(limits.max_connections);
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
        let slot = tokio::select! {
            slot = room.slot() => slot,
            () = &mut shutdown => break,
        };
        let connection = room.open(stopping.child_token(), slot);
        tokio::spawn(serve_connection(&http, stream, peer, app.clone(), connection));
    }
    drop(listener);
    stopping.cancel();
    if tokio::time::timeout(Duration::from_secs(10), room.all_closed()).await.is_err() {
        tracing::warn!("requests still open after 10 s; closing them");
    }
}

/// Serves one connection until it ends, it is evicted to make room, or the server stops.
fn serve_connection(
    http: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    connection: Registered,
) -> impl Future<Output = ()> + use<> {
    let (room, id) = (connection.room.clone(), connection.id);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_request = InRequest::start(&room, id);
        let response = router.clone().oneshot(request.map(axum::body::Body::new));
        async move {
            let response = response.await?;
            // The request stays in flight until its answer has been written out.
            Ok::<_, std::convert::Infallible>(
                response.map(|body| axum::body::Body::new(TrackedBody { body, _in_request: in_request })),
            )
        }
    });
    let http_connection = http.serve_connection(TokioIo::new(stream), service);
    async move {
        tokio::pin!(http_connection);
        tokio::select! {
            // The connection first: a request already in the socket's buffer is read, and so
            // counts as sent, before a close is acted on.
            biased;
            _ = http_connection.as_mut() => {},
            () = connection.close.cancelled() => {
                // One that never sent a request has nothing to finish (and hyper would wait for
                // its first request): it is dropped. Any other is shut down gracefully.
                if connection.room.has_had_a_request(connection.id) {
                    http_connection.as_mut().graceful_shutdown();
                    let closed = std::future::poll_fn(|cx| Poll::Ready(http_connection.as_mut().poll(cx).is_ready()));
                    if !closed.await {
                        // It is in a request (one that came in as it was picked, say): it keeps
                        // its slot until that is answered, so the accept loop makes room elsewhere.
                        tracing::debug!("a connection being closed finishes its request first");
                        connection.room.changed.notify_one();
                        let _ = http_connection.await;
                    }
                }
            }
        }
        drop(connection);
    }
}

/// The connection slots, and the idle connections that make room at the cap.
struct Room {
    slots: Arc<Semaphore>,
    max_connections: u32,
    registry: Mutex<Registry>,
    /// Woken when an idle connection appears where there was none, or when a connection picked to
    /// make room is finishing a request instead: the accept loop then picks (another) one.
    /// `notify_one` keeps the wake-up for a waiter that comes late, so none is lost.
    changed: Notify,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    next_tick: u64,
    connections: HashMap<u64, ConnectionState>,
    /// Idle connections by the tick at which they became idle, so the longest idle comes first.
    idle: BTreeMap<u64, u64>,
}

struct ConnectionState {
    /// Cancelled to close this connection: to make room, or when the server stops.
    close: CancellationToken,
    /// Requests dispatched and not yet answered to the end (HTTP/1: at most one at a time, but
    /// the next may start just before the last answer's body is dropped).
    in_flight: usize,
    has_had_a_request: bool,
    /// Its key in [`Registry::idle`] while it is idle.
    idle_since: Option<u64>,
}

impl Registry {
    /// Returns whether it is the only idle connection, which the accept loop may be waiting for.
    fn mark_idle(&mut self, id: u64) -> bool {
        let tick = self.next_tick;
        let Some(state) = self.connections.get_mut(&id) else { return false };
        if state.in_flight > 0 || state.close.is_cancelled() || state.idle_since.is_some() {
            return false;
        }
        self.next_tick += 1;
        state.idle_since = Some(tick);
        self.idle.insert(tick, id);
        self.idle.len() == 1
    }
}

impl Room {
    fn new(max_connections: usize) -> Arc<Room> {
        let max = max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Arc::new(Room {
            slots: Arc::new(Semaphore::new(max)),
            max_connections: u32::try_from(max).unwrap_or(u32::MAX),
            registry: Mutex::default(),
            changed: Notify::new(),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection: a free one, else the one the longest-idle connection gives up
    /// when it closes; while none is idle (every connection has a request in flight), the first
    /// slot freed or the first connection to become idle.
    async fn slot(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(slot) = self.slots.clone().try_acquire_owned() {
                return slot;
            }
            if !self.close_the_longest_idle() {
                tracing::trace!("at the connection cap with every connection in a request: waiting");
            }
            tokio::select! {
                Ok(slot) = self.slots.clone().acquire_owned() => return slot,
                () = self.changed.notified() => {},
            }
        }
    }

    /// Returns whether there was an idle connection to close.
    fn close_the_longest_idle(&self) -> bool {
        let mut registry = self.registry();
        let Some((_, id)) = registry.idle.pop_first() else { return false };
        if let Some(state) = registry.connections.get_mut(&id) {
            state.idle_since = None;
            state.close.cancel();
        }
        tracing::trace!("at the connection cap: closing the longest-idle connection");
        true
    }

    /// Registers a new connection, idle until its first request.
    fn open(self: &Arc<Self>, close: CancellationToken, slot: OwnedSemaphorePermit) -> Registered {
        let mut registry = self.registry();
        let id = registry.next_id;
        registry.next_id += 1;
        let state = ConnectionState { close: close.clone(), in_flight: 0, has_had_a_request: false, idle_since: None };
        registry.connections.insert(id, state);
        if registry.mark_idle(id) {
            self.changed.notify_one();
        }
        Registered { room: self.clone(), id, close, _slot: slot }
    }

    fn request_started(&self, id: u64) {
        let mut registry = self.registry();
        let Some(state) = registry.connections.get_mut(&id) else { return };
        state.in_flight += 1;
        state.has_had_a_request = true;
        if let Some(tick) = state.idle_since.take() {
            registry.idle.remove(&tick);
        }
    }

    fn request_ended(&self, id: u64) {
        let mut registry = self.registry();
        if let Some(state) = registry.connections.get_mut(&id) {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        if registry.mark_idle(id) {
            self.changed.notify_one();
        }
    }

    fn has_had_a_request(&self, id: u64) -> bool {
        self.registry().connections.get(&id).is_some_and(|state| state.has_had_a_request)
    }

    fn closed(&self, id: u64) {
        let mut registry = self.registry();
        if let Some(tick) = registry.connections.remove(&id).and_then(|state| state.idle_since) {
            registry.idle.remove(&tick);
        }
    }

    async fn all_closed(&self) {
        let _every_slot = self.slots.acquire_many(self.max_connections).await;
    }
}

/// An open connection's place in the [`Room`] and its slot, given up when its task ends (panic
/// included).
struct Registered {
    room: Arc<Room>,
    id: u64,
    close: CancellationToken,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.room.closed(self.id);
    }
}

/// A request in flight on its connection, from its headers to the end of its answer.
struct InRequest {
    room: Arc<Room>,
    id: u64,
}

impl InRequest {
    fn start(room: &Arc<Room>, id: u64) -> InRequest {
        room.request_started(id);
        InRequest { room: room.clone(), id }
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.room.request_ended(self.id);
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
