//! The fake's HTTP surface: the LlamaStack 0.2.18 routes of DESIGN §4,
//! answering with the real server's shapes and status codes (a missing
//! agent is a 400 "Invalid value", a missing vector DB or toolgroup a 404,
//! a non-streaming turn a 501).

#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use shared_clients::llamastack::AgentConfig;

use super::state::{FakeFile, FakeSession, FakeVectorStore, RecordedRequest, stored_agent_config};
use super::{Inner, lock, multipart};

type Shared = State<Arc<Inner>>;
type Answer = Result<Response, Response>;

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async { axum::Json(json!({"status": "OK"})) }),
        )
        .route("/v1/models", get(list_models))
        .route("/v1/providers", get(list_providers))
        .route(
            "/v1/vector-dbs",
            get(list_vector_dbs).post(register_vector_db),
        )
        .route(
            "/v1/vector-dbs/{id}",
            get(get_vector_db).delete(unregister_vector_db),
        )
        .route("/v1/tool-runtime/rag-tool/insert", post(rag_insert))
        .route(
            "/v1/toolgroups",
            get(list_toolgroups).post(register_toolgroup),
        )
        .route(
            "/v1/toolgroups/{id}",
            get(get_toolgroup).delete(unregister_toolgroup),
        )
        .route("/v1/agents", get(list_agents).post(create_agent))
        .route("/v1/agents/{id}", get(get_agent).delete(delete_agent))
        .route("/v1/agents/{id}/session", post(create_session))
        .route("/v1/agents/{id}/session/{session}/turn", post(create_turn))
        .route("/v1/openai/v1/files", get(list_files).post(upload_file))
        .route(
            "/v1/openai/v1/files/{id}",
            get(get_file).delete(delete_file),
        )
        .route("/v1/openai/v1/files/{id}/content", get(file_content))
        .route(
            "/v1/openai/v1/vector_stores",
            get(list_stores).post(create_store),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}",
            get(get_store).post(update_store).delete(delete_store),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}/files",
            get(list_store_files).post(attach_file),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}/files/{file}",
            get(get_store_file).delete(detach_file),
        )
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(Arc::clone(&inner), gate))
        .with_state(inner)
}

/// Records the request, applies the added latency and injected 5xx answers.
async fn gate(State(inner): Shared, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    lock(&inner.requests).push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let (latency, injected) = {
        let mut faults = lock(&inner.faults);
        let injected = faults.paths.iter_mut().find(|fault| {
            fault.remaining > 0
                && fault.path == path
                && fault.method.as_ref().is_none_or(|m| *m == method)
        });
        let status = injected.map(|fault| {
            fault.remaining -= 1;
            fault.status
        });
        faults.paths.retain(|fault| fault.remaining > 0);
        (faults.latency, status)
    };
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return detail(
            status,
            "Internal server error: An unexpected error occurred.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": message }))).into_response()
}

fn bad_request(message: String) -> Response {
    detail(
        StatusCode::BAD_REQUEST,
        &format!("Invalid value: {message}"),
    )
}

fn not_found(message: String) -> Response {
    detail(StatusCode::NOT_FOUND, &message)
}

/// FastAPI's answer to a missing or mistyped body field.
fn invalid_field(location: &[&str], message: &str) -> Response {
    let mut loc = vec!["body"];
    loc.extend_from_slice(location);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"detail": {"errors": [{"loc": loc, "msg": message, "type": "missing"}]}}),
        ),
    )
        .into_response()
}

fn json_body(bytes: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_field(&[], "Input should be a valid dictionary")),
    }
}

fn required_str(body: &Map<String, Value>, field: &str) -> Result<String, Response> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid_field(&[field], "Field required"))
}

