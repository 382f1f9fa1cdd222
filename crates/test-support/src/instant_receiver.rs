//! A webhook receiver that answers 204 at once and counts: the peer for
//! measuring a dispatcher's throughput (no verification: that is
//! [`crate::webhook_receiver::WebhookReceiver`]'s job). It runs on a thread
//! and runtime of its own, so it serves sync and async callers alike and
//! outlives any one test runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use tokio::sync::oneshot;

#[derive(Debug)]
pub struct InstantReceiver {
    port: u16,
    count: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InstantReceiver {
    pub fn start() -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let count = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("runtime for the instant receiver")?;
        let counter = Arc::clone(&count);
        let thread = std::thread::Builder::new()
            .name("instant-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().fallback(answer).with_state(counter);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            port,
            count,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port><path>` (every path answers).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests answered so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

async fn answer(State(count): State<Arc<AtomicU64>>) -> StatusCode {
    count.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

impl Drop for InstantReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
