#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! OpenAI-compatible files and vector stores, under the API base.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::super::flavor::{Flavor, bad_request, detail};
use super::super::lock;
use super::super::state::{FakeFile, FakeModel, FakeVectorStore};
use super::*;

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

// ---- files ----

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
    let invalid = |field: &str| inner.flavor.invalid(&[json!(field)], "Field required");
    let mut form = form.map_err(|_| invalid("file"))?;
    let (mut purpose, mut file) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|_| invalid("file"))? {
        match field.name() {
            Some("purpose") => purpose = Some(field.text().await.map_err(|_| invalid("purpose"))?),
            Some("file") => {
                let filename = field.file_name().map(str::to_owned);
                let content = field.bytes().await.map_err(|_| invalid("file"))?;
                file = Some((filename, content.to_vec()));
            }
            _ => {}
        }
    }
    let purpose = purpose.ok_or_else(|| invalid("purpose"))?;
    if !matches!(purpose.as_str(), "assistants" | "batch") {
        return Err(inner.flavor.invalid(
            &[json!("purpose")],
            "Input should be 'assistants' or 'batch'",
        ));
    }
    let (filename, content) = file.ok_or_else(|| invalid("file"))?;
    let id = format!("file-{}", uuid::Uuid::new_v4().simple());
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

pub(super) async fn get_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => ok(file.object.clone()),
        None => Err(inner.flavor.file_missing(&id)),
    }
}

pub(super) async fn file_content(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).files.get(&id) {
        Some(file) => Ok(file.content.clone().into_response()),
        None => Err(inner.flavor.file_missing(&id)),
    }
}

pub(super) async fn delete_file(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).files.remove(&id).is_none() {
        return Err(inner.flavor.file_missing(&id));
    }
    lock(&inner.counters).delete("file");
    ok(json!({"id": id, "object": "file", "deleted": true}))
}

// ---- vector stores ----

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
        None => Err(inner.flavor.store_missing(&id)),
    }
}

/// The embedding model named (or the first one) and its dimension.
fn embedding_model(
    flavor: Flavor,
    models: &[FakeModel],
    named: Option<&str>,
) -> Result<(String, u64), Response> {
    let found = match named {
        Some(name) => models.iter().find(|model| {
            model.id == name || (flavor.is_legacy() && model.provider_and_resource().1 == name)
        }),
        None => models.iter().find(|model| model.model_type == "embedding"),
    };
    let Some(model) = found else {
        return Err(match named {
            Some(name) => {
                let (status, message) = flavor.model_missing(name);
                detail(status, &message)
            }
            None => bad_request(
                "No embedding model provided and no embedding models available in the system"
                    .into(),
            ),
        });
    };
    match model.embedding_dimension {
        Some(dimension) if model.model_type == "embedding" => Ok((model.id.clone(), dimension)),
        _ => Err(bad_request(format!(
            "Model {} is not an embedding model",
            model.id
        ))),
    }
}

pub(super) async fn create_store(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&inner, &bytes)?;
    let name = required_str(&inner, &body, "name")?;
    let mut state = lock(&inner.state);
    let (model, dimension) = embedding_model(
        inner.flavor,
        &state.models,
        body.get("embedding_model").and_then(Value::as_str),
    )?;
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
    // The servers add their own bookkeeping to the metadata.
    metadata.insert("provider_id".into(), json!(provider));
    if inner.flavor.is_legacy() {
        metadata.insert("provider_vector_db_id".into(), json!(id));
    } else {
        metadata.insert("provider_vector_store_id".into(), json!(id));
        metadata.insert("embedding_model".into(), json!(model));
        metadata.insert("embedding_dimension".into(), json!(dimension.to_string()));
    }
    let object = json!({
        "id": id, "object": "vector_store", "created_at": created, "name": name, "usage_bytes": 0,
        "file_counts": {"completed": 0, "cancelled": 0, "failed": 0, "in_progress": 0, "total": 0},
        "status": "completed", "expires_after": null, "expires_at": null, "last_active_at": created,
        "metadata": metadata,
    });
    let mut counters = lock(&inner.counters);
    if inner.flavor.is_legacy() {
        // 0.2.18 registers a vector DB of the store's id.
        state.vector_dbs.insert(
            id.clone(),
            json!({"identifier": id, "provider_resource_id": id, "provider_id": provider, "type": "vector_db",
                   "owner": null, "embedding_model": model, "embedding_dimension": dimension, "vector_db_name": name}),
        );
        counters.create("vector_db");
    }
    state.vector_stores.insert(
        id,
        FakeVectorStore {
            object: object.clone(),
            files: Default::default(),
        },
    );
    counters.create("vector_store");
    ok(object)
}

pub(super) async fn update_store(
    State(inner): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let body = json_body(&inner, &bytes)?;
    let mut state = lock(&inner.state);
    let store = state
        .vector_stores
        .get_mut(&id)
        .ok_or_else(|| inner.flavor.store_missing(&id))?;
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
        return Err(inner.flavor.store_missing(&id));
    }
    let mut counters = lock(&inner.counters);
    counters.delete("vector_store");
    if state.vector_dbs.remove(&id).is_some() {
        counters.delete("vector_db");
    }
    ok(json!({"id": id, "object": "vector_store.deleted", "deleted": true}))
}

pub(super) async fn list_store_files(
    State(inner): Shared,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let files = match lock(&inner.state).vector_stores.get(&id) {
        Some(store) => store.files.values().cloned().collect(),
        None => return Err(inner.flavor.store_missing(&id)),
    };
    page(files, &query, 20)
}

fn store_file_missing(file: &str, store: &str) -> Response {
    bad_request(format!("File {file} not found in vector store {store}"))
}

pub(super) async fn get_store_file(
    State(inner): Shared,
    Path((id, file)): Path<(String, String)>,
) -> Answer {
    let state = lock(&inner.state);
    let store = state
        .vector_stores
        .get(&id)
        .ok_or_else(|| inner.flavor.store_missing(&id))?;
    match store.files.get(&file) {
        Some(object) => ok(object.clone()),
        None => Err(store_file_missing(&file, &id)),
    }
}

pub(super) async fn attach_file(
    State(inner): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let body = json_body(&inner, &bytes)?;
    let file_id = required_str(&inner, &body, "file_id")?;
    let mut state = lock(&inner.state);
    let file_exists = state.files.contains_key(&file_id);
    let store = state
        .vector_stores
        .get_mut(&id)
        .ok_or_else(|| inner.flavor.store_missing(&id))?;
    let (status, last_error) = if file_exists {
        ("completed", Value::Null)
    } else {
        (
            "failed",
            json!({"code": "server_error", "message": format!("File with id {file_id} not found")}),
        )
    };
    let chunking = if inner.flavor.is_legacy() {
        json!({"type": "auto"})
    } else {
        json!({"type": "static", "static": {"chunk_overlap_tokens": 400, "max_chunk_size_tokens": 800}})
    };
    let object = json!({
        "id": file_id, "object": "vector_store.file",
        "attributes": body.get("attributes").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})),
        "chunking_strategy": body.get("chunking_strategy").cloned().unwrap_or(chunking),
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
        .ok_or_else(|| inner.flavor.store_missing(&id))?;
    let Some(removed) = store.files.remove(&file) else {
        return Err(store_file_missing(&file, &id));
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
