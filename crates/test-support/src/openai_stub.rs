//! A small OpenAI-compatible inference server for tests: the model server
//! behind a real LlamaStack (`remote::vllm`), deterministic and scriptable.
//!
//! - `GET /v1/models`: [`LLM_MODEL`] and [`EMBEDDING_MODEL`].
//! - `POST /v1/chat/completions`, with or without `stream` (SSE chunks,
//!   ending with `data: [DONE]`). The answer is [`reply`]: `ROUTE_TO:
//!   laptop-refresh` when a system message names a "routing agent" and the
//!   last user message mentions "laptop", else `You said: <last user
//!   message>`. Tools, when sent, are ignored: the answer is always text.
//! - `POST /v1/completions`, with or without `stream`: `You said: <prompt>`.
//! - `POST /v1/embeddings`: deterministic bag-of-words hash vectors of
//!   [`EMBEDDING_DIMENSION`] (or `dimensions`), unit length, so texts that
//!   share words are close; `encoding_format: "base64"` gives little-endian
//!   f32 bytes in base64 (what the `openai` Python client asks for).
//! - `POST /mcp`: a minimal MCP server (streamable HTTP, JSON answers) with
//!   one tool, `echo`, so agents can list the tools of a toolgroup
//!   registered with `mcp_endpoint.uri = <url>/mcp`; `POST /mcp/<server>`
//!   is another such server whose tool is `<server>_echo` (an agent may use
//!   several MCP servers, and tool names must not collide).
//!
//! Every completion gets a unique id. [`OpenAiStub::start`] serves on
//! 127.0.0.1 from a thread of its own (its own tokio runtime), so it keeps
//! answering whatever the caller's runtime does; the `openai-stub` binary
//! serves the same router.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

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
    /// Number of inputs embedded so far.
    pub embedded_inputs: usize,
}

type Shared = Arc<Mutex<StubLog>>;

/// The stub's routes, on a fresh log.
pub fn router() -> Router {
    router_with_log(Shared::default())
}

fn router_with_log(log: Shared) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/mcp", post(mcp).get(mcp_no_stream).delete(mcp_no_stream))
        .route(
            "/mcp/{server}",
            post(named_mcp).get(mcp_no_stream).delete(mcp_no_stream),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(log)
}

/// A running stub on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct OpenAiStub {
    addr: SocketAddr,
    log: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OpenAiStub {
    /// Starts the stub on a free port of 127.0.0.1.
    pub fn start() -> Result<Self> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the OpenAI stub")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let log = Shared::default();
        let app = router_with_log(log.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the OpenAI stub runtime")?;
        let thread = std::thread::Builder::new()
            .name("openai-stub".into())
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
            })
            .context("starting the OpenAI stub thread")?;
        Ok(Self {
            addr,
            log,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>` (the OpenAI base URL is this plus `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bodies of the chat completion requests seen so far.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.log
            .lock()
            .map(|log| log.chat_requests.clone())
            .unwrap_or_default()
    }

    /// Number of texts embedded so far.
    pub fn embedded_inputs(&self) -> usize {
        self.log.lock().map(|log| log.embedded_inputs).unwrap_or(0)
    }
}

impl Drop for OpenAiStub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Graceful shutdown waits for open connections (LlamaStack keeps
        // some alive), so the thread is not joined: the runtime goes with it.
        drop(self.thread.take());
    }
}

/// The stub's answer to a chat: see the module documentation.
pub fn reply(messages: &[Value]) -> String {
    let system: String = messages
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| content_text(&m["content"]))
        .collect::<Vec<_>>()
        .join("\n");
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    if system.to_lowercase().contains("routing agent")
        && last_user.to_lowercase().contains("laptop")
    {
        "ROUTE_TO: laptop-refresh".to_owned()
    } else {
        format!("You said: {}", last_user.trim())
    }
}

/// Text of an OpenAI message content: a string or a list of parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn model_of(body: &Value) -> String {
    body["model"].as_str().unwrap_or(LLM_MODEL).to_owned()
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn sse_response(events: Vec<Value>) -> Response {
    let mut body = String::new();
    for event in events {
        body.push_str("data: ");
        body.push_str(&event.to_string());
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from(body),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string(),
    )
        .into_response()
}

fn parse(body: &str) -> std::result::Result<Value, Box<Response>> {
    serde_json::from_str(body).map_err(|e| Box::new(bad_request(&format!("invalid JSON: {e}"))))
}

/// Splits a text into pieces (words with their trailing space) for streaming.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn usage(prompt: &str, completion: &str) -> Value {
    let prompt_tokens = prompt.split_whitespace().count();
    let completion_tokens = completion.split_whitespace().count();
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

async fn models() -> Response {
    let created = now();
    let data: Vec<Value> = [LLM_MODEL, EMBEDDING_MODEL]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": created, "owned_by": "openai-stub"}))
        .collect();
    json_response(&json!({"object": "list", "data": data}))
}

