//! Agent names to LlamaStack agent ids. `register-assets` may replace an
//! agent (new id, same name) at any time: ids are cached, and a cached id
//! the server no longer knows is dropped and resolved again.

use std::collections::HashMap;
use std::sync::RwLock;

use shared_clients::llamastack::{LlamaStackClient, LlamaStackError, newest_named};

pub struct AgentDirectory {
    llama: LlamaStackClient,
    ids: RwLock<HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no agent named '{0}' is registered in LlamaStack")]
    Unknown(String),
    #[error(transparent)]
    LlamaStack(#[from] LlamaStackError),
}

impl AgentDirectory {
    pub fn new(llama: LlamaStackClient) -> Self {
        Self {
            llama,
            ids: RwLock::new(HashMap::new()),
        }
    }

    /// The id of the newest agent named `name`.
    pub async fn resolve(&self, name: &str) -> Result<String, ResolveError> {
        if let Some(id) = self.cached(name) {
            return Ok(id);
        }
        self.refresh().await?;
        self.cached(name)
            .ok_or_else(|| ResolveError::Unknown(name.to_owned()))
    }

    /// Whether an agent of that name exists (refreshing once if unknown).
    pub async fn exists(&self, name: &str) -> Result<bool, LlamaStackError> {
        match self.resolve(name).await {
            Ok(_) => Ok(true),
            Err(ResolveError::Unknown(_)) => Ok(false),
            Err(ResolveError::LlamaStack(error)) => Err(error),
        }
    }

    /// Forgets a cached id that turned out to be stale.
    pub fn forget(&self, name: &str) {
        if let Ok(mut ids) = self.ids.write() {
            ids.remove(name);
        }
    }

    fn cached(&self, name: &str) -> Option<String> {
        self.ids.read().ok()?.get(name).cloned()
    }

    async fn refresh(&self) -> Result<(), LlamaStackError> {
        let agents = self.llama.list_agents().await?;
        let mut names: Vec<&str> = agents.iter().filter_map(|agent| agent.name()).collect();
        names.sort_unstable();
        names.dedup();
        let fresh: HashMap<String, String> = names
            .into_iter()
            .filter_map(|name| {
                newest_named(&agents, name).map(|agent| (name.to_owned(), agent.agent_id.clone()))
            })
            .collect();
        if let Ok(mut ids) = self.ids.write() {
            *ids = fresh;
        }
        Ok(())
    }
}
