//! Wire types of the LlamaStack 0.2.18 API subset we use (`docs/llamastack.md`).
//! Answers are parsed leniently (unknown fields ignored, `null` where a list
//! is expected read as empty) so that a newer server does not break us;
//! requests carry exactly the fields the contract names.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A JSON object (`metadata`, `attributes`, `args`).
pub type JsonObject = Map<String, Value>;

/// `null` reads as the type's default (pydantic dumps `None` as `null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `{"data": [...]}`, the envelope of LlamaStack's list answers.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DataList<T> {
    #[serde(default = "Option::default")]
    data: Option<Vec<T>>,
}

impl<T> DataList<T> {
    pub fn into_data(self) -> Vec<T> {
        self.data.unwrap_or_default()
    }
}

/// An OpenAI-style page: `{data, has_more, last_id}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Option::default")]
    pub data: Option<Vec<T>>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
}

// ---- models and providers ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub identifier: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub provider_resource_id: Option<String>,
    /// `"llm"` or `"embedding"` (newer clients call it `api_model_type`).
    #[serde(default, alias = "api_model_type")]
    pub model_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: JsonObject,
}

impl Model {
    pub fn is_llm(&self) -> bool {
        self.model_type == "llm"
    }

    pub fn is_embedding(&self) -> bool {
        self.model_type == "embedding"
    }

    /// `metadata.embedding_dimension` of an embedding model.
    pub fn embedding_dimension(&self) -> Option<u64> {
        let value = self.metadata.get("embedding_dimension")?;
        // Some providers report it as a float (384.0).
        value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f > 0.0)
                .map(|f| f as u64)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub api: String,
    pub provider_id: String,
    #[serde(default)]
    pub provider_type: String,
}

// ---- vector DBs and the RAG tool ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorDb {
    pub identifier: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub provider_resource_id: Option<String>,
    #[serde(default)]
    pub embedding_model: String,
    #[serde(default)]
    pub embedding_dimension: u64,
    #[serde(default)]
    pub vector_db_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterVectorDb {
    pub vector_db_id: String,
    pub embedding_model: String,
    pub embedding_dimension: u64,
    pub provider_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagDocument {
    pub document_id: String,
    pub content: String,
    pub mime_type: String,
    pub metadata: JsonObject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagInsert {
    pub vector_db_id: String,
    pub chunk_size_in_tokens: u32,
    pub documents: Vec<RagDocument>,
}

// ---- toolgroups ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpEndpoint {
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toolgroup {
    pub identifier: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub mcp_endpoint: Option<McpEndpoint>,
    #[serde(default)]
    pub args: Option<JsonObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterToolgroup {
    pub toolgroup_id: String,
    pub provider_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_endpoint: Option<McpEndpoint>,
    pub args: JsonObject,
}

/// The provider of MCP toolgroups (`mcp::<name>`).
pub const MCP_PROVIDER_ID: &str = "model-context-protocol";

impl RegisterToolgroup {
    /// `{toolgroup_id: "mcp::<name>", provider_id: "model-context-protocol", mcp_endpoint: {uri}, args: {}}`.
    pub fn mcp(name: &str, uri: &str) -> Self {
        Self {
            toolgroup_id: format!("mcp::{name}"),
            provider_id: MCP_PROVIDER_ID.to_owned(),
            mcp_endpoint: Some(McpEndpoint {
                uri: uri.to_owned(),
            }),
            args: JsonObject::new(),
        }
    }
}

// ---- sessions and turns ----

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AgentIdAnswer {
    pub agent_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SessionIdAnswer {
    pub session_id: String,
}

/// The final answer of a streamed turn.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnAnswer {
    /// `payload.turn.turn_id`, when the server sent one.
    pub turn_id: Option<String>,
    /// The text of `payload.turn.output_message.content`.
    pub content: String,
    /// `output_message.stop_reason` (`end_of_turn`, `end_of_message`, ...).
    pub stop_reason: Option<String>,
}

// ---- OpenAI-compatible files and vector stores ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObject {
    pub id: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub filename: String,
    #[serde(default)]
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorStore {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: JsonObject,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateVectorStore {
    pub name: String,
    pub metadata: JsonObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_dimension: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateVectorStore {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorStoreFile {
    pub id: String,
    #[serde(default)]
    pub vector_store_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: JsonObject,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub last_error: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachFile {
    pub file_id: String,
    pub attributes: JsonObject,
}
