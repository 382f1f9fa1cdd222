//! Agent names to LlamaStack agent ids. `register-assets` may replace an
//! agent (new id, same name) at any time: ids are cached, and a cached id
//! the server no longer knows is dropped and resolved again. Concurrent
//! misses share one refresh (one `GET /v1/agents`).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use shared_clients::llamastack::{LlamaStackClient, LlamaStackError, newest_named};

/// An agent as turns need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAgent {
    pub id: String,
    /// The endpoints of its MCP toolgroups: the service sends the caller's
    /// identity to each (LlamaStack matches provider data headers to a
    /// toolgroup by its uri).
    pub mcp_uris: Vec<String>,
}

pub struct AgentDirectory {
    llama: LlamaStackClient,
    ids: RwLock<HashMap<String, ResolvedAgent>>,
    /// Held while the list is fetched; waiters then find it fresh.
    refreshing: tokio::sync::Mutex<()>,
    /// Completed refreshes, so a waiter can tell that one happened.
    refreshes: AtomicU64,
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
            refreshing: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
        }
    }

    /// The newest agent named `name`.
    pub async fn resolve(&self, name: &str) -> Result<ResolvedAgent, ResolveError> {
        if let Some(id) = self.cached(name) {
            return Ok(id);
        }
        let seen = self.refreshes.load(Ordering::Acquire);
        let _turn = self.refreshing.lock().await;
        // Another caller refreshed while this one waited: use its list.
        if self.refreshes.load(Ordering::Acquire) == seen {
            self.refresh().await?;
            self.refreshes.fetch_add(1, Ordering::Release);
        }
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

    fn cached(&self, name: &str) -> Option<ResolvedAgent> {
        self.ids.read().ok()?.get(name).cloned()
    }

    async fn refresh(&self) -> Result<(), LlamaStackError> {
        let agents = self.llama.list_agents().await?;
        let toolgroups = self.llama.list_toolgroups().await?;
        let uri_of = |toolgroup: &str| {
            toolgroups
                .iter()
                .find(|known| known.identifier == toolgroup)
                .and_then(|known| known.mcp_endpoint.as_ref())
                .map(|endpoint| endpoint.uri.clone())
        };
        let mut names: Vec<&str> = agents.iter().filter_map(|agent| agent.name()).collect();
        names.sort_unstable();
        names.dedup();
        let fresh: HashMap<String, ResolvedAgent> = names
            .into_iter()
            .filter_map(|name| {
                let agent = newest_named(&agents, name)?;
                let mcp_uris = agent
                    .agent_config
                    .toolgroups
                    .iter()
                    .filter_map(|toolgroup| uri_of(toolgroup.name()))
                    .collect();
                Some((
                    name.to_owned(),
                    ResolvedAgent {
                        id: agent.agent_id.clone(),
                        mcp_uris,
                    },
                ))
            })
            .collect();
        if let Ok(mut ids) = self.ids.write() {
            *ids = fresh;
        }
        Ok(())
    }
}
