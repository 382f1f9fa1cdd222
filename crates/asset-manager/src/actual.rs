//! The actual state: what the server holds, read with one request per kind
//! (plus one per vector store this tool owns, for its files). Every type of
//! the client is turned here into what the plan needs.

use std::collections::BTreeMap;

use shared_clients::llamastack::{
    LlamaStackClient, LlamaStackError, MCP_PROVIDER_ID, Model, VectorStore, VectorStoreFile,
};

use crate::desired::{EmbeddingModel, MANAGED_BY, ServerFacts};

#[derive(Debug, Clone, PartialEq)]
pub struct Actual {
    pub facts: ServerFacts,
    pub vector_stores: Vec<VectorStore>,
    /// Files of the vector stores this tool manages, by store id.
    pub store_files: BTreeMap<String, Vec<VectorStoreFile>>,
    pub legacy: Legacy,
}

/// What the Agents API of an earlier release left on a LlamaStack 0.2.18:
/// its agents, MCP toolgroups and vector DBs. Newer servers have no such
/// routes, and the client reads their 404 as an empty list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Legacy {
    pub agents: Vec<LegacyObject>,
    /// Toolgroups of the MCP provider only (never `builtin::*`).
    pub toolgroups: Vec<LegacyObject>,
    pub vector_dbs: Vec<LegacyVectorDb>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyObject {
    pub id: String,
    /// The agent's configured name; a toolgroup's id.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyVectorDb {
    pub id: String,
    pub embedding_model: String,
}

impl Legacy {
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.toolgroups.is_empty() && self.vector_dbs.is_empty()
    }
}

/// Whether this tool created the vector store (`metadata.managed_by`).
pub fn is_managed(store: &VectorStore) -> bool {
    store.metadata.get("managed_by").and_then(|v| v.as_str()) == Some(MANAGED_BY)
}

/// The knowledge base a vector store holds, if this tool manages it
/// (`metadata.knowledge_base`). The service finds a knowledge base's store
/// by this, as the reconciler does.
pub fn knowledge_base_of(store: &VectorStore) -> Option<&str> {
    if !is_managed(store) {
        return None;
    }
    store
        .metadata
        .get("knowledge_base")
        .and_then(|v| v.as_str())
        .or(store.name.as_deref())
}

/// The first embedding model of `models`, the one new vector stores use.
pub fn server_facts(models: &[Model]) -> ServerFacts {
    ServerFacts {
        embedding: models
            .iter()
            .find(|model| model.is_embedding())
            .map(|model| EmbeddingModel {
                id: model.id.clone(),
                dimension: model.embedding_dimension,
            }),
    }
}

pub async fn read(client: &LlamaStackClient) -> Result<Actual, LlamaStackError> {
    let (models, vector_stores, legacy) = tokio::try_join!(
        client.list_models(),
        client.list_vector_stores(),
        read_legacy(client),
    )?;
    let mut store_files = BTreeMap::new();
    for store in vector_stores.iter().filter(|store| is_managed(store)) {
        store_files.insert(
            store.id.clone(),
            client.list_vector_store_files(&store.id).await?,
        );
    }
    Ok(Actual {
        facts: server_facts(&models),
        vector_stores,
        store_files,
        legacy,
    })
}

async fn read_legacy(client: &LlamaStackClient) -> Result<Legacy, LlamaStackError> {
    let (agents, toolgroups, vector_dbs) = tokio::try_join!(
        client.list_agents(),
        client.list_toolgroups(),
        client.list_vector_dbs(),
    )?;
    Ok(Legacy {
        agents: agents
            .into_iter()
            .map(|agent| LegacyObject {
                name: agent.name.unwrap_or_else(|| agent.agent_id.clone()),
                id: agent.agent_id,
            })
            .collect(),
        toolgroups: toolgroups
            .into_iter()
            .filter(|group| {
                group.provider_id == MCP_PROVIDER_ID && !group.identifier.starts_with("builtin::")
            })
            .map(|group| LegacyObject {
                name: group.identifier.clone(),
                id: group.identifier,
            })
            .collect(),
        vector_dbs: vector_dbs
            .into_iter()
            .map(|db| LegacyVectorDb {
                id: db.identifier,
                embedding_model: db.embedding_model,
            })
            .collect(),
    })
}
