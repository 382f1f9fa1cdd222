//! Models as every server lists them, normalised to one shape, and the
//! rule resolving a configured model name to the id the server accepts.
//!
//! LlamaStack 0.2.18 lists `{identifier, provider_resource_id, provider_id,
//! model_type, metadata: {embedding_dimension}}`; 0.7.3 and OGX list the
//! OpenAI shape `{id, custom_metadata: {model_type, provider_id,
//! provider_resource_id, embedding_dimension}}`; vLLM and OpenAI list bare
//! `{id}` (read as language models). 0.7.3 and OGX accept only the listed,
//! provider-prefixed id (`vllm/x`), hence [`resolve_model`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::LlamaStackClient;
use super::error::LlamaStackError;
use super::types::{DataList, JsonObject, Provider, null_as_default};

/// How many offered ids an error names.
const MAX_IDS_NAMED: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    Llm,
    Embedding,
    Other,
}

/// A model the server serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// The id requests name (`vllm/llama-3`).
    pub id: String,
    /// The provider's own name of the model (`llama-3`), when listed.
    pub provider_resource_id: Option<String>,
    pub provider_id: Option<String>,
    pub model_type: ModelType,
    pub embedding_dimension: Option<u64>,
}

impl Model {
    pub fn is_llm(&self) -> bool {
        self.model_type == ModelType::Llm
    }

    pub fn is_embedding(&self) -> bool {
        self.model_type == ModelType::Embedding
    }
}

/// Both listing shapes, every field optional.
#[derive(Deserialize)]
struct RawModel {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
    #[serde(default)]
    provider_resource_id: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
    /// `api_model_type` in some llama-stack versions.
    #[serde(default, alias = "api_model_type")]
    model_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: JsonObject,
    #[serde(default, deserialize_with = "null_as_default")]
    custom_metadata: JsonObject,
}

impl RawModel {
    fn normalise(self) -> Option<Model> {
        let id = self.identifier.or(self.id).filter(|id| !id.is_empty())?;
        let text = |key: &str| {
            self.custom_metadata
                .get(key)
                .or_else(|| self.metadata.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let model_type = match self.model_type.or_else(|| text("model_type")).as_deref() {
            None | Some("llm") => ModelType::Llm,
            Some("embedding") => ModelType::Embedding,
            Some(_) => ModelType::Other,
        };
        let embedding_dimension = self
            .custom_metadata
            .get("embedding_dimension")
            .or_else(|| self.metadata.get("embedding_dimension"))
            .and_then(dimension);
        Some(Model {
            provider_resource_id: self
                .provider_resource_id
                .or_else(|| text("provider_resource_id")),
            provider_id: self.provider_id.or_else(|| text("provider_id")),
            id,
            model_type,
            embedding_dimension,
        })
    }
}

/// A dimension as servers write it: `384`, `384.0` or `"384"`.
fn dimension(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f > 0.0 && *f < 1e9)
                .map(|f| f as u64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Why a configured model name names no served model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelResolutionError {
    #[error("model {wanted:?} is not served; the server offers: {offered}")]
    Absent { wanted: String, offered: String },
    #[error("model {wanted:?} is ambiguous: it may be any of {candidates}")]
    Ambiguous { wanted: String, candidates: String },
    #[error("no model given and the server offers no language model; it offers: {offered}")]
    NoLlm { offered: String },
}

/// The id of `wanted` among `models`: the model with exactly that id, else
/// the one model whose id after its first `/` (or whose provider resource id)
/// is `wanted`; an empty `wanted` is the first language model. Absent or
/// ambiguous names are errors naming what the server offers.
pub fn resolve_model(models: &[Model], wanted: &str) -> Result<String, ModelResolutionError> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return models
            .iter()
            .find(|model| model.is_llm())
            .map(|model| model.id.clone())
            .ok_or_else(|| ModelResolutionError::NoLlm {
                offered: named(models.iter()),
            });
    }
    if let Some(model) = models.iter().find(|model| model.id == wanted) {
        return Ok(model.id.clone());
    }
    let candidates: Vec<&Model> = models
        .iter()
        .filter(|model| {
            model.id.split_once('/').map(|(_, rest)| rest) == Some(wanted)
                || model.provider_resource_id.as_deref() == Some(wanted)
        })
        .collect();
    match candidates.as_slice() {
        [model] => Ok(model.id.clone()),
        [] => Err(ModelResolutionError::Absent {
            wanted: wanted.to_owned(),
            offered: named(models.iter()),
        }),
        several => Err(ModelResolutionError::Ambiguous {
            wanted: wanted.to_owned(),
            candidates: named(several.iter().copied()),
        }),
    }
}

/// At most [`MAX_IDS_NAMED`] ids, comma-separated, and how many more.
fn named<'a>(models: impl ExactSizeIterator<Item = &'a Model>) -> String {
    let total = models.len();
    if total == 0 {
        return "nothing".to_owned();
    }
    let mut text = models
        .take(MAX_IDS_NAMED)
        .map(|model| model.id.chars().take(120).collect::<String>())
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_IDS_NAMED {
        text.push_str(&format!(" and {} more", total - MAX_IDS_NAMED));
    }
    text
}

impl LlamaStackClient {
    /// Every model the server serves, in one shape whatever the server
    /// (`GET /v1/models` on LlamaStack, `<base>/models` elsewhere).
    pub async fn list_models(&self) -> Result<Vec<Model>, LlamaStackError> {
        let path = self.api_base().await?.models_path();
        let listed: DataList<RawModel> = self.get_json(&path, &[]).await?;
        Ok(listed
            .into_data()
            .into_iter()
            .filter_map(RawModel::normalise)
            .collect())
    }

