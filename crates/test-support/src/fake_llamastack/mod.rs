//! A stateful in-process fake of LlamaStack 0.2.18 for tests and
//! benchmarks: an axum server on `127.0.0.1` implementing the API subset the
//! project uses, with in-memory state and the real server's wire shapes
//! (both in `docs/llamastack.md`).
//!
//! Besides serving, it can be inspected ([`FakeLlamaStack::snapshot`],
//! [`FakeLlamaStack::counters`], [`FakeLlamaStack::requests`]), scripted
//! (per-agent replies, default: echo the user's message) and broken on
//! purpose (any status for the next N requests to a path or route, an
//! in-stream turn error, a stream cut short, added latency, or the whole
//! server down).
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::fake_llamastack::FakeLlamaStack;
//! let fake = FakeLlamaStack::start().await;
//! fake.set_reply("routing-agent", |_config, message| {
//!     if message.contains("laptop") { "ROUTE_TO: laptop-refresh".into() } else { "Hello".into() }
//! });
//! fake.fail_next("/v1/agents", 2); // the next two requests to it answer 500
//! fake.fail_next_with(Some("DELETE"), "/v1/agents/{id}", 1, 503); // any agent's
//! # }
//! ```

mod routes;
mod state;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Map, Value};
use shared_clients::llamastack::AgentConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{
    Counters, FakeFile, FakeModel, FakeSession, FakeVectorStore, RecordedRequest, Snapshot,
};

/// The models a fake serves unless told otherwise: one LLM (provider-prefixed,
/// as vLLM models come back) and one embedding model.
pub const DEFAULT_LLM: &str = "vllm/llama-3-3-70b-instruct-w8a8";
pub const DEFAULT_EMBEDDING_MODEL: &str = "vllm/all-MiniLM-L6-v2";
pub const DEFAULT_EMBEDDING_DIMENSION: u64 = 384;

/// A scripted agent: given the agent's stored configuration and the user's
/// message, the text of the final answer.
pub type ReplyFn = Arc<dyn Fn(&AgentConfig, &str) -> String + Send + Sync>;

/// A running (or stopped) fake LlamaStack.
pub struct FakeLlamaStack {
    inner: Arc<Inner>,
    port: u16,
    running: Mutex<Option<Running>>,
}

struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub(crate) struct Inner {
    pub(crate) state: Mutex<Snapshot>,
    pub(crate) counters: Mutex<Counters>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) replies: RwLock<Replies>,
    /// Last `created_at` handed out, in microseconds: strictly increasing.
    pub(crate) clock: Mutex<i64>,
}

#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) paths: Vec<PathFault>,
    pub(crate) latency: Duration,
    pub(crate) turn_latency: Duration,
    pub(crate) turn_errors: VecDeque<String>,
    pub(crate) truncated_turns: u32,
}

pub(crate) struct PathFault {
    pub(crate) method: Option<String>,
    pub(crate) path: String,
    pub(crate) remaining: u32,
    pub(crate) status: u16,
}

pub(crate) struct Replies {
    pub(crate) by_agent_name: HashMap<String, ReplyFn>,
    pub(crate) default: ReplyFn,
}

/// Settings of a fake before it starts.
pub struct FakeBuilder {
    port: u16,
    models: Vec<FakeModel>,
}

impl FakeBuilder {
    /// Listen on this port of 127.0.0.1 (default: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serve these models instead of the defaults.
    pub fn models(mut self, models: Vec<FakeModel>) -> Self {
        self.models = models;
        self
    }

    pub async fn start(self) -> anyhow::Result<FakeLlamaStack> {
        let snapshot = Snapshot {
            models: self.models.iter().map(FakeModel::to_json).collect(),
            providers: state::default_providers(),
            toolgroups: state::builtin_toolgroups()
                .into_iter()
                .map(|group| {
                    (
                        group["identifier"].as_str().unwrap_or_default().to_owned(),
                        group,
                    )
                })
                .collect(),
            ..Snapshot::default()
        };
        let echo: ReplyFn = Arc::new(|_config: &AgentConfig, message: &str| message.to_owned());
        let inner = Arc::new(Inner {
            state: Mutex::new(snapshot),
            counters: Mutex::default(),
            requests: Mutex::default(),
            faults: Mutex::default(),
            replies: RwLock::new(Replies {
                by_agent_name: HashMap::new(),
                default: echo,
            }),
            clock: Mutex::new(0),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("binding the fake LlamaStack to 127.0.0.1:{}", self.port))?;
        let port = listener.local_addr()?.port();
        let fake = FakeLlamaStack {
            inner,
            port,
            running: Mutex::new(None),
        };
        fake.serve(listener);
        Ok(fake)
    }
}

impl FakeLlamaStack {
    /// A fake on a free port with the default models; panics if it cannot bind.
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .expect("starting the fake LlamaStack on 127.0.0.1")
    }

