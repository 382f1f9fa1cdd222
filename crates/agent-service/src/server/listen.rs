//! Accepting and serving connections, with the limits a service facing
//! slow or hostile clients needs and `axum::serve` does not offer:
//!
//! - at most `max_connections` at once; at the cap, idle connections are
//!   closed to make room (a new client waits in the kernel's backlog only
//!   while every connection has a request in flight); reaching it is logged;
//! - a connection whose request head does not arrive within
//!   `header_read_timeout` of its first byte, or that sends no request
//!   within `header_read_timeout` of opening, is closed (slowloris);
//! - a keep-alive connection idle for `keepalive_timeout` is closed;
//! - on shutdown, idle connections close at once, requests in flight get
//!   the drain deadline.
//!
//! Each connection is HTTP/1 through hyper, the router through
//! hyper-util's tower adapter, the drain through hyper-util's graceful
//! shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// How connections are limited.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// After shutdown begins, how long requests in flight may take.
    pub drain_timeout: Duration,
}

/// How often the connection cap may be reported.
const CAP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let (stopping_tx, stopping) = watch::channel(false);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Told when the cap is reached: idle connections close.
    let (evict, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut last_cap_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_cap_log.is_none_or(|at| at.elapsed() >= CAP_LOG_INTERVAL) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection cap reached: closing idle connections; new clients wait while every connection is busy (MAX_CONNECTIONS)"
                    );
                    last_cap_log = Some(Instant::now());
                }
                let _ = evict.send(());
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Answers are small writes: do not let Nagle hold them back.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(ActivityIo {
            inner: tcp,
            activity: activity.clone(),
        });
        let service = {
            let app = app.clone();
            let activity = activity.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                let guard = activity.begin_request();
                // Who connected: the proxy identity mode trusts some peers.
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let response = app.clone().oneshot(request.map(axum::body::Body::new));
                async move {
                    let response = response.await;
                    drop(guard);
                    response
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        let mut stopping = stopping.clone();
        let mut evicted = evict.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                reason = watchdog(&activity, limits, &mut stopping, &mut evicted) => {
                    tracing::debug!(reason, "connection closed");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    tracing::info!(
        drain_timeout_s = limits.drain_timeout.as_secs_f64(),
        "shutting down: no new connections, finishing in-flight requests"
    );
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("drain deadline passed; closing the remaining connections");
    }
    Ok(())
}

/// Resolves when the connection should be closed: idle too long, a head
/// that does not complete, or shutdown with nothing in flight.
async fn watchdog(
    activity: &Activity,
    limits: Limits,
    stopping: &mut watch::Receiver<bool>,
    evicted: &mut tokio::sync::broadcast::Receiver<()>,
) -> &'static str {
    let tick = limits
        .header_read_timeout
        .min(limits.keepalive_timeout)
        .min(Duration::from_secs(1))
        .max(Duration::from_millis(50));
    loop {
        let mut evict = false;
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            changed = stopping.changed() => {
                if changed.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            signal = evicted.recv() => evict = signal.is_ok(),
        }
        if activity.in_flight() > 0 {
            continue;
        }
        if evict && activity.head_started().is_none() {
            return "idle at the connection cap";
        }
        if *stopping.borrow() && activity.head_started().is_none() {
            return "idle at shutdown";
        }
        match activity.head_started() {
            Some(started) if started.elapsed() >= limits.header_read_timeout => {
                return "request head not received within HEADER_READ_TIMEOUT";
            }
            Some(_) => {}
            None if activity.served() == 0
                && activity.opened.elapsed() >= limits.header_read_timeout =>
            {
                return "no request within HEADER_READ_TIMEOUT of connecting";
            }
            None if activity.idle_for() >= limits.keepalive_timeout => {
                return "idle for KEEPALIVE_TIMEOUT";
            }
            None => {}
        }
    }
}

/// What a connection has been doing, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Requests handed to the router so far.
    served: AtomicUsize,
    /// Last byte read or written.
    last: AtomicU64,
    /// First byte of a request head not yet handed to the router (0: none).
    head: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            last: AtomicU64::new(0),
            head: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        // +1: 0 means "never"
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn at(&self, millis: u64) -> Instant {
        self.opened + Duration::from_millis(millis.saturating_sub(1))
    }

    fn touched(&self, read: bool) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if read && self.in_flight() == 0 {
            let _ = self
                .head
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        self.head.store(0, Ordering::Relaxed);
        RequestGuard(self.clone())
    }

    fn served(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn head_started(&self) -> Option<Instant> {
        match self.head.load(Ordering::Relaxed) {
            0 => None,
            millis => Some(self.at(millis)),
        }
    }

    fn idle_for(&self) -> Duration {
        match self.last.load(Ordering::Relaxed) {
            0 => self.opened.elapsed(),
            millis => self.at(millis).elapsed(),
        }
    }
}

struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.head.store(0, Ordering::Relaxed);
        activity.last.store(activity.now(), Ordering::Relaxed);
        activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, recording when bytes move.
struct ActivityIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touched(true);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touched(false);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `wanted`, but never more than the open-files limit leaves room for
/// (the database pool, LlamaStack, files: `reserve`).
pub fn connection_cap(wanted: usize, reserve: u64) -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    match limit.current {
        Some(soft) => {
            let room = usize::try_from(soft.saturating_sub(reserve).max(1)).unwrap_or(usize::MAX);
            wanted.min(room)
        }
        None => wanted,
    }
}
