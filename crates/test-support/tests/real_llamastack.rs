//! The LlamaStack wire contract the project relies on, against a real LlamaStack
//! 0.2.18 (one server shared by the tests of this file), with plain
//! reqwest. What these tests pin down is written up in
//! `docs/llamastack.md`.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;

/// The shared server, or `None` when the test is skipped.
async fn stack(test: &str) -> Option<&'static RealLlamaStack> {
    if !RealLlamaStack::available_or_skip(test) {
        return None;
    }
    let begun = Instant::now();
    let stack = tokio::task::spawn_blocking(RealLlamaStack::shared)
        .await
        .expect("start task")
        .expect("real LlamaStack starts");
    eprintln!(
        "[{test}] LlamaStack at {} (started in {:?}, waited {:?})",
        stack.url(),
        stack.startup_time(),
        begun.elapsed()
    );
    Some(stack)
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(stack: &RealLlamaStack) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/v1", stack.url()),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// A streaming turn: the HTTP status, the content type and the parsed
    /// `data:` lines.
    async fn turn(
        &self,
        agent: &str,
        session: &str,
        text: &str,
    ) -> (StatusCode, String, Vec<Value>) {
        let response = self
            .http
            .post(format!(
                "{}/agents/{agent}/session/{session}/turn",
                self.base
            ))
            .json(&json!({"messages": [{"role": "user", "content": text}], "stream": true}))
            .send()
            .await
            .expect("turn sent");
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("turn body");
        let events = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("every data line is JSON"))
            .collect();
        (status, content_type, events)
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn final_text(events: &[Value]) -> Option<String> {
    events
        .iter()
        .find(|e| e["event"]["payload"]["event_type"] == "turn_complete")
        .and_then(|e| e["event"]["payload"]["turn"]["output_message"]["content"].as_str())
        .map(str::to_owned)
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("a data list")
        .iter()
        .filter_map(|item| item[key].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn models_and_providers() {
    let Some(stack) = stack("models_and_providers").await else {
        return;
    };
    let api = Api::new(stack);

    let (status, models) = api.get("/models").await;
    assert_eq!(status, StatusCode::OK);
    let llm = models["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["identifier"] == RealLlamaStack::LLM_MODEL)
        .unwrap_or_else(|| panic!("{} listed: {models}", RealLlamaStack::LLM_MODEL));
    assert_eq!(llm["provider_id"], "vllm");
    assert_eq!(llm["provider_resource_id"], "stub-llm");
    assert_eq!(llm["model_type"], "llm");
    let embedding = models["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["identifier"] == RealLlamaStack::EMBEDDING_MODEL)
        .unwrap_or_else(|| panic!("{} listed: {models}", RealLlamaStack::EMBEDDING_MODEL));
    assert_eq!(embedding["model_type"], "embedding");
    assert_eq!(embedding["metadata"]["embedding_dimension"], 384);

    // registered as `stub-llm`, listed provider-prefixed; both names resolve
    let (status, by_short_name) = api.get("/models/stub-llm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_short_name["identifier"], RealLlamaStack::LLM_MODEL);

    let (status, providers) = api.get("/providers").await;
    assert_eq!(status, StatusCode::OK);
    let pairs: Vec<(String, String)> = providers["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| {
            (
                p["api"].as_str().unwrap_or_default().to_owned(),
                p["provider_type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("inference", "remote::vllm"),
        ("vector_io", "inline::faiss"),
        ("files", "inline::localfs"),
        ("agents", "inline::meta-reference"),
        ("safety", "inline::llama-guard"),
        ("tool_runtime", "inline::rag-runtime"),
        ("tool_runtime", "remote::model-context-protocol"),
    ] {
        assert!(
            pairs.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {pairs:?}"
        );
    }
    let vllm = providers["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["provider_id"] == "vllm")
        .expect("vllm provider");
    assert_eq!(vllm["health"]["status"], "OK", "{vllm}");
}

#[tokio::test]
async fn vector_db_register_insert_query_delete() {
    let Some(stack) = stack("vector_db_register_insert_query_delete").await else {
        return;
    };
    let api = Api::new(stack);
    let db = unique("kb-laptops");
    let register = json!({
        "vector_db_id": db,
        "embedding_model": RealLlamaStack::EMBEDDING_MODEL,
        "embedding_dimension": 384,
        "provider_id": "faiss",
    });
    let (status, registered) = api.post("/vector-dbs", register.clone()).await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert_eq!(registered["identifier"], db.as_str());
    assert_eq!(registered["embedding_dimension"], 384);

    // registering again is a silent no-op, even with another dimension
    let mut changed = register.clone();
    changed["embedding_dimension"] = json!(768);
    let (status, again) = api.post("/vector-dbs", changed).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["embedding_dimension"], 384);

    let (status, list) = api.get("/vector-dbs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&list, "identifier").contains(&db), "{list}");

    let before = stack.stub().embedded_inputs();
    let (status, inserted) = api
        .post(
            "/tool-runtime/rag-tool/insert",
            json!({
                "vector_db_id": db,
                "chunk_size_in_tokens": 1024,
                "documents": [
                    {
                        "document_id": "laptop-policy.txt",
                        "content": "Laptops are refreshed every three years.",
                        "mime_type": "text/plain",
                        "metadata": {"source_file": "laptop-policy.txt", "kb_name": "laptops"},
                    },
                    {
                        "document_id": "vpn.txt",
                        "content": "Reset the VPN token in the self-service portal.",
                        "mime_type": "text/plain",
                        "metadata": {"source_file": "vpn.txt", "kb_name": "laptops"},
                    },
                ],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inserted}");
    assert_eq!(inserted, Value::Null, "insert answers JSON null");
    assert!(
        stack.stub().embedded_inputs() >= before + 2,
        "the stub embedded the chunks"
    );

    let (status, found) = api
        .post(
            "/tool-runtime/rag-tool/query",
            json!({"vector_db_ids": [db], "content": "how often are laptops refreshed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["metadata"]["document_ids"][0], "laptop-policy.txt",
        "{found}"
    );

    let (status, missing) = api
        .post(
            "/tool-runtime/rag-tool/insert",
            json!({"vector_db_id": unique("nope"), "chunk_size_in_tokens": 1024,
                   "documents": [{"document_id": "a", "content": "x", "mime_type": "text/plain", "metadata": {}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing}");
    assert!(missing["detail"].is_string(), "{missing}");

    let (status, _) = api.delete(&format!("/vector-dbs/{db}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = api.delete(&format!("/vector-dbs/{db}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert!(
        gone["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not found"),
        "{gone}"
    );
    let (status, _) = api.get(&format!("/vector-dbs/{db}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn toolgroups_agents_sessions_and_turns() {
    let Some(stack) = stack("toolgroups_agents_sessions_and_turns").await else {
        return;
    };
    let api = Api::new(stack);

    // a knowledge base for the RAG tool
    let db = unique("kb-agent");
    let (status, body) = api
        .post(
            "/vector-dbs",
            json!({"vector_db_id": db, "embedding_model": RealLlamaStack::EMBEDDING_MODEL,
                   "embedding_dimension": 384, "provider_id": "faiss"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // an MCP toolgroup whose uri does not exist: registration does not contact it
    let dead = format!("mcp::{}", unique("x"));
    let (status, registered) = api
        .post(
            "/toolgroups",
            json!({"toolgroup_id": dead, "provider_id": "model-context-protocol",
                   "mcp_endpoint": {"uri": "http://127.0.0.1:9/sse"}, "args": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert_eq!(registered["mcp_endpoint"]["uri"], "http://127.0.0.1:9/sse");
    // registering again with another uri answers with the new uri but keeps the old one
    let (status, _) = api
        .post(
            "/toolgroups",
            json!({"toolgroup_id": dead, "provider_id": "model-context-protocol",
                   "mcp_endpoint": {"uri": "http://127.0.0.1:9/other"}, "args": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, kept) = api.get(&format!("/toolgroups/{dead}")).await;
    assert_eq!(
        kept["mcp_endpoint"]["uri"], "http://127.0.0.1:9/sse",
        "{kept}"
    );

    // an MCP toolgroup served by the stub: its tools can be listed
    let live = format!("mcp::{}", unique("stub"));
    let (status, _) = api
        .post(
            "/toolgroups",
            json!({"toolgroup_id": live, "provider_id": "model-context-protocol",
                   "mcp_endpoint": {"uri": stack.mcp_url()}, "args": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, toolgroups) = api.get("/toolgroups").await;
    assert_eq!(status, StatusCode::OK);
    let listed = ids(&toolgroups, "identifier");
    assert!(
        listed.contains(&dead) && listed.contains(&live),
        "{toolgroups}"
    );
    let (status, tools) = api.get(&format!("/tools?toolgroup_id={live}")).await;
    assert_eq!(status, StatusCode::OK, "{tools}");
    assert_eq!(tools["data"][0]["identifier"], "echo", "{tools}");

    // agents with the toolgroups the project sends: RAG first, then MCP names
    let create = |name: &str, instructions: &str, mcp: &str| {
        json!({"agent_config": {
            "name": name,
            "model": RealLlamaStack::LLM_MODEL,
            "instructions": instructions,
            "toolgroups": [
                {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": [db]}},
                mcp,
            ],
            "client_tools": [],
            "tool_config": {"tool_choice": "auto"},
            "max_infer_iters": 10,
            "input_shields": [],
            "output_shields": [],
            "enable_session_persistence": false,
            "sampling_params": {"strategy": {"type": "greedy"}, "max_tokens": 0},
            "metadata": {"ssa_config_hash": "h1"},
        }})
    };
    let laptop_name = unique("laptop-refresh");
    let (status, created) = api
        .post(
            "/agents",
            create(&laptop_name, "You are the laptop refresh agent.", &live),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let laptop = created["agent_id"].as_str().expect("agent_id").to_owned();

    let (status, agents) = api.get("/agents").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(agents["has_more"], false);
    assert_eq!(agents["url"], "/v1/agents");
    let listed = agents["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|a| a["agent_id"] == laptop.as_str())
        .unwrap_or_else(|| panic!("agent listed: {agents}"))
        .clone();
    let config = &listed["agent_config"];
    assert_eq!(config["name"], laptop_name.as_str());
    assert_eq!(config["instructions"], "You are the laptop refresh agent.");
    assert_eq!(config["model"], RealLlamaStack::LLM_MODEL);
    assert_eq!(
        config["toolgroups"],
        json!([{"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": [db]}}, live])
    );
    assert!(listed["created_at"].is_string());
    assert!(
        config.get("metadata").is_none(),
        "unknown agent_config fields are dropped: {config}"
    );
    let (status, one) = api.get(&format!("/agents/{laptop}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, listed, "GET /agents/{{id}} is the list item");

    // a session and a streaming turn
    let (status, session) = api
        .post(
            &format!("/agents/{laptop}/session"),
            json!({"session_name": "s1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let session = session["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let message = format!("How often are laptops refreshed? ({})", unique("m"));
    let (status, content_type, events) = api.turn(&laptop, &session, &message).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"]["payload"]["event_type"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"step_start"), "{kinds:?}");
    assert!(
        kinds.contains(&"step_progress") && kinds.contains(&"step_complete"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"turn_complete"), "{kinds:?}");
    assert_eq!(
        final_text(&events).as_deref(),
        Some(format!("You said: {message}").as_str())
    );
    // the model saw the agent's instructions and both toolgroups' tools
    let seen = stack
        .stub()
        .chat_requests()
        .into_iter()
        .rev()
        .find(|r| r.to_string().contains(&message))
        .expect("the stub saw the turn");
    assert_eq!(seen["messages"][0]["role"], "system");
    assert!(
        seen["stream"].as_bool().unwrap_or(false),
        "streamed to the model"
    );
    let tool_names: Vec<&str> = seen["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["function"]["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        tool_names.contains(&"knowledge_search") && tool_names.contains(&"echo"),
        "{tool_names:?}"
    );

    // the session keeps the turn
    let (status, stored) = api
        .get(&format!("/agents/{laptop}/session/{session}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored["turns"].as_array().map(Vec::len),
        Some(1),
        "{stored}"
    );

    // non-streaming turns are not implemented
    let (status, refused) = api
        .post(
            &format!("/agents/{laptop}/session/{session}/turn"),
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": false}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{refused}");
    assert_eq!(
        refused,
        json!({"detail": "Not implemented: Non-streaming agent turns not yet implemented"})
    );

    // a turn on an unknown session: the same shape, a 400 inside
    let (status, _, events) = api.turn(&laptop, "no-such-session", "hello").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        events[0]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("400: "),
        "{events:?}"
    );

    // the routing agent of the stub's script, naming the model by its
    // unprefixed name (kept as sent, and it works)
    let mut body = create(&unique("routing-agent"), "You are a routing agent.", &live);
    body["agent_config"]["model"] = json!("stub-llm");
    let (_, routing) = api.post("/agents", body).await;
    let routing = routing["agent_id"].as_str().expect("agent_id").to_owned();
    let (_, routing_agent) = api.get(&format!("/agents/{routing}")).await;
    assert_eq!(routing_agent["agent_config"]["model"], "stub-llm");
    let (_, session) = api
        .post(
            &format!("/agents/{routing}/session"),
            json!({"session_name": "r"}),
        )
        .await;
    let session = session["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let (_, _, events) = api.turn(&routing, &session, "I need a new laptop").await;
    assert_eq!(
        final_text(&events).as_deref(),
        Some("ROUTE_TO: laptop-refresh")
    );

    // an agent naming an unreachable MCP server: created fine, its turns fail
    // inside an HTTP 200 stream
    let (status, broken) = api
        .post(
            "/agents",
            create(&unique("broken"), "You are broken.", &dead),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{broken}");
    let broken = broken["agent_id"].as_str().expect("agent_id").to_owned();
    let (_, session) = api
        .post(
            &format!("/agents/{broken}/session"),
            json!({"session_name": "b"}),
        )
        .await;
    let session = session["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let (status, _, events) = api.turn(&broken, &session, "hello").await;
    assert_eq!(status, StatusCode::OK);
    let error = events
        .iter()
        .find_map(|e| e.get("error"))
        .unwrap_or_else(|| panic!("an error event: {events:?}"));
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("500: "),
        "{error}"
    );
    // delete: 204, then the agent is unknown (400, not 404)
    for agent in [&laptop, &routing, &broken] {
        let (status, _) = api.delete(&format!("/agents/{agent}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, unknown) = api.get(&format!("/agents/{laptop}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");
    assert_eq!(
        unknown["detail"],
        format!("Invalid value: Could not find agent info for {laptop}")
    );
    let (_, agents) = api.get("/agents").await;
    assert!(!ids(&agents, "agent_id").contains(&laptop));

    for toolgroup in [&dead, &live] {
        let (status, _) = api.delete(&format!("/toolgroups/{toolgroup}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = api.get(&format!("/toolgroups/{dead}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.delete(&format!("/vector-dbs/{db}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn openai_vector_stores_and_files() {
    let Some(stack) = stack("openai_vector_stores_and_files").await else {
        return;
    };
    let api = Api::new(stack);
    let name = unique("kb-openai");

    let (status, store) = api
        .post(
            "/openai/v1/vector_stores",
            json!({"name": name, "metadata": {"kb_name": "laptops", "ssa_hash": "h1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{store}");
    let store_id = store["id"].as_str().expect("id").to_owned();
    assert!(store_id.starts_with("vs_"), "{store_id}");
    assert_eq!(store["object"], "vector_store");
    assert_eq!(store["name"], name.as_str());
    // metadata is kept, with two keys added by the server
    assert_eq!(
        store["metadata"],
        json!({"kb_name": "laptops", "ssa_hash": "h1",
               "provider_id": "faiss", "provider_vector_db_id": store_id})
    );

    // the side effect: a vector DB named after the store's id
    let (_, dbs) = api.get("/vector-dbs").await;
    let db = dbs["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|d| d["identifier"] == store_id.as_str())
        .unwrap_or_else(|| panic!("vs_ vector DB: {dbs}"))
        .clone();
    assert_eq!(db["vector_db_name"], name.as_str());
    assert_eq!(db["embedding_model"], RealLlamaStack::EMBEDDING_MODEL);

    let (status, stores) = api.get("/openai/v1/vector_stores?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stores["object"], "list");
    let listed = stores["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|s| s["id"] == store_id.as_str())
        .unwrap_or_else(|| panic!("store listed: {stores}"));
    assert_eq!(listed["metadata"]["ssa_hash"], "h1");

    // a file, multipart
    let form = reqwest::multipart::Form::new()
        .text("purpose", "assistants")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"Laptop refresh happens every three years.".to_vec())
                .file_name("policy.txt")
                .mime_str("text/plain")
                .expect("mime"),
        );
    let response = api
        .http
        .post(format!("{}/openai/v1/files", api.base))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::OK);
    let file: Value = response.json().await.expect("file JSON");
    let file_id = file["id"].as_str().expect("id").to_owned();
    assert!(file_id.starts_with("file-"), "{file}");
    assert_eq!(file["object"], "file");
    assert_eq!(file["filename"], "policy.txt");
    assert_eq!(file["purpose"], "assistants");
    assert_eq!(file["bytes"], 41);
    let (_, files) = api.get("/openai/v1/files").await;
    assert!(ids(&files, "id").contains(&file_id), "{files}");

    // attached with attributes: kept, returned on attach, list and get
    let attributes =
        json!({"source_file": "policy.txt", "kb_name": "laptops", "version": 2, "current": true});
    let (status, attached) = api
        .post(
            &format!("/openai/v1/vector_stores/{store_id}/files"),
            json!({"file_id": file_id, "attributes": attributes}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    assert_eq!(attached["object"], "vector_store.file");
    assert_eq!(attached["status"], "completed", "{attached}");
    assert_eq!(attached["attributes"], attributes);
    let (_, in_store) = api
        .get(&format!("/openai/v1/vector_stores/{store_id}/files"))
        .await;
    assert_eq!(in_store["data"][0]["id"], file_id.as_str(), "{in_store}");
    assert_eq!(in_store["data"][0]["attributes"], attributes);
    let (_, store_now) = api
        .get(&format!("/openai/v1/vector_stores/{store_id}"))
        .await;
    assert_eq!(store_now["file_counts"]["completed"], 1, "{store_now}");

    // the store is searchable, by the RAG tool too (it is a vector DB)
    let (status, found) = api
        .post(
            &format!("/openai/v1/vector_stores/{store_id}/search"),
            json!({"query": "laptop refresh"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["data"][0]["attributes"]["source_file"], "policy.txt",
        "{found}"
    );
    let (status, queried) = api
        .post(
            "/tool-runtime/rag-tool/query",
            json!({"vector_db_ids": [store_id], "content": "laptop refresh"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{queried}");
    assert_eq!(queried["metadata"]["document_ids"][0], file_id.as_str());

    // attaching a file that does not exist: 200 with status "failed"
    let (status, failed) = api
        .post(
            &format!("/openai/v1/vector_stores/{store_id}/files"),
            json!({"file_id": "file-does-not-exist"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed");
    assert!(failed["last_error"]["message"].is_string(), "{failed}");

    // detach, delete the store (its vs_ vector DB goes too), delete the file
    let (status, detached) = api
        .delete(&format!(
            "/openai/v1/vector_stores/{store_id}/files/{file_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{detached}");
    assert_eq!(
        detached,
        json!({"id": file_id, "object": "vector_store.file.deleted", "deleted": true})
    );
    let (status, deleted) = api
        .delete(&format!("/openai/v1/vector_stores/{store_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(
        deleted,
        json!({"id": store_id, "object": "vector_store.deleted", "deleted": true})
    );
    let (status, gone) = api
        .get(&format!("/openai/v1/vector_stores/{store_id}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{gone}");
    let (_, dbs) = api.get("/vector-dbs").await;
    assert!(!ids(&dbs, "identifier").contains(&store_id), "{dbs}");
    let (status, deleted) = api.delete(&format!("/openai/v1/files/{file_id}")).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(
        deleted,
        json!({"id": file_id, "object": "file", "deleted": true})
    );
    let (status, again) = api.delete(&format!("/openai/v1/files/{file_id}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
}

#[tokio::test]
async fn a_server_of_its_own_is_gone_when_dropped() {
    if !RealLlamaStack::available_or_skip("a_server_of_its_own_is_gone_when_dropped") {
        return;
    }
    let (port, state_dir) = tokio::task::spawn_blocking(|| {
        let stack = RealLlamaStack::start().expect("real LlamaStack starts");
        eprintln!("own LlamaStack started in {:?}", stack.startup_time());
        let port = stack
            .url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("port in the URL");
        let state_dir = stack.state_dir().to_path_buf();
        assert!(state_dir.join("run.yaml").is_file());
        assert!(stack.server_log().contains("Uvicorn running"));
        (port, state_dir)
    })
    .await
    .expect("start task");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port} any more"
    );
    assert!(!state_dir.exists(), "{} removed", state_dir.display());
}