fn ok(value: Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

fn list(data: Vec<Value>) -> Answer {
    ok(json!({ "data": data }))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A strictly increasing ISO 8601 timestamp, as pydantic writes datetimes.
fn next_timestamp(inner: &Inner) -> String {
    let mut clock = lock(&inner.clock);
    let now = chrono::Utc::now().timestamp_micros();
    *clock = now.max(*clock + 1);
    chrono::DateTime::from_timestamp_micros(*clock)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

// ---- models, providers ----

async fn list_models(State(inner): Shared) -> Answer {
    list(lock(&inner.state).models.clone())
}

async fn list_providers(State(inner): Shared) -> Answer {
    list(lock(&inner.state).providers.clone())
}

// ---- vector DBs, RAG insert ----

async fn list_vector_dbs(State(inner): Shared) -> Answer {
    list(lock(&inner.state).vector_dbs.values().cloned().collect())
}

async fn get_vector_db(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).vector_dbs.get(&id) {
        Some(db) => ok(db.clone()),
        None => Err(not_found(format!("Vector store '{id}' not found"))),
    }
}

fn embedding_dimension(models: &[Value], model: &str) -> Result<u64, Response> {
    let found = models
        .iter()
        .find(|candidate| candidate["identifier"] == model)
        .ok_or_else(|| {
            not_found(format!(
                "Model '{model}' not found. Use client.models.list() to list available models."
            ))
        })?;
    if found["model_type"] != "embedding" {
        return Err(detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error: An unexpected error occurred.",
        ));
    }
    found["metadata"]["embedding_dimension"]
        .as_u64()
        .ok_or_else(|| {
            bad_request(format!(
                "Model {model} does not have an embedding dimension"
            ))
        })
}

fn provider_exists(providers: &[Value], api: &str, id: &str) -> bool {
    providers
        .iter()
        .any(|provider| provider["api"] == api && provider["provider_id"] == id)
}

async fn register_vector_db(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let id = required_str(&body, "vector_db_id")?;
    let model = required_str(&body, "embedding_model")?;
    let mut state = lock(&inner.state);
    let dimension = embedding_dimension(&state.models, &model)?;
    let provider = body
        .get("provider_id")
        .and_then(Value::as_str)
        .unwrap_or("faiss")
        .to_owned();
    if !provider_exists(&state.providers, "vector_io", &provider) {
        return Err(bad_request(format!("Provider `{provider}` not found")));
    }
    let object = json!({
        "identifier": id,
        "provider_resource_id": body.get("provider_vector_db_id").and_then(Value::as_str).unwrap_or(&id),
        "provider_id": provider,
        "type": "vector_db",
        "owner": null,
        "embedding_model": model,
        "embedding_dimension": dimension,
        "vector_db_name": body.get("vector_db_name").cloned().unwrap_or(Value::Null),
    });
    // 0.2.18 keeps the registry entry of an existing id but gives the
    // provider a fresh, empty index: its documents are gone.
    state.documents.insert(id.clone(), Vec::new());
    if let std::collections::btree_map::Entry::Vacant(entry) = state.vector_dbs.entry(id) {
        entry.insert(object.clone());
        lock(&inner.counters).create("vector_db");
    }
    ok(object)
}

async fn unregister_vector_db(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.vector_dbs.remove(&id).is_none() {
        return Err(not_found(format!("Vector store '{id}' not found")));
    }
    state.documents.remove(&id);
    lock(&inner.counters).delete("vector_db");
    ok(Value::Null)
}

async fn rag_insert(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let id = required_str(&body, "vector_db_id")?;
    let Some(Value::Array(documents)) = body.get("documents") else {
        return Err(invalid_field(&["documents"], "Field required"));
    };
    if body
        .get("chunk_size_in_tokens")
        .and_then(Value::as_u64)
        .is_none()
    {
        return Err(invalid_field(&["chunk_size_in_tokens"], "Field required"));
    }
    let mut state = lock(&inner.state);
    if !state.vector_dbs.contains_key(&id) {
        return Err(not_found(format!("Vector store '{id}' not found")));
    }
    for (index, document) in documents.iter().enumerate() {
        if document
            .get("document_id")
            .and_then(Value::as_str)
            .is_none()
            || document.get("content").is_none()
        {
            return Err(invalid_field(
                &["documents", &index.to_string(), "document_id"],
                "Field required",
            ));
        }
    }
    let stored = state.documents.entry(id).or_default();
    let mut counters = lock(&inner.counters);
    for document in documents {
        stored.push(document.clone());
        counters.create("document");
    }
    ok(Value::Null)
}

// ---- toolgroups ----

async fn list_toolgroups(State(inner): Shared) -> Answer {
    list(lock(&inner.state).toolgroups.values().cloned().collect())
}

async fn get_toolgroup(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).toolgroups.get(&id) {
        Some(group) => ok(group.clone()),
        None => Err(not_found(format!("Tool Group '{id}' not found"))),
    }
}

