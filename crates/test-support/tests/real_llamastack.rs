//! The Responses API as the three real servers serve it (LlamaStack
//! 0.2.18, 0.7.3 and OGX 1.5.0, `docs/llamastack.md`), each behind the
//! OpenAI stub, with plain reqwest: every behaviour below is a test per
//! version (`v0_2_18::…`, `v0_7_3::…`, `ogx_1_5::…`). The servers are
//! shared by the tests of this binary and started side by side on first
//! use; their stubs play [`Script::CallTools`] (every tool offered is
//! called), whose steps follow from each request, so tests do not disturb
//! each other.

use std::io::{Read as _, Write as _};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;
use test_support::openai_stub::Script;
use test_support::openai_stub::script::TRANSFER_TO_LAPTOP_REFRESH;

/// One test per version for each behaviour: `<module>::<behaviour>`.
macro_rules! per_version {
    ($($behaviour:ident),* $(,)?) => {
        per_version!(@module v0_2_18, V0_2_18, $($behaviour),*);
        per_version!(@module v0_7_3, V0_7_3, $($behaviour),*);
        per_version!(@module ogx_1_5, Ogx1_5, $($behaviour),*);
    };
    (@module $module:ident, $version:ident, $($behaviour:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let test = concat!(stringify!($module), "::", stringify!($behaviour));
                    if let Some(server) = super::server(super::ServerVersion::$version, test).await {
                        super::$behaviour(server).await;
                    }
                }
            )*
        }
    };
}

per_version!(
    health_and_version_answer,
    the_stub_models_are_listed_provider_prefixed,
    an_unknown_model_is_refused,
    a_streamed_response_calls_an_mcp_tool_with_the_request_headers,
    a_function_call_is_answered_through_previous_response_id,
    previous_response_id_carries_the_earlier_turns,
    file_search_retrieves_a_document_of_a_vector_store,
    an_unreachable_mcp_server_fails_the_response,
    an_unknown_previous_response_id_is_refused,
    usage_is_the_models_count,
);

// ---------------------------------------------------------------------------
// Shared setup

/// A shared server of `version` and a client of its API, or `None` after a
/// visible skip. The first call starts every provisioned version side by
/// side.
async fn server(version: ServerVersion, test: &str) -> Option<Api> {
    if !RealLlamaStack::available_or_skip(version, test) {
        return None;
    }
    static STARTED: OnceLock<()> = OnceLock::new();
    tokio::task::spawn_blocking(|| {
        STARTED.get_or_init(|| {
            let versions: Vec<ServerVersion> = ServerVersion::ALL
                .into_iter()
                .filter(|v| RealLlamaStack::available(*v))
                .collect();
            let begun = Instant::now();
            for stack in RealLlamaStack::shared_all(&versions).into_iter().flatten() {
                stack.stub().set_script(Script::CallTools);
                say(&format!(
                    "{} ready in {:.1} s",
                    stack.version(),
                    stack.startup_time().as_secs_f64()
                ));
            }
            say(&format!(
                "{} servers started side by side in {:.1} s",
                versions.len(),
                begun.elapsed().as_secs_f64()
            ));
        });
    })
    .await
    .expect("start task");
    let stack = RealLlamaStack::shared(version).expect("the server starts");
    Some(Api::new(stack))
}

/// A line on stderr, outside the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "real_llamastack: {line}");
}

struct Api {
    stack: &'static RealLlamaStack,
    http: reqwest::Client,
}

/// A streamed answer: its status, content type, and the `data:` payloads.
struct Streamed {
    status: StatusCode,
    content_type: String,
    events: Vec<Value>,
    /// Lines that are neither `data: {json}` nor blank (`event:`, `[DONE]`).
    other_lines: Vec<String>,
}

