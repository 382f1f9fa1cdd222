//! A stateful in-process fake of LlamaStack for tests and benchmarks: an
//! axum server on `127.0.0.1` serving what the project calls, as
//! LlamaStack 0.2.18 ([`Flavor::V0_2_18`]) or 0.7.3/OGX
//! ([`Flavor::Current`], the default) answer it (`docs/llamastack.md`):
//! the Responses API, streamed or not, chained by `previous_response_id`;
//! files and vector stores; models; 0.2.18's legacy listings.
//!
//! The model is scripted ([`Responder`]): by default it echoes the last user
//! message; [`FakeLlamaStack::set_reply`] and
//! [`FakeLlamaStack::set_agent_responder`] script an agent, known by the
//! sentence [`instructions_for`] in the instructions a request carries. MCP
//! servers are never called: the requests, their tools and headers are
//! recorded ([`FakeLlamaStack::responses_received`]).
//!
//! It can be inspected ([`FakeLlamaStack::snapshot`],
//! [`FakeLlamaStack::counters`], [`FakeLlamaStack::requests`]) and broken on
//! purpose: any status for the next N requests to a path or route, an
//! unreachable MCP server, a failed or cut response, added latency, slow
//! tokens, or the whole server down.
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::fake_llamastack::{FakeLlamaStack, Flavor, instructions_for};
//! let fake = FakeLlamaStack::builder().flavor(Flavor::V0_2_18).start().await.expect("fake");
//! fake.set_reply("laptop-refresh", |message| format!("You asked: {message}"));
//! assert_eq!(instructions_for("laptop-refresh"), "You are the laptop-refresh.");
//! fake.fail_mcp("snow"); // requests carrying the `snow` MCP tool fail as the server does
//! fake.fail_next_with(Some("POST"), "/v1/openai/v1/vector_stores", 1, 503);
//! # }
//! ```

mod events;
mod flavor;
mod model;
mod routes;
mod serve;
mod state;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;
use shared_clients::llamastack::responses::CreateResponse;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use flavor::Flavor;
pub use model::{ChainItem, Responder, ResponderInput, Scripted, echo, instructions_for, routing};
pub use state::{
    Counters, FakeFile, FakeModel, FakeVectorStore, RecordedRequest, Snapshot, StoredResponse,
};

/// The models a fake serves unless told otherwise: one LLM and one
/// embedding model, provider-prefixed as servers list them.
pub const DEFAULT_LLM: &str = "vllm/llama-3-3-70b-instruct-w8a8";
pub const DEFAULT_EMBEDDING_MODEL: &str = "vllm/all-MiniLM-L6-v2";
pub const DEFAULT_EMBEDDING_DIMENSION: u64 = 384;

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
    pub(crate) flavor: Flavor,
    pub(crate) state: Mutex<Snapshot>,
    pub(crate) counters: Mutex<Counters>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) received: Mutex<Vec<CreateResponse>>,
    pub(crate) faults: Mutex<Faults>,
    script: RwLock<Script>,
}

impl Inner {
    pub(crate) fn script(&self) -> std::sync::RwLockReadGuard<'_, Script> {
        self.script.read().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) paths: Vec<PathFault>,
    pub(crate) latency: Duration,
    pub(crate) turn_latency: Duration,
    pub(crate) token_delay: Duration,
    pub(crate) failed_responses: VecDeque<String>,
    pub(crate) truncated_responses: u32,
    pub(crate) failing_mcp: BTreeSet<String>,
}

pub(crate) struct PathFault {
    pub(crate) method: Option<String>,
    pub(crate) path: String,
    pub(crate) remaining: u32,
    pub(crate) status: u16,
}

/// Who plays the model: an agent's responder when the instructions name
/// the agent, else the default.
pub(crate) struct Script {
    by_agent: BTreeMap<String, Responder>,
    default: Responder,
}

impl Script {
    pub(crate) fn responder_for(&self, input: &ResponderInput) -> Responder {
        self.by_agent
            .iter()
            .find(|(agent, _)| input.is_agent(agent))
            .map_or_else(
                || Arc::clone(&self.default),
                |(_, responder)| Arc::clone(responder),
            )
    }
}

/// Settings of a fake before it starts.
pub struct FakeBuilder {
    port: u16,
    models: Vec<FakeModel>,
    flavor: Flavor,
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

