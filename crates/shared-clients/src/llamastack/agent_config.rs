//! The agent configuration LlamaStack 0.2.18 stores and answers with
//! (`POST /v1/agents` `{"agent_config": ...}`, `GET /v1/agents`).
//!
//! The server stores the whole configuration with its own defaults filled in,
//! so it round-trips; [`AgentConfig::normalized`] applies those same defaults
//! so that what we would send and what the server holds compare equal
//! exactly when they configure the same agent.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::{JsonObject, null_as_default};

/// The RAG toolgroup's tool that agents list first, with their vector DB ids.
pub const KNOWLEDGE_SEARCH_TOOLGROUP: &str = "builtin::rag/knowledge_search";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub model: String,
    pub instructions: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub toolgroups: Vec<AgentToolgroup>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_tools: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_infer_iters: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_shields: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_shields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_session_persistence: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_params: Option<SamplingParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
}

/// A toolgroup reference: `"mcp::snow"` or `{"name": ..., "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AgentToolgroup {
    Name(String),
    WithArgs { name: String, args: JsonObject },
}

impl AgentToolgroup {
    pub fn name(&self) -> &str {
        match self {
            AgentToolgroup::Name(name) | AgentToolgroup::WithArgs { name, .. } => name,
        }
    }

    /// `{"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": [...]}}`.
    pub fn knowledge_search(vector_db_ids: &[String]) -> Self {
        let mut args = JsonObject::new();
        args.insert(
            "vector_db_ids".to_owned(),
            Value::Array(vector_db_ids.iter().cloned().map(Value::String).collect()),
        );
        AgentToolgroup::WithArgs {
            name: KNOWLEDGE_SEARCH_TOOLGROUP.to_owned(),
            args,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolConfig {
    /// `auto`, `required`, `none` or a tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_prompt_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_message_behavior: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    #[serde(default)]
    pub strategy: SamplingStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SamplingStrategy {
    #[default]
    Greedy,
    TopP {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temperature: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top_p: Option<f64>,
    },
    TopK {
        top_k: u32,
    },
}

/// An agent as `GET /v1/agents` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub agent_id: String,
    pub agent_config: AgentConfig,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Agent {
    /// The configured name (`agent_config.name`), if any.
    pub fn name(&self) -> Option<&str> {
        self.agent_config.name.as_deref()
    }

    /// `created_at` as a timestamp (the server writes ISO 8601).
    pub fn created(&self) -> Option<DateTime<FixedOffset>> {
        self.created_at
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
    }
}

/// The newest of `agents` named `name` (ties: the later in the list): the
/// rule by which every component resolves an agent name to an id.
pub fn newest_named<'a>(agents: &'a [Agent], name: &str) -> Option<&'a Agent> {
    agents
        .iter()
        .enumerate()
        .filter(|(_, agent)| agent.name() == Some(name))
        .max_by_key(|(index, agent)| (agent.created(), *index))
        .map(|(_, agent)| agent)
}

impl AgentConfig {
    /// The configuration with LlamaStack 0.2.18's defaults made explicit
    /// (pydantic `AgentConfig`, `ToolConfig`, `SamplingParams`): two configs
    /// that the server would store identically normalise to equal values.
    pub fn normalized(&self) -> AgentConfig {
        let mut config = self.clone();
        let tool_config = config.tool_config.get_or_insert(ToolConfig {
            tool_choice: None,
            tool_prompt_format: None,
            system_message_behavior: None,
        });
        tool_config
            .tool_choice
            .get_or_insert_with(|| "auto".to_owned());
        tool_config
            .system_message_behavior
            .get_or_insert_with(|| "append".to_owned());
        config.max_infer_iters.get_or_insert(10);
        config.enable_session_persistence.get_or_insert(false);
        let sampling = config.sampling_params.get_or_insert(SamplingParams {
            strategy: SamplingStrategy::Greedy,
            max_tokens: None,
            repetition_penalty: None,
            stop: None,
        });
        sampling.max_tokens.get_or_insert(0);
        sampling.repetition_penalty.get_or_insert(1.0);
        if let SamplingStrategy::TopP { top_p, .. } = &mut sampling.strategy {
            top_p.get_or_insert(0.95);
        }
        config
    }

    /// Whether the server holding `self` runs the agent `other` describes.
    pub fn same_agent_as(&self, other: &AgentConfig) -> bool {
        self.normalized() == other.normalized()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn minimal() -> AgentConfig {
        serde_json::from_value(json!({"model": "m", "instructions": "be brief", "name": "a"}))
            .expect("valid")
    }

    #[test]
    fn the_servers_defaults_compare_equal_to_omitted_fields() {
        let stored: AgentConfig = serde_json::from_value(json!({
            "name": "a", "model": "m", "instructions": "be brief",
            "toolgroups": [], "client_tools": [], "input_shields": [], "output_shields": [],
            "tool_choice": null, "tool_prompt_format": null,
            "tool_config": {"tool_choice": "auto", "tool_prompt_format": null, "system_message_behavior": "append"},
            "max_infer_iters": 10, "enable_session_persistence": false, "response_format": null,
            "sampling_params": {"strategy": {"type": "greedy"}, "max_tokens": 0, "repetition_penalty": 1.0, "stop": null},
            "created_at": "2025-09-01T10:00:00Z"
        }))
        .expect("server shape");
        assert!(stored.same_agent_as(&minimal()));
    }

    #[test]
    fn a_changed_field_is_a_different_agent() {
        let mut changed = minimal();
        changed.instructions.push('!');
        assert!(!changed.same_agent_as(&minimal()));
        let mut changed = minimal();
        changed.sampling_params = Some(SamplingParams {
            strategy: SamplingStrategy::Greedy,
            max_tokens: Some(4000),
            repetition_penalty: None,
            stop: None,
        });
        assert!(!changed.same_agent_as(&minimal()));
    }

    #[test]
    fn toolgroups_serialize_as_the_contract_says() {
        let groups = vec![
            AgentToolgroup::knowledge_search(&["laptop-refresh".to_owned()]),
            AgentToolgroup::Name("mcp::snow".to_owned()),
        ];
        assert_eq!(
            serde_json::to_value(&groups).expect("serializable"),
            json!([
                {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["laptop-refresh"]}},
                "mcp::snow"
            ])
        );
    }

    #[test]
    fn the_newest_agent_of_a_name_wins() {
        let agent = |id: &str, name: &str, created: &str| Agent {
            agent_id: id.to_owned(),
            agent_config: AgentConfig {
                name: Some(name.to_owned()),
                ..minimal()
            },
            created_at: Some(created.to_owned()),
        };
        let agents = vec![
            agent("old", "router", "2025-09-01T10:00:00.500000Z"),
            agent("new", "router", "2025-09-01T10:00:01Z"),
            agent("other", "laptop", "2025-09-02T00:00:00Z"),
        ];
        assert_eq!(
            newest_named(&agents, "router").map(|a| a.agent_id.as_str()),
            Some("new")
        );
        assert!(newest_named(&agents, "missing").is_none());
    }
}
