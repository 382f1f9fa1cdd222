//! The asset directory as loaded: what the files say, before the server's
//! facts (first LLM, embedding model) complete it. The service runs the
//! agents from this model; `register-assets` registers only the knowledge
//! bases (ARCHITECTURE.md, "Asset reconciliation").

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use shared_clients::llamastack::SamplingParams;

/// An asset directory: `config.yaml`, `agents/`, `prompts/`, `toolgroups/`,
/// `knowledge_bases/`. Every list is sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Assets {
    /// `config.yaml` `timeout` (seconds): the LlamaStack request timeout.
    pub timeout: Option<Duration>,
    pub agents: Vec<AgentAsset>,
    /// `prompts/*.txt` by file name.
    pub prompts: BTreeMap<String, String>,
    /// `toolgroups/*.yaml`: the MCP servers the agents may use.
    pub toolgroups: Vec<ToolgroupAsset>,
    pub knowledge_bases: Vec<KnowledgeBase>,
}

/// `agents/*.yaml`.
///
/// The YAML also accepts `input_shields`, `output_shields` and
/// `enable_session_persistence`, so that the files of earlier releases load
/// unchanged; they are ignored: the Responses API runs no shields, and a
/// conversation is kept by chaining responses, not in a server session.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentAsset {
    /// The YAML file, relative to the asset directory.
    pub file: PathBuf,
    pub name: String,
    /// What the agent does, for humans and for the tool that hands a
    /// conversation over to it ([`AgentAsset::handoff_tool`]).
    pub description: Option<String>,
    /// `None` (absent or empty): the first LLM the server lists.
    pub model: Option<String>,
    /// The YAML `instructions`, the last resort of prompt resolution.
    pub instructions: Option<String>,
    /// `auto`, `required` or `none`.
    pub tool_choice: Option<String>,
    pub max_infer_iters: Option<u32>,
    pub sampling_params: Option<SamplingParams>,
    /// MCP server names (`toolgroups/*.yaml` `name`).
    pub mcp_servers: Vec<String>,
    /// Knowledge base (directory) names.
    pub knowledge_bases: Vec<String>,
    /// Agents this one may hand the conversation over to (names of agents
    /// of the directory, never itself), in the YAML's order.
    pub handoffs: Vec<String>,
}

/// `toolgroups/*.yaml`: an MCP server (a name and its URI). The directory
/// keeps the Agents API's word "toolgroup" so that earlier directories load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolgroupAsset {
    pub file: PathBuf,
    pub name: String,
    pub uri: String,
}

/// What a `toolgroups/*.yaml` file describes.
pub type McpServerAsset = ToolgroupAsset;

/// `knowledge_bases/<name>/**/*.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeBase {
    pub name: String,
    /// Sorted by relative path.
    pub documents: Vec<Document>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Path below the knowledge base directory, with `/` separators.
    pub relative_path: String,
    pub content: String,
}

/// Prefix of the function tool that hands a conversation over to an agent:
/// `transfer_to_<agent name>`.
pub const HANDOFF_TOOL_PREFIX: &str = "transfer_to_";

/// Longest function tool name the OpenAI-compatible APIs accept.
pub const MAX_TOOL_NAME_CHARS: usize = 64;

/// The function tool an agent calls to hand the conversation over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffTool {
    /// `transfer_to_<agent>`.
    pub name: String,
    /// Built from the target agent's `description`.
    pub description: String,
    /// The agent it hands over to.
    pub target: String,
}

/// The name of the tool that hands a conversation over to `agent`.
pub fn handoff_tool_name(agent: &str) -> String {
    format!("{HANDOFF_TOOL_PREFIX}{agent}")
}

/// Whether `name` is a function tool name the servers accept: letters,
/// digits, `_` and `-`, at most [`MAX_TOOL_NAME_CHARS`].
pub fn is_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl AgentAsset {
    /// The tool another agent calls to hand the conversation over to this one.
    pub fn handoff_tool(&self) -> HandoffTool {
        let description = match self.description.as_deref().map(str::trim) {
            Some(what) if !what.is_empty() => format!(
                "Hand the conversation over to the {} agent. {what}",
                self.name
            ),
            _ => format!("Hand the conversation over to the {} agent.", self.name),
        };
        HandoffTool {
            name: handoff_tool_name(&self.name),
            description,
            target: self.name.clone(),
        }
    }
}