impl Api {
    fn new(stack: &'static RealLlamaStack) -> Self {
        Self {
            stack,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    fn version(&self) -> ServerVersion {
        self.stack.version()
    }

    /// `path` below the server's root (`/v1/...`).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.stack.url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST <api base><path>` (the Responses, Files and Vector Stores APIs).
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let path = format!("{}{path}", self.stack.api_base());
        self.call(reqwest::Method::POST, &path, Some(body)).await
    }

    /// A non-streamed response that must succeed.
    async fn respond(&self, body: Value) -> Value {
        let (status, response) = self.post("/responses", body).await;
        assert_eq!(status, StatusCode::OK, "{}: {response}", self.version());
        assert_eq!(response["status"], "completed", "{response}");
        response
    }

    async fn stream(&self, mut body: Value) -> Streamed {
        body["stream"] = json!(true);
        let response = self
            .http
            .post(format!("{}/responses", self.stack.api_url()))
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let content_type = header(&response, reqwest::header::CONTENT_TYPE);
        let text = response.text().await.expect("stream read");
        let mut events = Vec::new();
        let mut other_lines = Vec::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            match line
                .strip_prefix("data: ")
                .map(serde_json::from_str::<Value>)
            {
                Some(Ok(event)) => events.push(event),
                _ => other_lines.push(line.to_owned()),
            }
        }
        Streamed {
            status,
            content_type,
            events,
            other_lines,
        }
    }

    /// Uploads `text` as `name` and attaches it to a new vector store; the
    /// store's id once the file is indexed.
    async fn vector_store_with(&self, name: &str, text: &str) -> String {
        let (status, store) = self
            .post("/vector_stores", json!({"name": unique("kb")}))
            .await;
        assert_eq!(status, StatusCode::OK, "{store}");
        let store = store["id"].as_str().expect("store id").to_owned();
        let form = reqwest::multipart::Form::new()
            .text("purpose", "assistants")
            .part(
                "file",
                reqwest::multipart::Part::bytes(text.as_bytes().to_vec())
                    .file_name(name.to_owned())
                    .mime_str("text/plain")
                    .expect("mime"),
            );
        let file: Value = self
            .http
            .post(format!("{}/files", self.stack.api_url()))
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("file JSON");
        let file = file["id"].as_str().expect("file id").to_owned();
        let (status, attached) = self
            .post(
                &format!("/vector_stores/{store}/files"),
                json!({"file_id": file}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{attached}");
        assert_eq!(attached["status"], "completed", "{attached}");
        store
    }
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The text of a response's messages (no version sends `output_text`).
fn output_text(response: &Value) -> String {
    items(response, "message")
        .iter()
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_owned))
        .collect()
}

/// The output items of `kind`.
fn items(response: &Value, kind: &str) -> Vec<Value> {
    response["output"]
        .as_array()
        .map(|output| {
            output
                .iter()
                .filter(|item| item["type"] == kind)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The last chat completion request the stub got whose messages mention
/// `marker`.
fn seen_by_the_model(api: &Api, marker: &str) -> Value {
    api.stack
        .stub()
        .chat_requests()
        .into_iter()
        .rev()
        .find(|request| request["messages"].to_string().contains(marker))
        .unwrap_or_else(|| panic!("the model saw no request mentioning {marker}"))
}

// ---------------------------------------------------------------------------
// Behaviours

async fn health_and_version_answer(api: Api) {
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, json!({"status": "OK"}));
    let (status, version) = api.get("/v1/version").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["version"], api.version().number());
}

async fn the_stub_models_are_listed_provider_prefixed(api: Api) {
    let (status, models) = api.get("/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{models}");
    // 0.2.18 lists LlamaStack's shape, the later ones OpenAI's
    let (id, metadata) = match api.version() {
        ServerVersion::V0_2_18 => ("identifier", "metadata"),
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => ("id", "custom_metadata"),
    };
    let listed = |wanted: &str| -> Value {
        models["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|model| model[id] == wanted)
            .unwrap_or_else(|| panic!("{wanted} listed: {models}"))
            .clone()
    };
    let llm = listed(RealLlamaStack::LLM_MODEL);
    let embedding = listed(RealLlamaStack::EMBEDDING_MODEL);
    assert_eq!(
        embedding[metadata]["embedding_dimension"], 384,
        "{embedding}"
    );
    let model_type = |model: &Value| match api.version() {
        ServerVersion::V0_2_18 => model["model_type"].clone(),
        _ => model["custom_metadata"]["model_type"].clone(),
    };
    assert_eq!(model_type(&llm), "llm");
    assert_eq!(model_type(&embedding), "embedding");
}

async fn an_unknown_model_is_refused(api: Api) {
    let answer = |model: &'static str| {
        let api = &api;
        async move {
            api.post("/responses", json!({"model": model, "input": "hello"}))
                .await
        }
    };
    // a model id no provider serves: 404 everywhere
    let (status, body) = answer("no-such-model").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body["detail"],
        "Model 'no-such-model' not found. Use 'client.models.list()' to list available Models."
    );
    // a provider prefix with a model that provider does not serve: 0.7.3
    // and OGX ask the provider, and pass its refusal on
    let (status, body) = answer("vllm/no-such-model").await;
    let expected = match api.version() {
        ServerVersion::V0_2_18 => (
            StatusCode::NOT_FOUND,
            "Model 'vllm/no-such-model' not found. Use 'client.models.list()' to list available Models.",
        ),
        ServerVersion::V0_7_3 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The model `no-such-model` does not exist.",
        ),
        ServerVersion::Ogx1_5 => (
            StatusCode::BAD_REQUEST,
            "Invalid value for 'model': vllm/no-such-model. The model `no-such-model` does not exist.",
        ),
    };
    assert_eq!(
        (status, body["detail"].as_str().unwrap_or_default()),
        expected,
        "{body}"
    );
    // the registered model without its provider prefix: only 0.2.18 takes it
    let (status, body) = answer("stub-llm").await;
    match api.version() {
        ServerVersion::V0_2_18 => assert_eq!(output_text(&body), "You said: hello", "{body}"),
        _ => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
    }
}

