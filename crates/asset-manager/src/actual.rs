//! The actual state: what LlamaStack holds, read with one request per kind
//! (plus one per vector store this tool owns, for its files).

use std::collections::BTreeMap;

use shared_clients::llamastack::{
    Agent, LlamaStackClient, LlamaStackError, Model, Provider, Toolgroup, VectorDb, VectorStore,
    VectorStoreFile,
};

use crate::desired::MANAGED_BY;

#[derive(Debug, Clone, PartialEq)]
pub struct Actual {
    pub models: Vec<Model>,
    pub providers: Vec<Provider>,
    pub agents: Vec<Agent>,
    pub toolgroups: Vec<Toolgroup>,
    pub vector_dbs: Vec<VectorDb>,
    pub vector_stores: Vec<VectorStore>,
    /// Files of the vector stores this tool manages, by store id.
    pub store_files: BTreeMap<String, Vec<VectorStoreFile>>,
}

/// Whether this tool created the vector store (`metadata.managed_by`).
pub fn is_managed(store: &VectorStore) -> bool {
    store.metadata.get("managed_by").and_then(|v| v.as_str()) == Some(MANAGED_BY)
}

/// The knowledge base a managed vector store belongs to.
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

pub async fn read(client: &LlamaStackClient) -> Result<Actual, LlamaStackError> {
    let (models, providers, agents, toolgroups, vector_dbs, vector_stores) = tokio::try_join!(
        client.list_models(),
        client.list_providers(),
        client.list_agents(),
        client.list_toolgroups(),
        client.list_vector_dbs(),
        client.list_vector_stores(),
    )?;
    let mut store_files = BTreeMap::new();
    for store in vector_stores.iter().filter(|store| is_managed(store)) {
        store_files.insert(
            store.id.clone(),
            client.list_vector_store_files(&store.id).await?,
        );
    }
    Ok(Actual {
        models,
        providers,
        agents,
        toolgroups,
        vector_dbs,
        vector_stores,
        store_files,
    })
}
