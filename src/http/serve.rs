//! The accept loop, in place of `axum::serve`, which has neither header nor idle timeouts nor
//! a connection cap, and whose graceful shutdown waits forever for a client that never
//! finishes its headers.
//!
//! Per connection: hyper's HTTP/1 with upgrades (WebSockets) over a [`Watched`] stream that
//! enforces two deadlines while no request is in progress: the request head must arrive within
//! `http.header_read_timeout` (from the connection's start, or from the first byte of the next
//! request on a kept-alive connection), and a kept-alive connection idle for
//! `http.keep_alive_idle_timeout` is closed. A request in progress (its response body included,
//! so streams) is bounded by the request deadline layer instead, and an upgraded connection by
//! its socket's pings. A semaphore caps open connections (`http.max_connections`): beyond it a
//! new connection is answered 503 and closed. On shutdown the listener closes, idle connections
//! close at once, requests in progress get `http.drain_timeout`, then every connection left is
//! dropped, so a stop takes bounded time whatever the clients do.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What a connection may take (`[http]` settings).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a request's head.
    pub header_read: Duration,
    /// Longest silence between requests on a kept-alive connection.
    pub idle: Duration,
    /// Open connections at once.
    pub max_connections: usize,
    /// How long requests in progress may finish after shutdown begins.
    pub drain: Duration,
}

impl Limits {
    /// The limits in `settings.http`.
    #[must_use]
    pub fn from_settings(http: &crate::config::HttpSettings) -> Self {
        Self {
            header_read: http.header_read_timeout,
            idle: http.keep_alive_idle_timeout,
            max_connections: http.max_connections,
            drain: http.drain_timeout,
        }
    }
}

/// Answer connections on `listener` with `router` until `shutdown`, then drain (bounded by
/// `limits.drain`) and return. `name` labels the logs and metrics (`api`, `metrics`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
    name: &'static str,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, mostly: let some connections close first.
                        tracing::warn!(listener = name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refuse(&tcp, name);
                    continue;
                };
                if let Err(e) = tcp.set_nodelay(true) {
                    // Offers and answers are small writes that must leave at once (no Nagle).
                    tracing::debug!(error = %e, "could not set TCP_NODELAY on an accepted connection");
                }
                connections.spawn(connection(tcp, peer, router.clone(), limits, permit, shutdown.clone()));
            }
        }
    }
    drop(listener);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(listener = name, open, left = connections.len(), "drain deadline passed; closing the rest");
    }
    connections.shutdown().await;
}

/// Over the cap: a 503 the client can read, then close (never queued in the backlog).
fn refuse(tcp: &TcpStream, name: &'static str) {
    metrics::counter!("gd_http_connections_refused_total", "listener" => name).increment(1);
    // A fresh socket's send buffer is empty: this never blocks (and a failure changes nothing).
    let _ = tcp.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    permit: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Watched::new(tcp, activity.clone(), limits, permit));
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let busy = Busy::begin(&activity);
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(req).await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                busy.activity.upgraded.store(true, Ordering::Relaxed);
            }
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = shutdown.cancelled() => {
            // Idle connections close now; one with a request in progress after its response.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// What the watched stream must know about its connection's requests.
#[derive(Debug, Default)]
struct Activity {
    /// Requests whose response (body included) is not done yet.
    in_progress: AtomicUsize,
    /// Responses done so far: a change means the connection went idle again.
    finished: AtomicU64,
    /// Switched to another protocol (a WebSocket): its own pings watch it from then on.
    upgraded: AtomicBool,
    /// The reader that found a request in progress: woken when it ends, to start the idle clock.
    reader: AtomicWaker,
}

/// One request in progress, until its response body is done or dropped.
struct Busy {
    activity: Arc<Activity>,
}

impl Busy {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_progress.fetch_add(1, Ordering::AcqRel);
        Self { activity: activity.clone() }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.activity.finished.fetch_add(1, Ordering::AcqRel);
        self.activity.in_progress.fetch_sub(1, Ordering::AcqRel);
        self.activity.reader.wake();
    }
}

/// A response body that keeps its request counted as in progress until it is done.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Which deadline a quiet connection is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// For the rest of a request head (or the first one on a new connection).
    Head,
    /// For the next request on a kept-alive connection.
    Idle,
}

/// A TCP stream whose reads fail with `TimedOut` when the client is too slow to send a request
/// head or idles too long between requests. It also holds the connection's slot under the cap,
/// released when the stream is dropped (after an upgrade, when the WebSocket ends).
struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
    limits: Limits,
    waiting: Waiting,
    finished_seen: u64,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl Watched {
    fn new(tcp: TcpStream, activity: Arc<Activity>, limits: Limits, slot: OwnedSemaphorePermit) -> Self {
        metrics::gauge!("gd_http_connections").increment(1.0);
        let deadline = Box::pin(tokio::time::sleep(limits.header_read));
        Self { tcp, activity, limits, waiting: Waiting::Head, finished_seen: 0, deadline, _slot: slot }
    }

    fn quiet(&self) -> bool {
        self.activity.in_progress.load(Ordering::Acquire) == 0 && !self.activity.upgraded.load(Ordering::Relaxed)
    }

    /// Bytes arrived: on an idle connection they start the next head's deadline.
    fn on_bytes(&mut self) {
        if self.waiting == Waiting::Idle && self.quiet() {
            self.waiting = Waiting::Head;
            self.deadline.as_mut().reset(Instant::now() + self.limits.header_read);
        }
    }

    /// Nothing to read: is the client out of time?
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.activity.reader.register(cx.waker());
        if !self.quiet() {
            return Poll::Pending;
        }
        let finished = self.activity.finished.load(Ordering::Acquire);
        if finished != self.finished_seen {
            self.finished_seen = finished;
            self.waiting = Waiting::Idle;
            self.deadline.as_mut().reset(Instant::now() + self.limits.idle);
        }
        if self.deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let why = match self.waiting {
            Waiting::Head => "request head not received in time",
            Waiting::Idle => "kept-alive connection idle too long",
        };
        metrics::counter!("gd_http_connections_timed_out_total", "waiting" => why).increment(1);
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        metrics::gauge!("gd_http_connections").decrement(1.0);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.tcp).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.on_bytes();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => self.poll_deadline(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}