async fn a_streamed_response_calls_an_mcp_tool_with_the_request_headers(api: Api) {
    let server = unique("srv");
    let streamed = api
        .stream(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": "echo this",
            "tools": [{
                "type": "mcp",
                "server_label": "stub",
                "server_url": api.stack.named_mcp_url(&server),
                "headers": {"AUTHORITATIVE_USER_ID": "alice.johnson@example.com"},
            }],
        }))
        .await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert!(
        streamed.content_type.starts_with("text/event-stream"),
        "{}",
        streamed.content_type
    );
    assert!(
        streamed.other_lines.is_empty(),
        "{:?}",
        streamed.other_lines
    );
    let kinds: Vec<&str> = streamed
        .events
        .iter()
        .map(|event| event["type"].as_str().expect("every event has a type"))
        .collect();
    // 0.2.18 numbers every event but the first and the last
    let unnumbered: Vec<&str> = streamed
        .events
        .iter()
        .filter(|event| !event["sequence_number"].is_u64())
        .filter_map(|event| event["type"].as_str())
        .collect();
    match api.version() {
        ServerVersion::V0_2_18 => assert_eq!(
            unnumbered,
            ["response.created", "response.completed"],
            "{kinds:?}"
        ),
        _ => assert!(unnumbered.is_empty(), "{unnumbered:?}"),
    }
    assert_eq!(kinds.first(), Some(&"response.created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{kinds:?}");
    for expected in [
        "response.mcp_list_tools.completed",
        "response.mcp_call.completed",
        "response.output_text.delta",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let response = &streamed.events.last().expect("events")["response"];
    let call = &items(response, "mcp_call")[0];
    assert_eq!(call["name"], format!("{server}_echo"));
    assert_eq!(call["output"], "echo this");
    assert_eq!(output_text(response), format!("{server}_echo: echo this"));
    // every request to the MCP server carried the header
    let path = format!("/mcp/{server}");
    let requests: Vec<_> = api
        .stack
        .stub()
        .mcp_requests()
        .into_iter()
        .filter(|request| request.path == path)
        .collect();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert!(
        methods.contains(&"tools/list") && methods.contains(&"tools/call"),
        "{methods:?}"
    );
    for request in &requests {
        assert_eq!(
            request.header("AUTHORITATIVE_USER_ID"),
            Some("alice.johnson@example.com"),
            "{request:?}"
        );
    }
}

async fn a_function_call_is_answered_through_previous_response_id(api: Api) {
    let tools = json!([{
        "type": "function",
        "name": TRANSFER_TO_LAPTOP_REFRESH,
        "description": "Hand the conversation over to the laptop refresh agent.",
        "parameters": {"type": "object", "properties": {}},
    }]);
    let instructions = "You are a routing agent.";
    let first = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "instructions": instructions,
            "input": "I need a new laptop",
            "tools": tools,
        }))
        .await;
    let call = &items(&first, "function_call")[0];
    assert_eq!(call["name"], TRANSFER_TO_LAPTOP_REFRESH, "{first}");
    assert_eq!(call["arguments"], "{}", "{first}");
    let second = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "instructions": instructions,
            "previous_response_id": first["id"],
            "input": [{
                "type": "function_call_output",
                "call_id": call["call_id"],
                "output": "{\"transferred\": true}",
            }],
            "tools": tools,
        }))
        .await;
    assert_eq!(output_text(&second), "Transferring you to laptop-refresh.");
}

