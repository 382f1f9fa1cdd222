//! The asset directory as loaded: what the files say, before
//! the server's facts (first LLM, embedding model) complete it.

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
    pub toolgroups: Vec<ToolgroupAsset>,
    pub knowledge_bases: Vec<KnowledgeBase>,
}

/// `agents/*.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentAsset {
    /// The YAML file, relative to the asset directory.
    pub file: PathBuf,
    pub name: String,
    /// `None` (absent or empty): the first LLM the server lists.
    pub model: Option<String>,
    /// The YAML `instructions`, the last resort of prompt resolution.
    pub instructions: Option<String>,
    pub tool_choice: Option<String>,
    pub input_shields: Vec<String>,
    pub output_shields: Vec<String>,
    pub max_infer_iters: Option<u32>,
    pub enable_session_persistence: Option<bool>,
    pub sampling_params: Option<SamplingParams>,
    /// Toolgroup names (`toolgroups/*.yaml` `name`), registered as `mcp::<name>`.
    pub mcp_servers: Vec<String>,
    /// Knowledge base (directory) names.
    pub knowledge_bases: Vec<String>,
}

/// `toolgroups/*.yaml`: an MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolgroupAsset {
    pub file: PathBuf,
    pub name: String,
    pub uri: String,
}

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
