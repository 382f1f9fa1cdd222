//! A small OpenAI-compatible inference server for tests: the model server
//! behind a real LlamaStack (`remote::vllm`), deterministic and scriptable.
//!
//! - `GET /v1/models`: [`LLM_MODEL`] and [`EMBEDDING_MODEL`].
//! - `POST /v1/chat/completions` of [`LLM_MODEL`] (another model gets
//!   vLLM's 404), with or without `stream` (SSE chunks,
//!   ending with `data: [DONE]`, `usage` in a last chunk when
//!   `stream_options.include_usage`: the words of the messages and of the
//!   answer; [`OpenAiStub::set_token_delay`] paces the chunks). The answer
//!   follows the installed [`Script`] ([`OpenAiStub::set_script`]), after
//!   the hand-offs every script makes (`transfer_to_<agent>` tools, see
//!   [`script`]): by default ([`Script::Text`]) text only, [`reply`]:
//!   `ROUTE_TO: laptop-refresh` when a system message names a "routing
//!   agent" and the last user message mentions "laptop", else `You said:
//!   <last user message>`; [`Script::LaptopRefresh`] calls the tools of the
//!   laptop refresh journey (OpenAI `tool_calls`, streamed as vLLM does)
//!   and answers with the ticket number; [`Script::CallTools`] calls every
//!   tool offered. Each completion is recorded ([`ChatRecord`]: the tools
//!   offered, the tool results brought back, the answer).
//! - `POST /v1/completions`, with or without `stream`: `You said: <prompt>`.
//! - `POST /v1/embeddings`: deterministic bag-of-words hash vectors of
//!   [`EMBEDDING_DIMENSION`] (or `dimensions`), unit length, so texts that
//!   share words are close; `encoding_format: "base64"` gives little-endian
//!   f32 bytes in base64 (what the `openai` Python client asks for).
//! - `POST /mcp`: a minimal MCP server (streamable HTTP, JSON answers) with
//!   one tool, `echo`, so agents can list the tools of a toolgroup
//!   registered with `mcp_endpoint.uri = <url>/mcp`; `POST /mcp/<server>`
//!   is another such server whose tool is `<server>_echo` (an agent may use
//!   several MCP servers, and tool names must not collide). Each request
//!   is recorded with its headers ([`McpRequest`]).
//!
//! Every completion and every tool call gets a unique id.
//! [`OpenAiStub::start`] serves on 127.0.0.1 from a thread of its own (its
//! own tokio runtime), so it keeps answering whatever the caller's runtime
//! does; the `openai-stub` binary serves the same router (text only).

mod chat;
mod embeddings;
mod mcp;
pub mod script;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::thread_server::ThreadServer;

pub use chat::ChatRecord;
pub use embeddings::embed;
pub use mcp::McpRequest;
pub use script::{Answer, Script, ToolCall, ToolResult, reply};

/// The chat model the stub serves.
pub const LLM_MODEL: &str = "stub-llm";
/// The embedding model the stub serves.
pub const EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";
/// Dimension of the stub's embeddings unless a request asks otherwise.
pub const EMBEDDING_DIMENSION: usize = 384;

/// What the stub has seen, for assertions.
#[derive(Debug, Default)]
pub struct StubLog {
    /// Bodies of `POST /v1/chat/completions`, oldest first.
    pub chat_requests: Vec<Value>,
    /// Each chat completion as the stub saw and answered it, oldest first.
    pub chats: Vec<ChatRecord>,
    /// Number of inputs embedded so far.
    pub embedded_inputs: usize,
    /// Requests to the MCP endpoints, oldest first.
    pub mcp_requests: Vec<McpRequest>,
}

/// The router's state: what was seen, the script to play and its pace.
#[derive(Debug, Default)]
struct StubState {
    log: Mutex<StubLog>,
    script: Mutex<Script>,
    token_delay: Mutex<Duration>,
}

type Shared = Arc<StubState>;

/// The stub's routes, on a fresh log.
pub fn router() -> Router {
    router_with_state(Shared::default())
}

