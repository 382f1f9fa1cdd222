//! What the runtime asks the model server once and remembers: the models
//! it serves (to resolve an agent's bare model name to the id the server
//! accepts) and the vector store of each knowledge base (found by name,
//! as `register-assets` records it). Both are looked up again when the
//! server says a remembered one is unknown.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use asset_manager::MANAGED_BY;
use shared_clients::llamastack::{LlamaStackClient, Model, VectorStore, resolve_model};

use crate::error::TurnError;

#[derive(Default)]
pub(crate) struct ServerCache {
    models: RwLock<Option<Arc<Vec<Model>>>>,
    /// Knowledge base name to vector store id.
    stores: RwLock<HashMap<String, String>>,
    /// One refresh at a time; waiters find its result.
    refreshing: tokio::sync::Mutex<()>,
}

impl ServerCache {
    /// The model id to send for `wanted` (empty: the first LLM listed).
    /// An id not in the remembered list is looked up once more.
    pub(crate) async fn model_id(
        &self,
        client: &LlamaStackClient,
        agent: &str,
        wanted: &str,
    ) -> Result<String, TurnError> {
        if let Some(models) = self.cached_models()
            && let Ok(id) = resolve_model(&models, wanted)
        {
            return Ok(id);
        }
        let models = self.refresh_models(client).await?;
        resolve_model(&models, wanted).map_err(|error| TurnError::Model {
            agent: agent.to_owned(),
            message: error.to_string(),
        })
    }

    /// Drops the remembered models (the server refused one of them).
    pub(crate) fn forget_models(&self) {
        if let Ok(mut models) = self.models.write() {
            *models = None;
        }
    }

    fn cached_models(&self) -> Option<Arc<Vec<Model>>> {
        self.models.read().ok()?.clone()
    }

    async fn refresh_models(&self, client: &LlamaStackClient) -> Result<Arc<Vec<Model>>, TurnError> {
        let seen = self.cached_models();
        let _turn = self.refreshing.lock().await;
        if let Some(current) = self.cached_models()
            && seen.as_ref().is_none_or(|seen| !Arc::ptr_eq(seen, &current))
        {
            return Ok(current);
        }
        let models = Arc::new(client.list_models().await?);
        if let Ok(mut slot) = self.models.write() {
            *slot = Some(models.clone());
        }
        Ok(models)
    }

    /// The vector store ids of `knowledge_bases`, in order.
    pub(crate) async fn vector_store_ids(
        &self,
        client: &LlamaStackClient,
        knowledge_bases: &[String],
    ) -> Result<Vec<String>, TurnError> {
        if knowledge_bases.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(ids) = self.cached_stores(knowledge_bases) {
            return Ok(ids);
        }
        let _turn = self.refreshing.lock().await;
        if let Some(ids) = self.cached_stores(knowledge_bases) {
            return Ok(ids);
        }
        let fresh = stores_by_knowledge_base(&client.list_vector_stores().await?);
        if let Ok(mut stores) = self.stores.write() {
            *stores = fresh;
        }
        knowledge_bases
            .iter()
            .map(|name| {
                self.cached_store(name)
                    .ok_or_else(|| TurnError::NoVectorStore { name: name.clone() })
            })
            .collect()
    }

    /// Forgets the remembered vector stores (one was unknown to the server).
    pub(crate) fn forget_stores(&self) {
        if let Ok(mut stores) = self.stores.write() {
            stores.clear();
        }
    }

    fn cached_store(&self, name: &str) -> Option<String> {
        self.stores.read().ok()?.get(name).cloned()
    }

    fn cached_stores(&self, names: &[String]) -> Option<Vec<String>> {
        names.iter().map(|name| self.cached_store(name)).collect()
    }
}

/// The newest vector store `register-assets` made for each knowledge base
/// (`metadata.managed_by`, `metadata.knowledge_base`).
fn stores_by_knowledge_base(stores: &[VectorStore]) -> HashMap<String, String> {
    let mut newest: HashMap<String, (i64, String)> = HashMap::new();
    for store in stores {
        let text = |key: &str| store.metadata.get(key).and_then(|value| value.as_str());
        if text("managed_by") != Some(MANAGED_BY) {
            continue;
        }
        let Some(name) = text("knowledge_base") else {
            continue;
        };
        let entry = newest
            .entry(name.to_owned())
            .or_insert((store.created_at, store.id.clone()));
        if store.created_at > entry.0 {
            *entry = (store.created_at, store.id.clone());
        }
    }
    newest
        .into_iter()
        .map(|(name, (_, id))| (name, id))
        .collect()
}