async fn previous_response_id_carries_the_earlier_turns(api: Api) {
    let marker = unique("first");
    let first = api
        .respond(json!({"model": RealLlamaStack::LLM_MODEL, "input": format!("{marker} words")}))
        .await;
    let second = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": "second words",
            "previous_response_id": first["id"],
        }))
        .await;
    assert_eq!(output_text(&second), "You said: second words");
    let seen = seen_by_the_model(&api, "second words");
    let turns: Vec<(String, String)> = seen["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                text_of(&m["content"]),
            )
        })
        .collect();
    let turn = |role: &str, text: String| (role.to_owned(), text);
    assert_eq!(
        turns,
        [
            turn("user", format!("{marker} words")),
            turn("assistant", format!("You said: {marker} words")),
            turn("user", "second words".to_owned()),
        ]
    );
    // only OGX says which response it followed
    let echoed = match api.version() {
        ServerVersion::Ogx1_5 => first["id"].clone(),
        _ => Value::Null,
    };
    assert_eq!(second["previous_response_id"], echoed);
}

/// A message's text: a string, or the parts' texts (0.2.18 sends parts).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect(),
        _ => String::new(),
    }
}

async fn file_search_retrieves_a_document_of_a_vector_store(api: Api) {
    let store = api
        .vector_store_with(
            "refresh-rules.txt",
            "Laptops are refreshed every three years.",
        )
        .await;
    let marker = unique("when");
    let response = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": format!("how often are laptops refreshed {marker}"),
            "tools": [{"type": "file_search", "vector_store_ids": [store]}],
        }))
        .await;
    let call = &items(&response, "file_search_call")[0];
    assert_eq!(
        call["results"][0]["text"], "Laptops are refreshed every three years.",
        "{response}"
    );
    let seen = seen_by_the_model(&api, &marker);
    let tool = api.version().file_search_tool();
    assert_eq!(seen["tools"][0]["function"]["name"], tool, "{seen}");
    assert!(
        output_text(&response).starts_with(&format!("{tool}: ")),
        "{response}"
    );
    assert!(
        output_text(&response).contains("Laptops are refreshed every three years."),
        "{response}"
    );
}