impl Document {
    /// `<knowledge base>/<relative path>`: unique across knowledge bases and
    /// the same on every machine.
    pub fn document_id(&self, knowledge_base: &str) -> String {
        format!("{knowledge_base}/{}", self.relative_path)
    }

    /// The file name (last path component).
    pub fn file_name(&self) -> &str {
        self.relative_path
            .rsplit('/')
            .next()
            .unwrap_or(&self.relative_path)
    }
}

impl Assets {
    /// The agent named `name`.
    pub fn agent(&self, name: &str) -> Option<&AgentAsset> {
        self.agents.iter().find(|agent| agent.name == name)
    }

    /// The MCP server named `name` (`toolgroups/*.yaml`).
    pub fn mcp_server(&self, name: &str) -> Option<&McpServerAsset> {
        self.toolgroups.iter().find(|server| server.name == name)
    }

    /// The tools `agent` is offered to hand the conversation over, one per
    /// entry of its `handoffs` (the loader made sure each names an agent).
    pub fn handoff_tools(&self, agent: &AgentAsset) -> Vec<HandoffTool> {
        agent
            .handoffs
            .iter()
            .filter_map(|target| self.agent(target))
            .map(AgentAsset::handoff_tool)
            .collect()
    }

    /// The prompt for `agent` running on `model`: `prompts/<agent>-<model
    /// id after its last '/'>.txt`, else `prompts/<agent>.txt`, else the
    /// YAML `instructions`. Returns the text and where it came from.
    pub fn resolve_prompt(&self, agent: &AgentAsset, model: &str) -> Option<(String, String)> {
        let suffix = model.rsplit('/').next().unwrap_or(model);
        for file in [
            format!("{}-{suffix}.txt", agent.name),
            format!("{}.txt", agent.name),
        ] {
            if let Some(text) = self.prompts.get(&file) {
                return Some((text.clone(), format!("prompts/{file}")));
            }
        }
        agent
            .instructions
            .clone()
            .map(|text| (text, format!("{} instructions", agent.file.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, description: Option<&str>) -> AgentAsset {
        AgentAsset {
            file: PathBuf::from(format!("agents/{name}.yaml")),
            name: name.into(),
            description: description.map(str::to_owned),
            model: None,
            instructions: None,
            tool_choice: None,
            max_infer_iters: None,
            sampling_params: None,
            mcp_servers: Vec::new(),
            knowledge_bases: Vec::new(),
            handoffs: Vec::new(),
        }
    }

    #[test]
    fn the_handoff_tool_is_named_after_its_target_and_described_by_it() {
        let tool = agent("laptop-refresh", Some("Refreshes laptops.")).handoff_tool();
        assert_eq!(tool.name, "transfer_to_laptop-refresh");
        assert_eq!(tool.target, "laptop-refresh");
        assert_eq!(
            tool.description,
            "Hand the conversation over to the laptop-refresh agent. Refreshes laptops."
        );
    }

    #[test]
    fn an_agent_without_description_still_gets_a_tool_description() {
        for description in [None, Some("  ")] {
            let tool = agent("routing-agent", description).handoff_tool();
            assert_eq!(
                tool.description,
                "Hand the conversation over to the routing-agent agent."
            );
        }
    }

    #[test]
    fn tool_names_are_letters_digits_underscores_and_dashes_up_to_64() {
        assert!(is_tool_name("transfer_to_laptop-refresh"));
        assert!(is_tool_name(&"a".repeat(64)));
        assert!(!is_tool_name(&"a".repeat(65)));
        assert!(!is_tool_name("transfer_to_it desk"));
        assert!(!is_tool_name("transfer_to_café"));
        assert!(!is_tool_name(""));
    }
}
