//! The fake server's in-memory state, shaped as LlamaStack 0.2.18 answers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// Everything the fake holds; [`FakeLlamaStack::snapshot`](super::FakeLlamaStack::snapshot)
/// returns a copy. Maps are keyed by id, so two snapshots compare equal
/// exactly when the server holds the same things.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Snapshot {
    pub models: Vec<Value>,
    pub providers: Vec<Value>,
    /// `GET /v1/vector-dbs` objects by id (vector stores' `vs_...` included).
    pub vector_dbs: BTreeMap<String, Value>,
    /// Documents inserted through the RAG tool, per vector DB, in order.
    pub documents: BTreeMap<String, Vec<Value>>,
    pub toolgroups: BTreeMap<String, Value>,
    /// `GET /v1/agents` objects by id (`agent_config` as the server stores it).
    pub agents: BTreeMap<String, Value>,
    pub sessions: BTreeMap<String, FakeSession>,
    /// OpenAI file objects by id, with their content.
    pub files: BTreeMap<String, FakeFile>,
    pub vector_stores: BTreeMap<String, FakeVectorStore>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FakeSession {
    pub agent_id: String,
    pub session_name: String,
    /// `(user message, answer)` of every turn, in order.
    pub turns: Vec<(String, String)>,
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

/// How often each kind of thing was created and deleted, and turns run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Keys: `vector_db`, `document`, `toolgroup`, `agent`, `session`, `file`,
    /// `vector_store`, `vector_store_file`.
    pub created: BTreeMap<String, u64>,
    pub deleted: BTreeMap<String, u64>,
    pub turns: u64,
}

impl Counters {
    pub fn created(&self, kind: &str) -> u64 {
        self.created.get(kind).copied().unwrap_or(0)
    }

    pub fn deleted(&self, kind: &str) -> u64 {
        self.deleted.get(kind).copied().unwrap_or(0)
    }

    /// Nothing created or deleted at all.
    pub fn no_changes(&self) -> bool {
        self.created.values().all(|n| *n == 0) && self.deleted.values().all(|n| *n == 0)
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
#[derive(Debug, Clone, PartialEq)]
pub struct FakeModel {
    pub identifier: String,
    pub model_type: &'static str,
    pub embedding_dimension: Option<u64>,
}

impl FakeModel {
    pub fn llm(identifier: &str) -> Self {
        Self {
            identifier: identifier.to_owned(),
            model_type: "llm",
            embedding_dimension: None,
        }
    }

    pub fn embedding(identifier: &str, dimension: u64) -> Self {
        Self {
            identifier: identifier.to_owned(),
            model_type: "embedding",
            embedding_dimension: Some(dimension),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let (provider, resource) = match self.identifier.split_once('/') {
            Some((provider, rest)) => (provider.to_owned(), rest.to_owned()),
            None => ("vllm".to_owned(), self.identifier.clone()),
        };
        let metadata = match self.embedding_dimension {
            Some(dimension) => json!({ "embedding_dimension": dimension }),
            None => json!({}),
        };
        json!({
            "identifier": self.identifier,
            "provider_resource_id": resource,
            "provider_id": provider,
            "type": "model",
            "owner": null,
            "metadata": metadata,
            "model_type": self.model_type,
        })
    }
}

/// The providers of the test distribution (`crates/test-support/llamastack/run.yaml`).
pub(crate) fn default_providers() -> Vec<Value> {
    [
        ("inference", "vllm", "remote::vllm"),
        ("vector_io", "faiss", "inline::faiss"),
        ("files", "meta-reference-files", "inline::localfs"),
        ("safety", "llama-guard", "inline::llama-guard"),
        ("agents", "meta-reference", "inline::meta-reference"),
        ("telemetry", "meta-reference", "inline::meta-reference"),
        ("tool_runtime", "rag-runtime", "inline::rag-runtime"),
        ("tool_runtime", "model-context-protocol", "remote::model-context-protocol"),
    ]
    .into_iter()
    .map(|(api, id, kind)| {
        json!({"api": api, "provider_id": id, "provider_type": kind, "config": {}, "health": {"status": "Not Implemented"}})
    })
    .collect()
}

/// The `builtin::rag` toolgroup every distribution registers.
pub(crate) fn builtin_toolgroups() -> Vec<Value> {
    vec![json!({
        "identifier": "builtin::rag",
        "provider_resource_id": "builtin::rag",
        "provider_id": "rag-runtime",
        "type": "tool_group",
        "owner": null,
        "mcp_endpoint": null,
        "args": null,
    })]
}

/// The agent configuration as 0.2.18 stores it: pydantic's dump of
/// `AgentConfig`, every default written out. Written independently of the
/// client's normalisation so that tests of that normalisation mean something.
pub(crate) fn stored_agent_config(sent: &Map<String, Value>) -> Map<String, Value> {
    let mut config = Map::new();
    let defaults = json!({
        "sampling_params": null,
        "input_shields": [],
        "output_shields": [],
        "toolgroups": [],
        "client_tools": [],
        "tool_choice": null,
        "tool_prompt_format": null,
        "tool_config": null,
        "max_infer_iters": 10,
        "model": null,
        "instructions": null,
        "name": null,
        "enable_session_persistence": false,
        "response_format": null,
    });
    if let Value::Object(defaults) = defaults {
        for (key, default) in defaults {
            config.insert(key.clone(), sent.get(&key).cloned().unwrap_or(default));
        }
    }
    let mut sampling = json!({"strategy": {"type": "greedy"}, "max_tokens": 0, "repetition_penalty": 1.0, "stop": null});
    if let Some(Value::Object(given)) = sent.get("sampling_params") {
        for (key, value) in given {
            sampling[key] = value.clone();
        }
        if sampling["strategy"]["type"] == "top_p"
            && sampling["strategy"].get("top_p").is_none_or(Value::is_null)
        {
            sampling["strategy"]["top_p"] = json!(0.95);
        }
        if sampling["strategy"]["type"] == "top_p"
            && sampling["strategy"].get("temperature").is_none()
        {
            sampling["strategy"]["temperature"] = Value::Null;
        }
    }
    config.insert("sampling_params".into(), sampling);
    let mut tool_config = json!({"tool_choice": "auto", "tool_prompt_format": null, "system_message_behavior": "append"});
    if let Some(Value::Object(given)) = sent.get("tool_config") {
        for (key, value) in given {
            tool_config[key] = value.clone();
        }
    } else if let Some(choice) = sent.get("tool_choice").filter(|choice| !choice.is_null()) {
        tool_config["tool_choice"] = choice.clone();
    }
    config.insert("tool_config".into(), tool_config);
    config
}