async fn an_unreachable_mcp_server_fails_the_response(api: Api) {
    let closed = test_support::postgres::free_port().expect("a free port");
    let body = json!({
        "model": RealLlamaStack::LLM_MODEL,
        "input": "hello",
        "tools": [{"type": "mcp", "server_label": "gone",
                   "server_url": format!("http://127.0.0.1:{closed}/mcp")}],
    })
    .to_string();
    // raw HTTP/1.1 on one kept-alive connection: what happens to it after
    let addr = api.stack.url().trim_start_matches("http://").to_owned();
    let path = format!("{}/responses", api.stack.api_base());
    let (first, second) = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(&addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).expect("first request");
        let first = read_response(&mut socket);
        let again = format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let second = socket
            .write_all(again.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|()| read_response(&mut socket));
        (first, second)
    })
    .await
    .expect("raw task");
    let (status, body) = first.expect("an answer");
    match api.version() {
        ServerVersion::V0_2_18 => {
            assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
            assert_eq!(
                body,
                r#"{"detail":"Internal server error: An unexpected error occurred."}"#
            );
            // the connection stays usable
            assert_eq!(
                second.map(|(status, _)| status).as_deref(),
                Ok("HTTP/1.1 200 OK")
            );
        }
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => {
            assert_eq!(status, "HTTP/1.1 502 Bad Gateway");
            let body: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(
                body["error"]["message"],
                format!(
                    "Failed to connect to MCP server at http://127.0.0.1:{closed}/mcp: Connection refused"
                )
            );
            // the server drops the kept-alive connection: the next request fails
            assert!(second.is_err(), "{second:?}");
        }
    }
}

/// One HTTP/1.1 response with a `Content-Length` body: its status line and
/// body, or what went wrong (the connection closed or reset).
fn read_response(socket: &mut std::net::TcpStream) -> Result<(String, String), String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                let status = head.lines().next().unwrap_or_default().to_owned();
                return Ok((status, text[end + 4..end + 4 + length].to_owned()));
            }
        }
        match socket.read(&mut buffer) {
            Ok(0) => return Err("connection closed".to_owned()),
            Ok(n) if received.len() + n <= 1 << 20 => received.extend_from_slice(&buffer[..n]),
            Ok(_) => return Err("answer over 1 MiB".to_owned()),
            Err(error) => return Err(error.kind().to_string()),
        }
    }
}

async fn an_unknown_previous_response_id_is_refused(api: Api) {
    let answer = api
        .post(
            "/responses",
            json!({"model": RealLlamaStack::LLM_MODEL, "input": "hello",
                   "previous_response_id": "resp_00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    let (status, body) = answer;
    let id = "resp_00000000-0000-0000-0000-000000000000";
    let expected = match api.version() {
        ServerVersion::V0_2_18 => (
            StatusCode::BAD_REQUEST,
            format!("Invalid value: Response with id {id} not found"),
        ),
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => (
            StatusCode::NOT_FOUND,
            format!(
                "Response '{id}' not found. Use 'client.responses.list()' to list available Responses."
            ),
        ),
    };
    assert_eq!(
        (
            status,
            body["detail"].as_str().unwrap_or_default().to_owned()
        ),
        expected,
        "{body}"
    );
}

async fn usage_is_the_models_count(api: Api) {
    let response = api
        .respond(json!({"model": RealLlamaStack::LLM_MODEL, "input": "count these three"}))
        .await;
    // the stub counts words: 3 in, "You said: count these three" out
    match api.version() {
        ServerVersion::V0_2_18 => assert!(response.get("usage").is_none(), "{response}"),
        _ => {
            let usage = &response["usage"];
            assert_eq!(
                (
                    &usage["input_tokens"],
                    &usage["output_tokens"],
                    &usage["total_tokens"]
                ),
                (&json!(3), &json!(5), &json!(8)),
                "{usage}"
            );
        }
    }
}

#[test]
fn a_server_of_its_own_is_gone_when_dropped() {
    let version = ServerVersion::Ogx1_5;
    if !RealLlamaStack::available_or_skip(version, "a_server_of_its_own_is_gone_when_dropped") {
        return;
    }
    let stack = RealLlamaStack::start(version).expect("the server starts");
    let port: u16 = stack
        .url()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("port in the URL");
    let state_dir = stack.state_dir().to_path_buf();
    assert!(state_dir.join("run.yaml").is_file());
    assert!(
        stack.server_log().contains("Uvicorn running"),
        "{}",
        stack.server_log()
    );
    drop(stack);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port} any more"
    );
    assert!(!state_dir.exists(), "{} removed", state_dir.display());
}