async fn register_toolgroup(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let id = required_str(&body, "toolgroup_id")?;
    let provider = required_str(&body, "provider_id")?;
    let mut state = lock(&inner.state);
    if !provider_exists(&state.providers, "tool_runtime", &provider) {
        return Err(bad_request(format!("Provider `{provider}` not found")));
    }
    // 0.2.18 keeps an existing registration with the same provider unchanged.
    if let std::collections::btree_map::Entry::Vacant(entry) = state.toolgroups.entry(id.clone()) {
        let object = json!({
            "identifier": id,
            "provider_resource_id": id,
            "provider_id": provider,
            "type": "tool_group",
            "owner": null,
            "mcp_endpoint": body.get("mcp_endpoint").cloned().unwrap_or(Value::Null),
            "args": body.get("args").cloned().unwrap_or(Value::Null),
        });
        entry.insert(object);
        lock(&inner.counters).create("toolgroup");
    }
    ok(Value::Null)
}

async fn unregister_toolgroup(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).toolgroups.remove(&id).is_none() {
        return Err(not_found(format!("Tool Group '{id}' not found")));
    }
    lock(&inner.counters).delete("toolgroup");
    ok(Value::Null)
}

// ---- agents, sessions, turns ----

pub(crate) fn insert_agent(inner: &Inner, sent: &Map<String, Value>) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = next_timestamp(inner);
    let mut stored = stored_agent_config(sent);
    stored.insert("created_at".into(), json!(created_at));
    let agent = json!({"agent_id": id, "agent_config": stored, "created_at": created_at});
    lock(&inner.state).agents.insert(id.clone(), agent);
    lock(&inner.counters).create("agent");
    id
}

async fn list_agents(State(inner): Shared) -> Answer {
    let data: Vec<Value> = lock(&inner.state).agents.values().cloned().collect();
    ok(json!({"data": data, "has_more": false, "url": null}))
}

fn agent_missing(id: &str) -> Response {
    bad_request(format!("Could not find agent info for {id}"))
}

async fn get_agent(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).agents.get(&id) {
        Some(agent) => ok(agent.clone()),
        None => Err(agent_missing(&id)),
    }
}

async fn create_agent(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let Some(Value::Object(config)) = body.get("agent_config") else {
        return Err(invalid_field(&["agent_config"], "Field required"));
    };
    for field in ["model", "instructions"] {
        if config.get(field).and_then(Value::as_str).is_none() {
            return Err(invalid_field(&["agent_config", field], "Field required"));
        }
    }
    let id = insert_agent(&inner, config);
    ok(json!({ "agent_id": id }))
}

async fn delete_agent(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.agents.remove(&id).is_none() {
        return Err(agent_missing(&id));
    }
    state.sessions.retain(|_, session| session.agent_id != id);
    lock(&inner.counters).delete("agent");
    ok(Value::Null)
}

async fn create_session(State(inner): Shared, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let name = required_str(&body, "session_name")?;
    let mut state = lock(&inner.state);
    if !state.agents.contains_key(&id) {
        return Err(agent_missing(&id));
    }
    let session_id = uuid::Uuid::new_v4().to_string();
    state.sessions.insert(
        session_id.clone(),
        FakeSession {
            agent_id: id,
            session_name: name,
            turns: Vec::new(),
        },
    );
    lock(&inner.counters).create("session");
    ok(json!({ "session_id": session_id }))
}