async fn chat_completions(State(log): State<Shared>, body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let Some(messages) = body["messages"].as_array() else {
        return bad_request("messages must be a list");
    };
    let text = reply(messages);
    let prompt: String = messages
        .iter()
        .map(|m| content_text(&m["content"]))
        .collect();
    if let Ok(mut log) = log.lock() {
        log.chat_requests.push(body.clone());
    }
    let id = unique_id("chatcmpl");
    let model = model_of(&body);
    let created = now();
    if body["stream"].as_bool() != Some(true) {
        return json_response(&json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": null,
            }],
            "usage": usage(&prompt, &text),
        }));
    }
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(&text) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if body["stream_options"]["include_usage"].as_bool() == Some(true) {
        events.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage(&prompt, &text),
        }));
    }
    sse_response(events)
}

async fn completions(body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let prompt = match &body["prompt"] {
        Value::String(prompt) => prompt.clone(),
        Value::Array(prompts) => prompts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let text = format!("You said: {}", prompt.trim());
    let id = unique_id("cmpl");
    let model = model_of(&body);
    let created = now();
    let choice = |text: &str, finish: Value| {
        json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": null}],
        })
    };
    if body["stream"].as_bool() != Some(true) {
        let mut answer = choice(&text, json!("stop"));
        answer["usage"] = usage(&prompt, &text);
        return json_response(&answer);
    }
    let mut events: Vec<Value> = pieces(&text)
        .iter()
        .map(|piece| choice(piece, Value::Null))
        .collect();
    events.push(choice("", json!("stop")));
    sse_response(events)
}

/// Deterministic unit vector: every lower-cased alphanumeric word adds ±1
/// to a bucket chosen by its FNV-1a hash.
pub fn embed(text: &str, dimension: usize) -> Vec<f32> {
    let dimension = dimension.max(1);
    let mut vector = vec![0f32; dimension];
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    let mut any = false;
    for word in words {
        any = true;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in word.to_lowercase().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let bucket = usize::try_from(hash % dimension as u64).unwrap_or(0);
        vector[bucket] += if hash & (1 << 63) == 0 { 1.0 } else { -1.0 };
    }
    if !any {
        vector[0] = 1.0;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    } else {
        vector[0] = 1.0;
    }
    vector
}

async fn embeddings(State(log): State<Shared>, body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => return bad_request("input must be a string or a list"),
    };
    let dimension = body["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(EMBEDDING_DIMENSION);
    let base64 = body["encoding_format"] == "base64";
    if let Ok(mut log) = log.lock() {
        log.embedded_inputs += inputs.len();
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = embed(text, dimension);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    json_response(&json!({
        "object": "list",
        "data": data,
        "model": body["model"].as_str().unwrap_or(EMBEDDING_MODEL),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
}

async fn mcp(body: String) -> Response {
    mcp_server("echo", &body)
}

async fn named_mcp(Path(server): Path<String>, body: String) -> Response {
    mcp_server(&format!("{server}_echo"), &body)
}

/// One JSON-RPC message (no batches) of the MCP streamable HTTP transport,
/// answered with `application/json`, by a server whose one tool is `tool`.
fn mcp_server(tool: &str, body: &str) -> Response {
    let message = match parse(body) {
        Ok(message) => message,
        Err(response) => return *response,
    };
    let Some(id) = message.get("id").cloned() else {
        // a notification or a response: accepted, nothing to say
        return StatusCode::ACCEPTED.into_response();
    };
    let method = message["method"].as_str().unwrap_or_default();
    let result = match method {
        "initialize" => json!({
            "protocolVersion": message["params"]["protocolVersion"]
                .as_str()
                .unwrap_or("2025-06-18"),
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "openai-stub", "version": "0.1.0"},
        }),
        "ping" => json!({}),
        "tools/list" => json!({
            "tools": [{
                "name": tool,
                "description": "Echoes its text argument.",
                "inputSchema": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "what to echo"}},
                    "required": ["text"],
                },
            }],
        }),
        "tools/call" => {
            let text = message["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or_default();
            json!({"content": [{"type": "text", "text": text}], "isError": false})
        }
        _ => {
            return json_response(&json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": format!("method not found: {method}")},
            }));
        }
    };
    json_response(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// No server-initiated stream and no sessions to end.
async fn mcp_no_stream() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_laptop_requests_only_for_the_routing_agent() {
        let routing = [
            json!({"role": "system", "content": "You are a routing agent."}),
            json!({"role": "user", "content": "My LAPTOP is old"}),
        ];
        assert_eq!(reply(&routing), "ROUTE_TO: laptop-refresh");
        let other = [
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": [{"type": "text", "text": "my laptop"}]}),
        ];
        assert_eq!(reply(&other), "You said: my laptop");
    }

    #[test]
    fn embeddings_are_unit_vectors_and_similar_for_shared_words() {
        let a = embed("laptop refresh policy", 384);
        let b = embed("the laptop refresh", 384);
        let c = embed("password reset", 384);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert!(dot(&a, &b) > dot(&a, &c));
    }
}
