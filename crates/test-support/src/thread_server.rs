//! An axum app served on a free port of 127.0.0.1 by a thread of its own
//! with a current-thread runtime, so that synchronous and asynchronous
//! tests alike can use it; shut down gracefully and joined when dropped
//! (or, [`ThreadServer::detached`], not joined). The fakes of this crate
//! (`fake_servicenow`, `fake_slack`) and the OpenAI stub run on it.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use axum::Router;

#[derive(Debug)]
pub(crate) struct ThreadServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    join_on_drop: bool,
}

impl ThreadServer {
    /// Binds a free port, then serves `app(address)` there on a thread
    /// named `name` (also the name errors give).
    pub(crate) fn start(name: &str, app: impl FnOnce(SocketAddr) -> Router) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .with_context(|| format!("binding {name}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let app = app(addr);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
            join_on_drop: true,
        })
    }

    /// Dropping does not wait for the thread: graceful shutdown waits for
    /// open connections, which a peer may keep alive (LlamaStack does), so
    /// the thread and its runtime end on their own.
    pub(crate) fn detached(mut self) -> Self {
        self.join_on_drop = false;
        self
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ThreadServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take()
            && self.join_on_drop
        {
            let _ = thread.join();
        }
    }
}