async fn create_turn(
    State(inner): Shared,
    Path((agent_id, session_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let body = json_body(&bytes)?;
    let Some(Value::Array(messages)) = body.get("messages") else {
        return Err(invalid_field(&["messages"], "Field required"));
    };
    let user_message = messages
        .iter()
        .rev()
        .find(|message| message["role"] == "user")
        .map(|message| content_text(&message["content"]))
        .unwrap_or_default();
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        return Err(detail(
            StatusCode::NOT_IMPLEMENTED,
            "Not implemented: Non-streaming agent turns not yet implemented",
        ));
    }
    let config = {
        let state = lock(&inner.state);
        let agent = state
            .agents
            .get(&agent_id)
            .ok_or_else(|| agent_missing(&agent_id))?;
        match state.sessions.get(&session_id) {
            Some(session) if session.agent_id == agent_id => {}
            _ => return Err(bad_request(format!("Session {session_id} not found"))),
        }
        agent["agent_config"].clone()
    };
    lock(&inner.counters).turns += 1;
    let (error, truncated) = {
        let mut faults = lock(&inner.faults);
        let error = faults.turn_errors.pop_front();
        let truncated = error.is_none() && faults.truncated_turns > 0;
        if truncated {
            faults.truncated_turns -= 1;
        }
        (error, truncated)
    };
    if let Some(message) = error {
        return Ok(sse(&[json!({"error": {"message": message}})]));
    }
    let reply = {
        let replies = inner.replies.read().unwrap_or_else(PoisonError::into_inner);
        let name = config["name"].as_str().unwrap_or_default();
        replies
            .by_agent_name
            .get(name)
            .unwrap_or(&replies.default)
            .clone()
    };
    let parsed: AgentConfig = serde_json::from_value(config).map_err(|error| {
        detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("stored agent config: {error}"),
        )
    })?;
    let answer = reply(&parsed, &user_message);
    if let Some(session) = lock(&inner.state).sessions.get_mut(&session_id) {
        session.turns.push((user_message.clone(), answer.clone()));
    }
    Ok(sse(&turn_events(
        &inner,
        &session_id,
        &user_message,
        &answer,
        truncated,
    )))
}

fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(content_text).collect(),
        Value::Object(item) => item["text"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// The events meta-reference streams for a turn of one inference step.
fn turn_events(
    inner: &Inner,
    session_id: &str,
    user: &str,
    answer: &str,
    truncated: bool,
) -> Vec<Value> {
    let turn_id = uuid::Uuid::new_v4().to_string();
    let step_id = uuid::Uuid::new_v4().to_string();
    let started = next_timestamp(inner);
    let output = json!({"role": "assistant", "content": answer, "stop_reason": "end_of_turn", "tool_calls": []});
    let step = json!({
        "turn_id": turn_id, "step_id": step_id, "started_at": started, "completed_at": next_timestamp(inner),
        "step_type": "inference", "model_response": output,
    });
    let payload = |payload: Value| json!({"event": {"payload": payload}});
    let mut events = vec![
        payload(json!({"event_type": "turn_start", "turn_id": turn_id})),
        payload(
            json!({"event_type": "step_start", "step_type": "inference", "step_id": step_id, "metadata": {}}),
        ),
        payload(
            json!({"event_type": "step_progress", "step_type": "inference", "step_id": step_id,
                       "delta": {"type": "text", "text": answer}}),
        ),
    ];
    if truncated {
        return events;
    }
    events.push(payload(json!({"event_type": "step_complete", "step_type": "inference", "step_id": step_id, "step_details": step})));
    events.push(payload(json!({"event_type": "turn_complete", "turn": {
        "turn_id": turn_id, "session_id": session_id,
        "input_messages": [{"role": "user", "content": user, "context": null}],
        "steps": [step], "output_message": output, "output_attachments": [],
        "started_at": started, "completed_at": next_timestamp(inner),
    }})));
    events
}

fn sse(events: &[Value]) -> Response {
    let body: String = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect();
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

// ---- OpenAI-compatible files ----

/// OpenAI-style pagination over `items` sorted by `created_at` (`order`, `after`, `limit`).
fn page(mut items: Vec<Value>, query: &HashMap<String, String>, default_limit: usize) -> Answer {
    items.sort_by(|a, b| {
        (a["created_at"].as_i64(), a["id"].as_str())
            .cmp(&(b["created_at"].as_i64(), b["id"].as_str()))
    });
    if query.get("order").map(String::as_str) != Some("asc") {
        items.reverse();
    }
    if let Some(at) = query
        .get("after")
        .and_then(|after| items.iter().position(|item| item["id"] == after.as_str()))
    {
        items.drain(..=at);
    }
    let limit = query
        .get("limit")
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(default_limit)
        .max(1);
    let has_more = items.len() > limit;
    items.truncate(limit);
    ok(json!({
        "object": "list",
        "data": items,
        "first_id": items.first().map(|item| item["id"].clone()),
        "last_id": items.last().map(|item| item["id"].clone()),
        "has_more": has_more,
    }))
}

async fn list_files(State(inner): Shared, Query(query): Query<HashMap<String, String>>) -> Answer {
    let files = lock(&inner.state)
        .files
        .values()
        .map(|file| file.object.clone())
        .collect();
    page(files, &query, 10_000)
}

async fn upload_file(State(inner): Shared, headers: HeaderMap, bytes: Bytes) -> Answer {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(multipart::boundary)
        .ok_or_else(|| invalid_field(&["file"], "Field required"))?;
    let parts = multipart::parse(&bytes, &boundary);
    let purpose = parts
        .iter()
        .find(|part| part.name == "purpose")
        .map(|part| String::from_utf8_lossy(&part.content).into_owned())
        .ok_or_else(|| invalid_field(&["purpose"], "Field required"))?;
    let file = parts
        .into_iter()
        .find(|part| part.name == "file")
        .ok_or_else(|| invalid_field(&["file"], "Field required"))?;
    let id = new_id("file-");
    let object = json!({
        "object": "file", "id": id, "bytes": file.content.len(), "created_at": now_seconds(),
        "expires_at": now_seconds() + 365 * 24 * 3600,
        "filename": file.filename.unwrap_or_else(|| "uploaded_file".to_owned()), "purpose": purpose,
    });
    lock(&inner.state).files.insert(
        id,
        FakeFile {
            object: object.clone(),
            content: file.content,
        },
    );
    lock(&inner.counters).create("file");
    ok(object)
}

fn file_missing(id: &str) -> Response {
    bad_request(format!("File with id {id} not found"))
}

async fn get_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => ok(file.object.clone()),
        None => Err(file_missing(&id)),
    }
}

