//! Legacy, LlamaStack 0.2.18 only: the agents, toolgroups and vector DBs
//! the previous release registered, listed and deleted so that
//! `register-assets --prune` can remove them. 0.7.3 and OGX have none of
//! these routes: their listings answer 404, read here as empty.

use serde::{Deserialize, Deserializer, Serialize};

use super::client::{ApiPath, LlamaStackClient};
use super::error::LlamaStackError;
use super::types::{DataList, JsonObject};

/// The provider of MCP toolgroups (`mcp::<name>`).
pub const MCP_PROVIDER_ID: &str = "model-context-protocol";

/// An agent of the Agents API (removed in LlamaStack 0.4.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegacyAgent {
    pub agent_id: String,
    /// `agent_config.name`.
    pub name: Option<String>,
    pub created_at: Option<String>,
}

impl<'de> Deserialize<'de> for LegacyAgent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            name: Option<String>,
        }
        #[derive(Deserialize)]
        struct Raw {
            agent_id: String,
            #[serde(default)]
            agent_config: Option<Config>,
            #[serde(default)]
            created_at: Option<String>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Self {
            agent_id: raw.agent_id,
            name: raw.agent_config.and_then(|config| config.name),
            created_at: raw.created_at,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpEndpoint {
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toolgroup {
    pub identifier: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub mcp_endpoint: Option<McpEndpoint>,
    #[serde(default)]
    pub args: Option<JsonObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorDb {
    pub identifier: String,
    #[serde(default)]
    pub provider_id: String,
    #[serde(default)]
    pub provider_resource_id: Option<String>,
    #[serde(default)]
    pub embedding_model: String,
    #[serde(default)]
    pub embedding_dimension: u64,
    #[serde(default)]
    pub vector_db_name: Option<String>,
}

impl LlamaStackClient {
    /// Legacy, 0.2.18 only: `GET /v1/agents`; empty where the route is gone.
    pub async fn list_agents(&self) -> Result<Vec<LegacyAgent>, LlamaStackError> {
        self.legacy_list("/v1/agents").await
    }

    /// Legacy, 0.2.18 only: `DELETE /v1/agents/{id}` (its sessions go with it).
    pub async fn delete_agent(&self, agent_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/agents").id(agent_id)).await
    }

    /// Legacy, 0.2.18 only: `GET /v1/toolgroups`; empty where the route is gone.
    pub async fn list_toolgroups(&self) -> Result<Vec<Toolgroup>, LlamaStackError> {
        self.legacy_list("/v1/toolgroups").await
    }

    /// Legacy, 0.2.18 only: `DELETE /v1/toolgroups/{id}`.
    pub async fn unregister_toolgroup(&self, toolgroup_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/toolgroups").id(toolgroup_id))
            .await
    }

    /// Legacy, 0.2.18 only: `GET /v1/vector-dbs`; empty where the route is gone.
    pub async fn list_vector_dbs(&self) -> Result<Vec<VectorDb>, LlamaStackError> {
        self.legacy_list("/v1/vector-dbs").await
    }

    /// Legacy, 0.2.18 only: `DELETE /v1/vector-dbs/{id}`.
    pub async fn unregister_vector_db(&self, vector_db_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/vector-dbs").id(vector_db_id))
            .await
    }

    async fn legacy_list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, LlamaStackError> {
        match self.get_json::<DataList<T>>(path, &[]).await {
            Ok(listed) => Ok(listed.into_data()),
            Err(error) if error.is_not_found() => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }
}
