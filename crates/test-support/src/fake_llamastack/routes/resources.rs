#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! Models, providers, vector DBs and the RAG insert, toolgroups.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::lock;
use super::*;

// ---- models, providers ----

pub(super) async fn list_models(State(inner): Shared) -> Answer {
    list(lock(&inner.state).models.clone())
}

pub(super) async fn list_providers(State(inner): Shared) -> Answer {
    list(lock(&inner.state).providers.clone())
}

// ---- vector DBs, RAG insert ----

pub(super) async fn list_vector_dbs(State(inner): Shared) -> Answer {
    list(lock(&inner.state).vector_dbs.values().cloned().collect())
}

pub(super) async fn get_vector_db(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).vector_dbs.get(&id) {
        Some(db) => ok(db.clone()),
        None => Err(not_found(format!("Vector store '{id}' not found"))),
    }
}

pub(super) fn embedding_dimension(models: &[Value], model: &str) -> Result<u64, Response> {
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

pub(super) fn provider_exists(providers: &[Value], api: &str, id: &str) -> bool {
    providers
        .iter()
        .any(|provider| provider["api"] == api && provider["provider_id"] == id)
}

pub(super) async fn register_vector_db(State(inner): Shared, bytes: Bytes) -> Answer {
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
    // 0.2.18: registering an existing id is a silent no-op answering the stored object.
    if let Some(stored) = state.vector_dbs.get(&id) {
        return ok(stored.clone());
    }
    let object = json!({
        "identifier": id,
        "provider_resource_id": body.get("provider_vector_db_id").and_then(Value::as_str).unwrap_or(&id),
        "provider_id": provider,
        "type": "vector_db",
        // the model's dimension, whatever the request says
        "embedding_model": model,
        "embedding_dimension": dimension,
        "vector_db_name": body.get("vector_db_name").cloned().unwrap_or(Value::Null),
    });
    state.documents.insert(id.clone(), Vec::new());
    state.vector_dbs.insert(id, object.clone());
    lock(&inner.counters).create("vector_db");
    let mut answer = object;
    answer["owner"] = Value::Null;
    answer["source"] = json!("via_register_api");
    ok(answer)
}

pub(super) async fn unregister_vector_db(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.vector_dbs.remove(&id).is_none() {
        return Err(not_found(format!(
            "Vector Store '{id}' not found. Use 'client.vector_dbs.list()' to list available Vector Stores."
        )));
    }
    state.documents.remove(&id);
    let mut counters = lock(&inner.counters);
    counters.delete("vector_db");
    // The vector DB of an OpenAI vector store takes the store with it.
    if state.vector_stores.remove(&id).is_some() {
        counters.delete("vector_store");
    }
    no_content()
}

pub(super) async fn rag_insert(State(inner): Shared, bytes: Bytes) -> Answer {
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
    // 0.2.18 looks the vector DB up only when there is something to insert.
    if documents.is_empty() {
        return ok(Value::Null);
    }
    let mut state = lock(&inner.state);
    if !state.vector_dbs.contains_key(&id) {
        return Err(bad_request(format!(
            "Vector_db `{id}` not served by provider: `faiss`. Make sure there is a vector_io provider serving this vector_db."
        )));
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

pub(super) async fn list_toolgroups(State(inner): Shared) -> Answer {
    list(lock(&inner.state).toolgroups.values().cloned().collect())
}

fn toolgroup_missing(id: &str) -> Response {
    not_found(format!(
        "Tool Group '{id}' not found. Use 'client.toolgroups.list()' to list available Tool Groups."
    ))
}

pub(super) async fn get_toolgroup(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).toolgroups.get(&id) {
        Some(group) => ok(group.clone()),
        None => Err(toolgroup_missing(&id)),
    }
}

pub(super) async fn register_toolgroup(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let id = required_str(&body, "toolgroup_id")?;
    let provider = required_str(&body, "provider_id")?;
    let mut state = lock(&inner.state);
    if !provider_exists(&state.providers, "tool_runtime", &provider) {
        return Err(bad_request(format!("Provider `{provider}` not found")));
    }
    let object = json!({
        "identifier": id,
        "provider_resource_id": id,
        "provider_id": provider,
        "type": "tool_group",
        "mcp_endpoint": body.get("mcp_endpoint").cloned().unwrap_or(Value::Null),
        "args": body.get("args").cloned().unwrap_or(Value::Null),
    });
    // 0.2.18 keeps an existing registration unchanged (but echoes the
    // request), and registers an MCP toolgroup without endpoint before
    // refusing it.
    if let std::collections::btree_map::Entry::Vacant(entry) = state.toolgroups.entry(id) {
        entry.insert(object.clone());
        lock(&inner.counters).create("toolgroup");
    }
    if provider == "model-context-protocol" && object["mcp_endpoint"].is_null() {
        return Err(bad_request("mcp_endpoint is required".into()));
    }
    let mut answer = object;
    answer["owner"] = Value::Null;
    answer["source"] = json!("via_register_api");
    ok(answer)
}

pub(super) async fn unregister_toolgroup(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).toolgroups.remove(&id).is_none() {
        return Err(toolgroup_missing(&id));
    }
    lock(&inner.counters).delete("toolgroup");
    no_content()
}