/// The stub's routes with the model playing `script` from the start.
pub fn router_with_script(script: Script) -> Router {
    let state = Shared::default();
    if let Ok(mut current) = state.script.lock() {
        *current = script;
    }
    router_with_state(state)
}

fn router_with_state(state: Shared) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/v1/completions", post(chat::completions))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route(
            "/mcp",
            post(mcp::mcp).get(mcp::no_stream).delete(mcp::no_stream),
        )
        .route(
            "/mcp/{server}",
            post(mcp::named_mcp)
                .get(mcp::no_stream)
                .delete(mcp::no_stream),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(state)
}

/// A running stub on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct OpenAiStub {
    server: ThreadServer,
    state: Shared,
}

impl OpenAiStub {
    /// Starts the stub on a free port of 127.0.0.1.
    pub fn start() -> Result<Self> {
        let state = Shared::default();
        let app = router_with_state(state.clone());
        let server = ThreadServer::start("openai-stub", |_| app)?.detached();
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>` (the OpenAI base URL is this plus `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Bodies of the chat completion requests seen so far.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.read_log(|log| log.chat_requests.clone())
    }

    /// The chat completions seen so far: tools offered, tool results
    /// received, answers given.
    pub fn chats(&self) -> Vec<ChatRecord> {
        self.read_log(|log| log.chats.clone())
    }

    /// Every tool result the model received so far, oldest first (each
    /// once).
    pub fn tool_results(&self) -> Vec<ToolResult> {
        self.read_log(|log| {
            log.chats
                .iter()
                .flat_map(|chat| chat.tool_results.iter().cloned())
                .collect()
        })
    }

    /// Number of texts embedded so far.
    pub fn embedded_inputs(&self) -> usize {
        self.read_log(|log| log.embedded_inputs)
    }

    /// Makes the model follow `script` from the next completion on (for
    /// every caller of this stub: tests sharing one take turns).
    pub fn set_script(&self, script: Script) {
        if let Ok(mut current) = self.state.script.lock() {
            *current = script;
        }
    }

    /// Makes the model pause `delay` before each chunk of a streamed
    /// completion after the first (a word of text, a piece of a tool call's
    /// arguments), from the next completion on; zero (the default) streams
    /// at once. For tests of what arrives first.
    pub fn set_token_delay(&self, delay: Duration) {
        if let Ok(mut current) = self.state.token_delay.lock() {
            *current = delay;
        }
    }

    /// The requests the MCP endpoints received so far, with their headers.
    pub fn mcp_requests(&self) -> Vec<McpRequest> {
        self.read_log(|log| log.mcp_requests.clone())
    }

    /// The script the model follows.
    pub fn script(&self) -> Script {
        self.state
            .script
            .lock()
            .map(|script| script.clone())
            .unwrap_or_default()
    }

    fn read_log<T: Default>(&self, read: impl FnOnce(&StubLog) -> T) -> T {
        self.state
            .log
            .lock()
            .map(|log| read(&log))
            .unwrap_or_default()
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub(crate) fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Server-sent events, one `data:` line per value, ending with
/// `data: [DONE]` as OpenAI's streams do.
pub(crate) fn sse_response(events: Vec<Value>) -> Response {
    paced_sse_response(events, Duration::ZERO)
}

/// [`sse_response`] with a pause of `delay` before each event after the
/// first.
pub(crate) fn paced_sse_response(events: Vec<Value>, delay: Duration) -> Response {
    use futures_util::StreamExt as _;
    let events = events
        .into_iter()
        .map(|event| event.to_string())
        .chain(std::iter::once("[DONE]".to_owned()))
        .enumerate();
    let stream = futures_util::stream::iter(events).then(move |(at, data)| async move {
        if at > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, Infallible>(Event::default().data(data))
    });
    Sse::new(stream).into_response()
}

pub(crate) fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string(),
    )
        .into_response()
}

