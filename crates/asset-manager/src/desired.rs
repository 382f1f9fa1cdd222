//! The desired state: the asset directory completed with the server's facts
//! (first LLM, embedding model, vector store provider), in the exact shapes
//! sent to LlamaStack (`docs/llamastack.md`).

use serde_json::json;
use sha2::{Digest, Sha256};
use shared_clients::llamastack::{
    AgentConfig, AgentToolgroup, JsonObject, Model, Provider, RagDocument, RegisterToolgroup,
    RegisterVectorDb, ToolConfig,
};

use crate::assets::Assets;
use crate::error::ReconcileError;

/// `metadata.managed_by` / `attributes.managed_by` of what this tool owns.
pub const MANAGED_BY: &str = "register-assets";
/// Chunk size of the RAG tool's insert (as the Python tool had it).
pub const CHUNK_SIZE_IN_TOKENS: u32 = 1024;
/// `purpose` of the uploaded knowledge-base files.
pub const FILE_PURPOSE: &str = "assistants";

/// What the server tells us that the directory leaves open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    pub first_llm: Option<String>,
    /// The first embedding model and its dimension.
    pub embedding: Option<(String, u64)>,
    /// The first `vector_io` provider.
    pub vector_io_provider: Option<String>,
}

impl ServerFacts {
    pub fn from_lists(models: &[Model], providers: &[Provider]) -> Self {
        Self {
            first_llm: models
                .iter()
                .find(|m| m.is_llm())
                .map(|m| m.identifier.clone()),
            embedding: models
                .iter()
                .filter(|m| m.is_embedding())
                .find_map(|m| Some((m.identifier.clone(), m.embedding_dimension()?))),
            vector_io_provider: providers
                .iter()
                .find(|p| p.api == "vector_io")
                .map(|p| p.provider_id.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub toolgroups: Vec<RegisterToolgroup>,
    pub knowledge_bases: Vec<DesiredKnowledgeBase>,
    pub agents: Vec<DesiredAgent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredKnowledgeBase {
    pub name: String,
    pub vector_db: RegisterVectorDb,
    pub documents: Vec<RagDocument>,
    /// Digest of everything that goes into the vector DB (model, chunking, documents).
    pub vector_db_digest: String,
    pub embedding_model: String,
    pub embedding_dimension: u64,
    pub provider_id: String,
    pub files: Vec<DesiredFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    pub document_id: String,
    pub file_name: String,
    pub content: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredAgent {
    pub name: String,
    pub config: AgentConfig,
    /// Where the instructions came from (a prompt file or the YAML).
    pub prompt_source: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds the desired state; fails when the server lacks what the assets need.
pub fn desired(assets: &Assets, facts: &ServerFacts) -> Result<Desired, ReconcileError> {
    let toolgroups = assets
        .toolgroups
        .iter()
        .map(|group| RegisterToolgroup::mcp(&group.name, &group.uri))
        .collect();
    let mut knowledge_bases = Vec::new();
    for base in &assets.knowledge_bases {
        let missing = |what| ReconcileError::Missing {
            what,
            needed_by: format!("knowledge base {}", base.name),
        };
        let (model, dimension) = facts
            .embedding
            .clone()
            .ok_or_else(|| missing("embedding model"))?;
        let provider = facts
            .vector_io_provider
            .clone()
            .ok_or_else(|| missing("vector_io provider"))?;
        let documents: Vec<RagDocument> = base
            .documents
            .iter()
            .map(|document| {
                let mut metadata = JsonObject::new();
                metadata.insert("source_file".into(), json!(document.relative_path));
                metadata.insert("kb_name".into(), json!(base.name));
                RagDocument {
                    document_id: document.document_id(&base.name),
                    content: document.content.clone(),
                    mime_type: "text/plain".into(),
                    metadata,
                }
            })
            .collect();
        let digest_input = json!({
            "embedding_model": model, "embedding_dimension": dimension,
            "chunk_size_in_tokens": CHUNK_SIZE_IN_TOKENS, "documents": documents,
        });
        let files = base
            .documents
            .iter()
            .map(|document| DesiredFile {
                document_id: document.document_id(&base.name),
                file_name: document.file_name().to_owned(),
                sha256: sha256_hex(document.content.as_bytes()),
                content: document.content.clone(),
            })
            .collect();
        knowledge_bases.push(DesiredKnowledgeBase {
            name: base.name.clone(),
            vector_db: RegisterVectorDb {
                vector_db_id: base.name.clone(),
                embedding_model: model.clone(),
                embedding_dimension: dimension,
                provider_id: provider.clone(),
            },
            documents,
            vector_db_digest: sha256_hex(digest_input.to_string().as_bytes()),
            embedding_model: model,
            embedding_dimension: dimension,
            provider_id: provider,
            files,
        });
    }
    let mut agents = Vec::new();
    for agent in &assets.agents {
        let model = match &agent.model {
            Some(model) => model.clone(),
            None => facts
                .first_llm
                .clone()
                .ok_or_else(|| ReconcileError::Missing {
                    what: "LLM",
                    needed_by: format!("agent {} (its model is empty)", agent.name),
                })?,
        };
        let (instructions, prompt_source) =
            assets.resolve_prompt(agent, &model).unwrap_or_else(|| {
                (
                    String::new(),
                    "no prompt file and no instructions".to_owned(),
                )
            });
        let mut toolgroups = Vec::new();
        if !agent.knowledge_bases.is_empty() {
            toolgroups.push(AgentToolgroup::knowledge_search(&agent.knowledge_bases));
        }
        toolgroups.extend(
            agent
                .mcp_servers
                .iter()
                .map(|server| AgentToolgroup::Name(format!("mcp::{server}"))),
        );
        let config = AgentConfig {
            name: Some(agent.name.clone()),
            model,
            instructions,
            toolgroups,
            client_tools: Vec::new(),
            tool_config: agent.tool_choice.as_ref().map(|choice| ToolConfig {
                tool_choice: Some(choice.clone()),
                tool_prompt_format: None,
                system_message_behavior: None,
            }),
            max_infer_iters: Some(agent.max_infer_iters.unwrap_or(10)),
            input_shields: agent.input_shields.clone(),
            output_shields: agent.output_shields.clone(),
            enable_session_persistence: Some(agent.enable_session_persistence.unwrap_or(false)),
            sampling_params: agent.sampling_params.clone(),
            response_format: None,
        };
        agents.push(DesiredAgent {
            name: agent.name.clone(),
            config,
            prompt_source,
        });
    }
    Ok(Desired {
        toolgroups,
        knowledge_bases,
        agents,
    })
}
