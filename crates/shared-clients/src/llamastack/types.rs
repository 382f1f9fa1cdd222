//! Wire types shared by the LlamaStack calls: list envelopes, providers,
//! files and vector stores (`docs/llamastack.md`). Answers are parsed
//! leniently (unknown fields ignored, `null` where a list is expected read
//! as empty) so that a newer server does not break us; requests carry
//! exactly the fields the contract names.

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

// ---- providers ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub api: String,
    pub provider_id: String,
    #[serde(default)]
    pub provider_type: String,
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