    /// Play this server (default: [`Flavor::Current`]).
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    pub async fn start(self) -> anyhow::Result<FakeLlamaStack> {
        let inner = Arc::new(Inner {
            flavor: self.flavor,
            state: Mutex::new(Snapshot {
                models: self.models,
                ..Snapshot::default()
            }),
            counters: Mutex::default(),
            requests: Mutex::default(),
            received: Mutex::default(),
            faults: Mutex::default(),
            script: RwLock::new(Script {
                by_agent: BTreeMap::new(),
                default: echo(),
            }),
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
    /// A fake of the current servers on a free port with the default
    /// models; panics if it cannot bind.
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
            flavor: Flavor::default(),
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

    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    /// The base of `responses`, `files`, `vector_stores` (`/v1/openai/v1`, `/v1`).
    pub fn api_base(&self) -> &'static str {
        self.inner.flavor.api_base()
    }

    /// The sentence naming `agent` in instructions ([`instructions_for`]).
    pub fn instructions_for(agent: &str) -> String {
        instructions_for(agent)
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
        lock(&self.inner.received).clear();
    }

    /// The `POST responses` bodies received (those that parsed), in order:
    /// their model, instructions, `previous_response_id`, tools and headers.
    pub fn responses_received(&self) -> Vec<CreateResponse> {
        lock(&self.inner.received).clone()
    }

    /// Plays the model for every agent without a responder of its own
    /// (default: echo the last user message).
    pub fn set_responder(
        &self,
        responder: impl Fn(&ResponderInput) -> model::Scripted + Send + Sync + 'static,
    ) {
        self.script_mut().default = Arc::new(responder);
    }

    /// Plays the model for requests whose instructions name `agent`
    /// ([`instructions_for`]).
    pub fn set_agent_responder(
        &self,
        agent: &str,
        responder: impl Fn(&ResponderInput) -> model::Scripted + Send + Sync + 'static,
    ) {
        self.script_mut()
            .by_agent
            .insert(agent.to_owned(), Arc::new(responder));
    }

    /// `agent` answers `reply(last user message)`.
    pub fn set_reply(&self, agent: &str, reply: impl Fn(&str) -> String + Send + Sync + 'static) {
        self.set_agent_responder(agent, move |input: &ResponderInput| {
            model::Scripted::Text(reply(input.last_user_text().unwrap_or_default()))
        });
    }

    fn script_mut(&self) -> std::sync::RwLockWriteGuard<'_, Script> {
        self.inner
            .script
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` requests to `path` (any method) answer 500.
    pub fn fail_next(&self, path: &str, times: u32) {
        self.fail_next_with(None, path, times, 500);
    }

    /// The next `times` requests to `path` with `method` (any when `None`)
    /// answer `status`. `path` is a request path (`/v1/vector_stores`) or a
    /// route of the router (`/v1/vector_stores/{id}`, matching every store's).
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

    /// The next `times` responses fail after they began: `response.failed`
    /// with `message` (current servers), an error event (0.2.18), or 500
    /// when not streamed.
    pub fn fail_next_responses(&self, times: u32, message: &str) {
        let mut faults = lock(&self.inner.faults);
        for _ in 0..times {
            faults.failed_responses.push_back(message.to_owned());
        }
    }

    /// The next `times` streamed responses end before `response.completed`
    /// (and are not stored).
    pub fn truncate_next_responses(&self, times: u32) {
        lock(&self.inner.faults).truncated_responses += times;
    }

    /// Requests carrying the MCP tool `server_label` fail as the server does
    /// when it cannot reach that MCP server: streamed, an error event right
    /// after its listing began; else 500 (0.2.18) or 502 `Failed to connect
    /// to MCP server at <url>` and the connection reset at its next request.
    pub fn fail_mcp(&self, server_label: &str) {
        lock(&self.inner.faults)
            .failing_mcp
            .insert(server_label.to_owned());
    }

    /// The MCP server `server_label` is reachable again.
    pub fn restore_mcp(&self, server_label: &str) {
        lock(&self.inner.faults).failing_mcp.remove(server_label);
    }

    /// Every answer is delayed by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner.faults).latency = latency;
    }

    /// Every response takes `latency` before it begins (the model's time),
    /// on top of [`Self::set_latency`].
    pub fn set_turn_latency(&self, latency: Duration) {
        lock(&self.inner.faults).turn_latency = latency;
    }

    /// Each streamed text token comes `delay` after the one before.
    pub fn set_token_delay(&self, delay: Duration) {
        lock(&self.inner.faults).token_delay = delay;
    }

    /// Legacy (0.2.18): an agent the previous release registered. Its id.
    pub fn add_legacy_agent(&self, name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let created = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let agent = json!({"agent_id": id, "created_at": created, "agent_config": {
            "name": name, "model": DEFAULT_LLM, "instructions": instructions_for(name),
            "toolgroups": [], "client_tools": [], "max_infer_iters": 10, "enable_session_persistence": false}});
        lock(&self.inner.state).agents.insert(id.clone(), agent);
        id
    }

    /// Legacy (0.2.18): a toolgroup (`mcp::<name>` of the MCP provider when
    /// `uri` is given).
    pub fn add_legacy_toolgroup(&self, id: &str, uri: Option<&str>) {
        let (provider, endpoint) = match uri {
            Some(uri) => ("model-context-protocol", json!({ "uri": uri })),
            None => ("rag-runtime", serde_json::Value::Null),
        };
        lock(&self.inner.state).toolgroups.insert(
            id.to_owned(),
            json!({"identifier": id, "provider_resource_id": id, "provider_id": provider,
                   "type": "tool_group", "mcp_endpoint": endpoint, "args": null}),
        );
    }

    /// Legacy (0.2.18): a vector DB registered through `/v1/vector-dbs`.
    pub fn add_legacy_vector_db(&self, id: &str) {
        lock(&self.inner.state).vector_dbs.insert(
            id.to_owned(),
            json!({"identifier": id, "provider_resource_id": id, "provider_id": "faiss",
                   "type": "vector_db", "embedding_model": DEFAULT_EMBEDDING_MODEL,
                   "embedding_dimension": DEFAULT_EMBEDDING_DIMENSION, "vector_db_name": null}),
        );
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
        let app = routes::router(Arc::clone(&self.inner))
            .into_make_service_with_connect_info::<serve::Connection>();
        let listener = serve::ResettingListener(listener);
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