async fn file_content(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => Ok(file.content.clone().into_response()),
        None => Err(file_missing(&id)),
    }
}

async fn delete_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).files.remove(&id).is_none() {
        return Err(file_missing(&id));
    }
    lock(&inner.counters).delete("file");
    ok(json!({"id": id, "object": "file", "deleted": true}))
}

// ---- OpenAI-compatible vector stores ----

fn store_missing(id: &str) -> Response {
    not_found(format!("Vector store '{id}' not found"))
}

async fn list_stores(State(inner): Shared, Query(query): Query<HashMap<String, String>>) -> Answer {
    let stores = lock(&inner.state)
        .vector_stores
        .values()
        .map(|store| store.object.clone())
        .collect();
    page(stores, &query, 20)
}

async fn get_store(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).vector_stores.get(&id) {
        Some(store) => ok(store.object.clone()),
        None => Err(store_missing(&id)),
    }
}

async fn create_store(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let name = required_str(&body, "name")?;
    let mut state = lock(&inner.state);
    let (model, dimension) = match body.get("embedding_model").and_then(Value::as_str) {
        Some(model) => (model.to_owned(), embedding_dimension(&state.models, model)?),
        None => {
            let first = state
                .models
                .iter()
                .find(|model| model["model_type"] == "embedding")
                .ok_or_else(|| bad_request("No embedding model provided and no embedding models available in the system".into()))?;
            let model = first["identifier"].as_str().unwrap_or_default().to_owned();
            (model.clone(), embedding_dimension(&state.models, &model)?)
        }
    };
    let provider = body
        .get("provider_id")
        .and_then(Value::as_str)
        .unwrap_or("faiss")
        .to_owned();
    let id = format!("vs_{}", uuid::Uuid::new_v4());
    let created = now_seconds();
    let mut metadata = match body.get("metadata") {
        Some(Value::Object(metadata)) => metadata.clone(),
        _ => Map::new(),
    };
    // 0.2.18 adds its own bookkeeping to the metadata.
    metadata.insert("provider_id".into(), json!(provider));
    metadata.insert("provider_vector_db_id".into(), json!(id));
    let object = json!({
        "id": id, "object": "vector_store", "created_at": created, "name": name, "usage_bytes": 0,
        "file_counts": {"completed": 0, "cancelled": 0, "failed": 0, "in_progress": 0, "total": 0},
        "status": "completed", "expires_after": null, "expires_at": null, "last_active_at": created,
        "metadata": metadata,
    });
    state.vector_dbs.insert(
        id.clone(),
        json!({
            "identifier": id, "provider_resource_id": id, "provider_id": provider, "type": "vector_db",
            "owner": null, "embedding_model": model, "embedding_dimension": dimension, "vector_db_name": name,
        }),
    );
    state.vector_stores.insert(
        id,
        FakeVectorStore {
            object: object.clone(),
            files: Default::default(),
        },
    );
    let mut counters = lock(&inner.counters);
    counters.create("vector_store");
    counters.create("vector_db");
    ok(object)
}

