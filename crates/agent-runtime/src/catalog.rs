//! The agents of one asset directory, as the runtime runs them.

use std::path::{Path, PathBuf};

use asset_manager::{AgentAsset, AssetError, Assets, HANDOFF_TOOL_PREFIX, McpServerAsset};

/// A checked asset directory: every reference resolves and every hand-off
/// names another agent by a valid tool name (the loader's checks), and the
/// routing agent exists.
#[derive(Debug, Clone)]
pub struct Catalog {
    assets: Assets,
    routing_agent: String,
    /// Where it was loaded from, for messages.
    source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Asset(#[from] AssetError),
    #[error(
        "ROUTING_AGENT: no agent named '{name}' in {} (agents: {known})",
        dir.display()
    )]
    NoRoutingAgent {
        name: String,
        dir: PathBuf,
        known: String,
    },
}

impl app_support::HasExitStatus for CatalogError {
    fn exit_status(&self) -> app_support::ExitStatus {
        app_support::ExitStatus::Config
    }
}

impl Catalog {
    /// Loads and checks the asset directory at `dir`.
    pub fn load(dir: &Path, routing_agent: &str) -> Result<Self, CatalogError> {
        let assets = asset_manager::load(dir)?;
        Self::new(assets, routing_agent, dir)
    }

    /// Checks `assets` (loaded from `source`) for the runtime.
    pub fn new(assets: Assets, routing_agent: &str, source: &Path) -> Result<Self, CatalogError> {
        if !assets
            .agents
            .iter()
            .any(|agent| agent.name == routing_agent)
        {
            return Err(CatalogError::NoRoutingAgent {
                name: routing_agent.to_owned(),
                dir: source.to_path_buf(),
                known: assets
                    .agents
                    .iter()
                    .map(|agent| agent.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(Self {
            assets,
            routing_agent: routing_agent.to_owned(),
            source: source.to_path_buf(),
        })
    }

    /// No agents: for a process that runs none (a dispatcher).
    pub fn empty(routing_agent: &str) -> Self {
        Self {
            assets: Assets {
                timeout: None,
                agents: Vec::new(),
                prompts: Default::default(),
                toolgroups: Vec::new(),
                knowledge_bases: Vec::new(),
            },
            routing_agent: routing_agent.to_owned(),
            source: PathBuf::new(),
        }
    }

    pub fn routing_agent(&self) -> &str {
        &self.routing_agent
    }

    pub fn agent(&self, name: &str) -> Option<&AgentAsset> {
        self.assets.agent(name)
    }

    pub fn agents(&self) -> impl Iterator<Item = &AgentAsset> {
        self.assets.agents.iter()
    }

    /// The MCP server (`toolgroups/*.yaml`) named `name`.
    pub fn mcp_server(&self, name: &str) -> Option<&McpServerAsset> {
        self.assets.mcp_server(name)
    }

    /// The prompt of `agent` on `model` (`prompts/<agent>-<model>.txt`,
    /// `prompts/<agent>.txt`, then the YAML `instructions`).
    pub fn instructions(&self, agent: &AgentAsset, model: &str) -> String {
        self.assets
            .resolve_prompt(agent, model)
            .map(|(text, _source)| text)
            .unwrap_or_default()
    }

    pub fn assets(&self) -> &Assets {
        &self.assets
    }

    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The agent a `transfer_to_<agent>` call of `from` names, when `from`
    /// may hand over to it.
    pub fn handoff_target<'a>(&self, from: &'a AgentAsset, function: &str) -> Option<&'a str> {
        let target = function.strip_prefix(HANDOFF_TOOL_PREFIX)?;
        from.handoffs
            .iter()
            .find(|name| name.as_str() == target)
            .map(String::as_str)
    }
}