    /// `GET /v1/providers`.
    pub async fn list_providers(&self) -> Result<Vec<Provider>, LlamaStackError> {
        Ok(self
            .get_json::<DataList<Provider>>("/v1/providers", &[])
            .await?
            .into_data())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(listing: Value) -> Vec<Model> {
        serde_json::from_value::<DataList<RawModel>>(listing)
            .expect("listing")
            .into_data()
            .into_iter()
            .filter_map(RawModel::normalise)
            .collect()
    }

    fn model(id: &str, resource: Option<&str>, model_type: ModelType) -> Model {
        Model {
            id: id.to_owned(),
            provider_resource_id: resource.map(str::to_owned),
            provider_id: id.split_once('/').map(|(provider, _)| provider.to_owned()),
            model_type,
            embedding_dimension: None,
        }
    }

    #[test]
    fn the_llama_stack_shape_is_normalised() {
        let models = parse(json!({"data": [
            {"identifier": "vllm/stub-llm", "provider_resource_id": "stub-llm", "provider_id": "vllm", "type": "model", "metadata": {}, "model_type": "llm"},
            {"identifier": "vllm/stub-embed", "provider_resource_id": "stub-embed", "provider_id": "vllm", "type": "model", "metadata": {"embedding_dimension": 384}, "model_type": "embedding"}
        ]}));
        assert_eq!(models[0].id, "vllm/stub-llm");
        assert!(models[0].is_llm());
        assert_eq!(models[1].model_type, ModelType::Embedding);
        assert_eq!(models[1].embedding_dimension, Some(384));
        assert_eq!(
            models[1].provider_resource_id.as_deref(),
            Some("stub-embed")
        );
    }

    #[test]
    fn the_openai_shape_with_custom_metadata_is_normalised() {
        let models = parse(json!({"data": [
            {"id": "vllm/stub-llm", "object": "model", "created": 1, "owned_by": "llama_stack",
             "custom_metadata": {"model_type": "llm", "provider_id": "vllm", "provider_resource_id": "stub-llm"}},
            {"id": "vllm/stub-embed", "object": "model", "created": 1, "owned_by": "llama_stack",
             "custom_metadata": {"model_type": "embedding", "provider_id": "vllm", "provider_resource_id": "stub-embed", "embedding_dimension": "384"}},
            {"id": "gpt-4o", "object": "model"},
            {"object": "model"}
        ]}));
        assert_eq!(models.len(), 3, "an entry without id is skipped");
        assert_eq!(models[0].provider_id.as_deref(), Some("vllm"));
        assert_eq!(models[1].embedding_dimension, Some(384));
        assert!(models[1].is_embedding());
        assert!(
            models[2].is_llm(),
            "a bare OpenAI model is a language model"
        );
        assert_eq!(models[2].provider_resource_id, None);
    }

    #[test]
    fn an_exact_id_wins_then_the_unique_unprefixed_name() {
        let models = vec![
            model("vllm/stub-llm", Some("stub-llm"), ModelType::Llm),
            model("stub-llm-2", None, ModelType::Llm),
        ];
        assert_eq!(
            resolve_model(&models, "vllm/stub-llm"),
            Ok("vllm/stub-llm".into())
        );
        assert_eq!(
            resolve_model(&models, "stub-llm"),
            Ok("vllm/stub-llm".into())
        );
        assert_eq!(
            resolve_model(&models, "stub-llm-2"),
            Ok("stub-llm-2".into())
        );
        let by_resource = vec![model("ollama/l3", Some("llama3:8b"), ModelType::Llm)];
        assert_eq!(
            resolve_model(&by_resource, "llama3:8b"),
            Ok("ollama/l3".into())
        );
    }

    #[test]
    fn an_empty_name_is_the_first_language_model() {
        let models = vec![
            model("vllm/embed", None, ModelType::Embedding),
            model("vllm/llm", None, ModelType::Llm),
        ];
        assert_eq!(resolve_model(&models, ""), Ok("vllm/llm".into()));
        let error = resolve_model(&models[..1], " ").expect_err("no LLM");
        assert!(error.to_string().contains("vllm/embed"), "{error}");
    }

    #[test]
    fn an_absent_name_says_what_is_offered_within_bounds() {
        let models: Vec<Model> = (0..25)
            .map(|n| model(&format!("vllm/m{n}"), None, ModelType::Llm))
            .collect();
        let error = resolve_model(&models, "gpt-5").expect_err("absent");
        let message = error.to_string();
        assert!(message.contains("\"gpt-5\""), "{message}");
        assert!(message.contains("vllm/m0, vllm/m1"), "{message}");
        assert!(message.contains("and 15 more"), "{message}");
        assert!(!message.contains("vllm/m24"), "{message}");
    }

    #[test]
    fn a_name_two_providers_serve_is_ambiguous() {
        let models = vec![
            model("vllm/llama", None, ModelType::Llm),
            model("ollama/llama", None, ModelType::Llm),
        ];
        let error = resolve_model(&models, "llama").expect_err("ambiguous");
        assert!(matches!(error, ModelResolutionError::Ambiguous { .. }));
        assert!(
            error.to_string().contains("vllm/llama, ollama/llama"),
            "{error}"
        );
    }
}