async fn update_store(State(inner): Shared, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let mut state = lock(&inner.state);
    let store = state
        .vector_stores
        .get_mut(&id)
        .ok_or_else(|| store_missing(&id))?;
    for field in ["name", "metadata", "expires_after"] {
        if let Some(value) = body.get(field).filter(|value| !value.is_null()) {
            store.object[field] = value.clone();
        }
    }
    ok(store.object.clone())
}

async fn delete_store(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.vector_stores.remove(&id).is_none() {
        return Err(store_missing(&id));
    }
    state.vector_dbs.remove(&id);
    let mut counters = lock(&inner.counters);
    counters.delete("vector_store");
    counters.delete("vector_db");
    ok(json!({"id": id, "object": "vector_store.deleted", "deleted": true}))
}

async fn list_store_files(
    State(inner): Shared,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let files = match lock(&inner.state).vector_stores.get(&id) {
        Some(store) => store.files.values().cloned().collect(),
        None => return Err(store_missing(&id)),
    };
    page(files, &query, 20)
}

async fn get_store_file(State(inner): Shared, Path((id, file)): Path<(String, String)>) -> Answer {
    let state = lock(&inner.state);
    let store = state
        .vector_stores
        .get(&id)
        .ok_or_else(|| store_missing(&id))?;
    match store.files.get(&file) {
        Some(object) => ok(object.clone()),
        None => Err(bad_request(format!(
            "File {file} not found in vector store {id}"
        ))),
    }
}

async fn attach_file(State(inner): Shared, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let file_id = required_str(&body, "file_id")?;
    let mut state = lock(&inner.state);
    let file_exists = state.files.contains_key(&file_id);
    let store = state
        .vector_stores
        .get_mut(&id)
        .ok_or_else(|| store_missing(&id))?;
    let (status, last_error) = if file_exists {
        ("completed", Value::Null)
    } else {
        (
            "failed",
            json!({"code": "server_error", "message": format!("File with id {file_id} not found")}),
        )
    };
    let object = json!({
        "id": file_id, "object": "vector_store.file",
        "attributes": body.get("attributes").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "chunking_strategy": body.get("chunking_strategy").cloned().unwrap_or_else(|| json!({"type": "auto"})),
        "created_at": now_seconds(), "last_error": last_error, "status": status, "usage_bytes": 0,
        "vector_store_id": id,
    });
    store.files.insert(file_id, object.clone());
    let counts = &mut store.object["file_counts"];
    counts["total"] = json!(counts["total"].as_u64().unwrap_or(0) + 1);
    counts[status] = json!(counts[status].as_u64().unwrap_or(0) + 1);
    lock(&inner.counters).create("vector_store_file");
    ok(object)
}

async fn detach_file(State(inner): Shared, Path((id, file)): Path<(String, String)>) -> Answer {
    let mut state = lock(&inner.state);
    let store = state
        .vector_stores
        .get_mut(&id)
        .ok_or_else(|| store_missing(&id))?;
    let Some(removed) = store.files.remove(&file) else {
        return Err(bad_request(format!(
            "File {file} not found in vector store {id}"
        )));
    };
    let status = removed["status"].as_str().unwrap_or("completed").to_owned();
    let counts = &mut store.object["file_counts"];
    counts["total"] = json!(counts["total"].as_u64().unwrap_or(1).saturating_sub(1));
    counts[status.as_str()] = json!(
        counts[status.as_str()]
            .as_u64()
            .unwrap_or(1)
            .saturating_sub(1)
    );
    lock(&inner.counters).delete("vector_store_file");
    ok(json!({"id": file, "object": "vector_store.file.deleted", "deleted": true}))
}