pub(crate) fn parse(body: &str) -> std::result::Result<Value, Box<Response>> {
    serde_json::from_str(body).map_err(|e| Box::new(bad_request(&format!("invalid JSON: {e}"))))
}

async fn models() -> Response {
    let created = now();
    let data: Vec<Value> = [LLM_MODEL, EMBEDDING_MODEL]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": created, "owned_by": "openai-stub"}))
        .collect();
    json_response(&json!({"object": "list", "data": data}))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use futures_util::StreamExt as _;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// The `data:` payloads of a streamed chat completion, each with the
    /// time it arrived.
    async fn streamed(stub: &OpenAiStub, body: Value) -> Vec<(Duration, String)> {
        let begun = Instant::now();
        let response = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", stub.url()))
            .json(&body)
            .send()
            .await
            .expect("sent");
        let mut stream = response.bytes_stream();
        let mut arrived = Vec::new();
        let mut pending = String::new();
        while let Some(bytes) = stream.next().await {
            pending.push_str(&String::from_utf8_lossy(&bytes.expect("bytes")));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if let Some(data) = event.trim().strip_prefix("data: ") {
                    arrived.push((begun.elapsed(), data.to_owned()));
                }
            }
        }
        arrived
    }

    #[test]
    fn a_token_delay_paces_the_stream_but_not_its_first_chunk() {
        let stub = OpenAiStub::start().expect("stub");
        stub.set_token_delay(Duration::from_millis(150));
        let body = json!({"stream": true, "messages": [
            {"role": "user", "content": "one two three"}]});
        let arrived = runtime().block_on(streamed(&stub, body));
        // role, "You ", "said: ", "one ", "two ", "three", stop, [DONE]
        assert_eq!(arrived.len(), 8, "{arrived:?}");
        assert!(arrived[0].0 < Duration::from_millis(140), "{arrived:?}");
        assert!(
            arrived[7].0 >= Duration::from_millis(7 * 150),
            "{arrived:?}"
        );
        stub.set_token_delay(Duration::ZERO);
        let body = json!({"stream": true, "messages": [{"role": "user", "content": "x"}]});
        let arrived = runtime().block_on(streamed(&stub, body));
        assert!(
            arrived.last().expect("events").0 < Duration::from_millis(500),
            "{arrived:?}"
        );
    }

    #[test]
    fn usage_counts_the_words_of_the_messages_and_of_the_answer() {
        let stub = OpenAiStub::start().expect("stub");
        let body = json!({"stream": true, "stream_options": {"include_usage": true}, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"}]});
        let arrived = runtime().block_on(streamed(&stub, body));
        let usage: Value =
            serde_json::from_str(&arrived[arrived.len() - 2].1).expect("usage chunk");
        // "Be brief." "hello there" / "You said: hello there"
        assert_eq!(
            usage["usage"],
            json!({"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8})
        );
    }

    #[test]
    fn another_model_is_refused_as_vllm_refuses_it() {
        let stub = OpenAiStub::start().expect("stub");
        let (status, body) = runtime().block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{}/v1/chat/completions", stub.url()))
                .json(&json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .expect("sent");
            (
                response.status(),
                response.json::<Value>().await.expect("JSON"),
            )
        });
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["error"]["message"],
            "The model `gpt-x` does not exist."
        );
        assert!(stub.chats().is_empty());
    }

    #[test]
    fn mcp_requests_are_recorded_with_their_headers() {
        let stub = OpenAiStub::start().expect("stub");
        let status = runtime().block_on(async {
            reqwest::Client::new()
                .post(format!("{}/mcp/snow", stub.url()))
                .header("AUTHORITATIVE_USER_ID", "alice@example.com")
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
                .send()
                .await
                .expect("sent")
                .status()
        });
        assert_eq!(status, StatusCode::OK);
        let requests = stub.mcp_requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/mcp/snow");
        assert_eq!(requests[0].method, "tools/list");
        assert_eq!(
            requests[0].header("authoritative_user_id"),
            Some("alice@example.com")
        );
    }
}
