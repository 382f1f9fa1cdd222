#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! OpenAI-compatible files and vector stores.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::super::lock;
use super::super::state::{FakeFile, FakeVectorStore};
use super::*;

// ---- OpenAI-compatible files ----

/// OpenAI-style pagination over `items` sorted by `created_at` (`order`, `after`, `limit`).
pub(super) fn page(
    mut items: Vec<Value>,
    query: &HashMap<String, String>,
    default_limit: usize,
) -> Answer {
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

pub(super) async fn list_files(
    State(inner): Shared,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let files = lock(&inner.state)
        .files
        .values()
        .map(|file| file.object.clone())
        .collect();
    page(files, &query, 10_000)
}

pub(super) async fn upload_file(
    State(inner): Shared,
    form: Result<Multipart, MultipartRejection>,
) -> Answer {
    let mut form = form.map_err(|_| invalid_field(&["file"], "Field required"))?;
    let malformed = |_| invalid_field(&["file"], "Field required");
    let (mut purpose, mut file) = (None, None);
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("purpose") => purpose = Some(field.text().await.map_err(malformed)?),
            Some("file") => {
                let filename = field.file_name().map(str::to_owned);
                let content = field.bytes().await.map_err(malformed)?;
                file = Some((filename, content.to_vec()));
            }
            _ => {}
        }
    }
    let purpose = purpose.ok_or_else(|| invalid_field(&["purpose"], "Field required"))?;
    if !matches!(purpose.as_str(), "assistants" | "batch") {
        return Err(invalid_field(
            &["purpose"],
            "Input should be 'assistants' or 'batch'",
        ));
    }
    let (filename, content) = file.ok_or_else(|| invalid_field(&["file"], "Field required"))?;
    let id = new_id("file-");
    let object = json!({
        "object": "file", "id": id, "bytes": content.len(), "created_at": now_seconds(),
        "expires_at": now_seconds() + 365 * 24 * 3600,
        "filename": filename.unwrap_or_else(|| "uploaded_file".to_owned()), "purpose": purpose,
    });
    lock(&inner.state).files.insert(
        id,
        FakeFile {
            object: object.clone(),
            content,
        },
    );
    lock(&inner.counters).create("file");
    ok(object)
}

pub(super) fn file_missing(id: &str) -> Response {
    bad_request(format!("File with id {id} not found"))
}

pub(super) async fn get_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => ok(file.object.clone()),
        None => Err(file_missing(&id)),
    }
}

pub(super) async fn file_content(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => Ok(file.content.clone().into_response()),
        None => Err(file_missing(&id)),
    }
}

pub(super) async fn delete_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).files.remove(&id).is_none() {
        return Err(file_missing(&id));
    }
    lock(&inner.counters).delete("file");
    ok(json!({"id": id, "object": "file", "deleted": true}))
}

// ---- OpenAI-compatible vector stores ----

pub(super) fn store_missing(id: &str) -> Response {
    bad_request(format!("Vector_db '{id}' not found"))
}

pub(super) async fn list_stores(
    State(inner): Shared,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let stores = lock(&inner.state)
        .vector_stores
        .values()
        .map(|store| store.object.clone())
        .collect();
    page(stores, &query, 20)
}

pub(super) async fn get_store(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).vector_stores.get(&id) {
        Some(store) => ok(store.object.clone()),
        None => Err(store_missing(&id)),
    }
}

pub(super) async fn create_store(State(inner): Shared, bytes: Bytes) -> Answer {
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

pub(super) async fn update_store(
    State(inner): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
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

pub(super) async fn delete_store(State(inner): Shared, Path(id): Path<String>) -> Answer {
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

pub(super) async fn list_store_files(
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

pub(super) async fn get_store_file(
    State(inner): Shared,
    Path((id, file)): Path<(String, String)>,
) -> Answer {
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

pub(super) async fn attach_file(
    State(inner): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
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

pub(super) async fn detach_file(
    State(inner): Shared,
    Path((id, file)): Path<(String, String)>,
) -> Answer {
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