    pub fn builder() -> FakeBuilder {
        FakeBuilder {
            port: 0,
            models: vec![
                FakeModel::llm(DEFAULT_LLM),
                FakeModel::embedding(DEFAULT_EMBEDDING_MODEL, DEFAULT_EMBEDDING_DIMENSION),
            ],
        }
    }

    /// `http://127.0.0.1:<port>`, the value for `LLAMA_STACK_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A copy of everything the server holds.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.inner.state).clone()
    }

    pub fn counters(&self) -> Counters {
        lock(&self.inner.counters).clone()
    }

    pub fn reset_counters(&self) {
        *lock(&self.inner.counters) = Counters::default();
    }

    /// Every request received since the start (or [`clear_requests`](Self::clear_requests)).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// Scripts the agents named `agent_name` (whatever their id).
    pub fn set_reply(
        &self,
        agent_name: &str,
        reply: impl Fn(&AgentConfig, &str) -> String + Send + Sync + 'static,
    ) {
        self.inner
            .replies
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .by_agent_name
            .insert(agent_name.to_owned(), Arc::new(reply));
    }

    /// Scripts every agent without a reply of its own (default: echo).
    pub fn set_default_reply(
        &self,
        reply: impl Fn(&AgentConfig, &str) -> String + Send + Sync + 'static,
    ) {
        self.inner
            .replies
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .default = Arc::new(reply);
    }

    /// The next `times` requests to `path` (any method) answer 500.
    pub fn fail_next(&self, path: &str, times: u32) {
        self.fail_next_with(None, path, times, 500);
    }

    /// The next `times` requests to `path` with `method` (any when `None`)
    /// answer `status`. `path` is a request path (`/v1/agents`) or a route
    /// of the router (`/v1/agents/{id}`, matching every agent's path).
    pub fn fail_next_with(&self, method: Option<&str>, path: &str, times: u32, status: u16) {
        lock(&self.inner.faults).paths.push(PathFault {
            method: method.map(str::to_ascii_uppercase),
            path: path.to_owned(),
            remaining: times,
            status,
        });
    }

    /// Injected answers not given yet (of [`fail_next_with`](Self::fail_next_with)).
    pub fn pending_faults(&self) -> u32 {
        lock(&self.inner.faults)
            .paths
            .iter()
            .map(|fault| fault.remaining)
            .sum()
    }

    /// Forgets the injected answers not given yet.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).paths.clear();
    }

    /// The next `times` turns answer HTTP 200 with `data: {"error": {"message": ...}}`.
    pub fn fail_next_turns(&self, times: u32, message: &str) {
        let mut faults = lock(&self.inner.faults);
        for _ in 0..times {
            faults.turn_errors.push_back(message.to_owned());
        }
    }

    /// The next `times` turns stream their steps but end before `turn_complete`.
    pub fn truncate_next_turns(&self, times: u32) {
        lock(&self.inner.faults).truncated_turns += times;
    }

    /// Every answer is delayed by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner.faults).latency = latency;
    }

    /// Every agent turn takes `latency` before its stream starts (the
    /// model's time), on top of [`Self::set_latency`].
    pub fn set_turn_latency(&self, latency: Duration) {
        lock(&self.inner.faults).turn_latency = latency;
    }

    /// Registers an agent directly, as another client would have: the
    /// configuration is stored as the server stores it. Returns its id.
    pub fn add_agent(&self, agent_config: Value) -> String {
        let config = match agent_config {
            Value::Object(config) => config,
            _ => Map::new(),
        };
        routes::insert_agent(&self.inner, &config)
    }

    /// Takes the server down: connections are refused until [`restart`](Self::restart).
    pub async fn stop(&self) {
        let running = lock(&self.running).take();
        if let Some(running) = running {
            // An error means the server already ended.
            let _ = running.shutdown.send(());
            let mut task = running.task;
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Serves again on the same port, with the state it had.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("rebinding the fake LlamaStack to port {}", self.port))?;
        self.serve(listener);
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        lock(&self.running).is_some()
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = routes::router(Arc::clone(&self.inner));
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Sent, or the sender dropped: either way, stop.
                    let _ = signal.await;
                })
                .await;
            if let Err(error) = served {
                eprintln!("fake LlamaStack stopped: {error}");
            }
        });
        *lock(&self.running) = Some(Running { shutdown, task });
    }
}

impl Drop for FakeLlamaStack {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            let _ = running.shutdown.send(());
            running.task.abort();
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
