#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! The version, models and providers, and 0.2.18's legacy listings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::flavor::{bad_request, detail};
use super::super::lock;
use super::*;

pub(super) async fn version(State(inner): Shared) -> Answer {
    ok(json!({"version": inner.flavor.version()}))
}

/// `GET /v1/models`: llama-stack's shape on 0.2.18, OpenAI's with
/// `custom_metadata` on current servers.
pub(super) async fn list_models(State(inner): Shared) -> Answer {
    let models = lock(&inner.state)
        .models
        .iter()
        .map(|model| inner.flavor.listed_model(model))
        .collect();
    list(models)
}

/// `GET /v1/openai/v1/models` (0.2.18): OpenAI's shape, no types.
pub(super) async fn list_openai_models(State(inner): Shared) -> Answer {
    list(
        lock(&inner.state)
            .models
            .iter()
            .map(super::super::FakeModel::openai_json)
            .collect(),
    )
}

/// The providers of the test distribution.
pub(super) async fn list_providers(State(inner): Shared) -> Answer {
    let mut providers = vec![
        ("inference", "vllm", "remote::vllm"),
        ("vector_io", "faiss", "inline::faiss"),
        ("files", "meta-reference-files", "inline::localfs"),
        (
            "tool_runtime",
            "model-context-protocol",
            "remote::model-context-protocol",
        ),
    ];
    if inner.flavor.is_legacy() {
        providers.push(("agents", "meta-reference", "inline::meta-reference"));
        providers.push(("tool_runtime", "rag-runtime", "inline::rag-runtime"));
    } else {
        providers.push(("responses", "builtin", "inline::builtin"));
        providers.push(("tool_runtime", "file-search", "inline::file-search"));
    }
    list(
        providers
            .into_iter()
            .map(|(api, id, kind)| {
                json!({"api": api, "provider_id": id, "provider_type": kind, "config": {},
                       "health": {"status": "Not Implemented"}})
            })
            .collect(),
    )
}

// ---- legacy (0.2.18) ----

pub(super) async fn list_agents(State(inner): Shared) -> Answer {
    let data: Vec<Value> = lock(&inner.state).agents.values().cloned().collect();
    ok(json!({"data": data, "has_more": false, "url": "/v1/agents"}))
}

pub(super) async fn delete_agent(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).agents.remove(&id).is_none() {
        return Err(bad_request(format!("Could not find agent info for {id}")));
    }
    lock(&inner.counters).delete("agent");
    no_content()
}

pub(super) async fn list_toolgroups(State(inner): Shared) -> Answer {
    list(lock(&inner.state).toolgroups.values().cloned().collect())
}

pub(super) async fn unregister_toolgroup(State(inner): Shared, Path(id): Path<String>) -> Answer {
    if lock(&inner.state).toolgroups.remove(&id).is_none() {
        return Err(detail(
            StatusCode::NOT_FOUND,
            &format!(
                "Tool Group '{id}' not found. Use 'client.toolgroups.list()' to list available Tool Groups."
            ),
        ));
    }
    lock(&inner.counters).delete("toolgroup");
    no_content()
}

pub(super) async fn list_vector_dbs(State(inner): Shared) -> Answer {
    list(lock(&inner.state).vector_dbs.values().cloned().collect())
}

/// Unregistering the vector DB of a vector store takes the store with it.
pub(super) async fn unregister_vector_db(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.vector_dbs.remove(&id).is_none() {
        return Err(detail(
            StatusCode::NOT_FOUND,
            &format!(
                "Vector Store '{id}' not found. Use 'client.vector_dbs.list()' to list available Vector Stores."
            ),
        ));
    }
    let mut counters = lock(&inner.counters);
    counters.delete("vector_db");
    if state.vector_stores.remove(&id).is_some() {
        counters.delete("vector_store");
    }
    no_content()
}
