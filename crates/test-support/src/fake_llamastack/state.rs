//! The fake server's in-memory state.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use shared_clients::llamastack::responses::{CreateResponse, InputItem, OutputItem};

/// Everything the fake holds; [`FakeLlamaStack::snapshot`](super::FakeLlamaStack::snapshot)
/// returns a copy. Maps are keyed by id, so two snapshots compare equal
/// exactly when the server holds the same things.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Snapshot {
    pub models: Vec<FakeModel>,
    /// OpenAI file objects by id, with their content.
    pub files: BTreeMap<String, FakeFile>,
    pub vector_stores: BTreeMap<String, FakeVectorStore>,
    /// Stored responses by id.
    pub responses: BTreeMap<String, StoredResponse>,
    /// Legacy (0.2.18): `GET /v1/agents` objects by id.
    pub agents: BTreeMap<String, Value>,
    /// Legacy (0.2.18): `GET /v1/toolgroups` objects by id.
    pub toolgroups: BTreeMap<String, Value>,
    /// Legacy (0.2.18): `GET /v1/vector-dbs` objects by id (each vector
    /// store's `vs_...` included, as 0.2.18 registers one per store).
    pub vector_dbs: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FakeFile {
    pub object: Value,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FakeVectorStore {
    pub object: Value,
    /// Vector store file objects (`attributes` included) by file id.
    pub files: BTreeMap<String, Value>,
}

/// A response the fake made and stored (`store: true`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredResponse {
    /// The request as received (`stream` as the caller set it).
    pub request: CreateResponse,
    /// The response's items, for the next turns of its chain.
    pub output: Vec<OutputItem>,
    /// The final object, as `GET responses/{id}` answers it.
    pub object: Value,
}

impl StoredResponse {
    pub fn input(&self) -> &[InputItem] {
        &self.request.input
    }
}

/// How often each kind of thing was created and deleted, and responses made.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Keys: `file`, `vector_store`, `vector_store_file`, `response`.
    pub created: BTreeMap<String, u64>,
    /// Keys: the above and the legacy `agent`, `toolgroup`, `vector_db`.
    pub deleted: BTreeMap<String, u64>,
    /// `POST responses` that reached the model (faults excluded).
    pub responses: u64,
}

impl Counters {
    pub fn created(&self, kind: &str) -> u64 {
        self.created.get(kind).copied().unwrap_or(0)
    }

    pub fn deleted(&self, kind: &str) -> u64 {
        self.deleted.get(kind).copied().unwrap_or(0)
    }

    /// Nothing created or deleted at all (responses aside).
    pub fn no_changes(&self) -> bool {
        self.created
            .iter()
            .filter(|(kind, _)| *kind != "response")
            .all(|(_, n)| *n == 0)
            && self.deleted.values().all(|n| *n == 0)
    }

    pub(crate) fn create(&mut self, kind: &str) {
        *self.created.entry(kind.to_owned()).or_default() += 1;
    }

    pub(crate) fn delete(&mut self, kind: &str) {
        *self.deleted.entry(kind.to_owned()).or_default() += 1;
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The JSON body (`Null` when empty or not JSON, e.g. multipart).
    pub body: Value,
}

/// A model the fake serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FakeModel {
    /// The listed id, provider-prefixed as servers list them (`vllm/x`).
    pub id: String,
    /// `llm` or `embedding`.
    pub model_type: &'static str,
    pub embedding_dimension: Option<u64>,
}

impl FakeModel {
    pub fn llm(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            model_type: "llm",
            embedding_dimension: None,
        }
    }

    pub fn embedding(id: &str, dimension: u64) -> Self {
        Self {
            id: id.to_owned(),
            model_type: "embedding",
            embedding_dimension: Some(dimension),
        }
    }

    /// `vllm/x` → (`vllm`, `x`); an unprefixed id is `vllm`'s.
    pub(crate) fn provider_and_resource(&self) -> (&str, &str) {
        self.id.split_once('/').unwrap_or(("vllm", &self.id))
    }

    /// The OpenAI shape of `GET /v1/openai/v1/models` (0.2.18).
    pub(crate) fn openai_json(&self) -> Value {
        json!({"id": self.id, "object": "model", "created": super::routes::now_seconds(), "owned_by": "llama_stack"})
    }
}
