//! What the runtime asks the model server and remembers: the models it
//! serves (to resolve an agent's bare model name to the id the server
//! accepts; looked up again when the server says one is unknown) and the
//! vector store of each knowledge base (found by name, as `register-assets`
//! records it). A search over a vector store that is gone is no error on
//! any server (it finds nothing), so the stores are also listed again once
//! the remembered list is older than the recheck interval: a store that
//! `register-assets` replaced is used from then on, and a knowledge base
//! left without one fails the turn with a clear error.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use asset_manager::knowledge_base_of;
use shared_clients::llamastack::{LlamaStackClient, Model, VectorStore, resolve_model};

use crate::error::TurnError;

pub(crate) struct ServerCache {
    models: RwLock<Option<Arc<Vec<Model>>>>,
    /// Knowledge base name to vector store id, and when it was listed.
    stores: RwLock<Option<(Instant, HashMap<String, String>)>>,
    /// How long a listed vector store is used without listing again.
    recheck: Duration,
    /// One refresh at a time; waiters find its result.
    refreshing: tokio::sync::Mutex<()>,
}

impl ServerCache {
    pub(crate) fn new(recheck: Duration) -> Self {
        Self {
            models: RwLock::default(),
            stores: RwLock::default(),
            recheck,
            refreshing: tokio::sync::Mutex::default(),
        }
    }

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

    async fn refresh_models(
        &self,
        client: &LlamaStackClient,
    ) -> Result<Arc<Vec<Model>>, TurnError> {
        let seen = self.cached_models();
        let _turn = self.refreshing.lock().await;
        if let Some(current) = self.cached_models()
            && seen
                .as_ref()
                .is_none_or(|seen| !Arc::ptr_eq(seen, &current))
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
        let ids = knowledge_bases
            .iter()
            .map(|name| {
                fresh
                    .get(name)
                    .cloned()
                    .ok_or_else(|| TurnError::NoVectorStore { name: name.clone() })
            })
            .collect();
        if let Ok(mut stores) = self.stores.write() {
            *stores = Some((Instant::now(), fresh));
        }
        ids
    }

    /// Forgets the remembered vector stores (one was unknown to the server).
    pub(crate) fn forget_stores(&self) {
        if let Ok(mut stores) = self.stores.write() {
            *stores = None;
        }
    }

    /// The remembered stores of `names`, while the list is fresh.
    fn cached_stores(&self, names: &[String]) -> Option<Vec<String>> {
        let stores = self.stores.read().ok()?;
        let (listed, stores) = stores.as_ref()?;
        if listed.elapsed() >= self.recheck {
            return None;
        }
        names.iter().map(|name| stores.get(name).cloned()).collect()
    }
}

/// The newest vector store `register-assets` made for each knowledge base
/// (`metadata.managed_by`, `metadata.knowledge_base`).
fn stores_by_knowledge_base(stores: &[VectorStore]) -> HashMap<String, String> {
    let mut newest: HashMap<String, (i64, String)> = HashMap::new();
    for store in stores {
        let Some(name) = knowledge_base_of(store) else {
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
