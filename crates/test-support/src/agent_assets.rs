//! Asset directories for tests of the service: agents, prompts, MCP
//! servers and knowledge bases written to a temporary directory in the
//! format `register-assets` and the service read (`assets/config` is the
//! project's own).

use std::fs;
use std::path::{Path, PathBuf};

/// The instructions of a test agent: the sentence the fake LlamaStack
/// picks an agent's scripted replies by.
pub fn instructions_for(agent: &str) -> String {
    format!("You are the {agent}.")
}

/// One agent of a test directory.
#[derive(Debug, Clone, Default)]
pub struct TestAgent {
    pub name: String,
    pub description: String,
    pub model: String,
    pub instructions: String,
    pub handoffs: Vec<String>,
    pub mcp_servers: Vec<String>,
    pub knowledge_bases: Vec<String>,
}

impl TestAgent {
    /// An agent whose instructions are [`instructions_for`] its name.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: format!("The {name} of the tests."),
            instructions: instructions_for(name),
            ..Self::default()
        }
    }

    pub fn hands_off_to(mut self, agents: &[&str]) -> Self {
        self.handoffs = agents.iter().map(|agent| (*agent).to_owned()).collect();
        self
    }

    pub fn with_mcp_servers(mut self, servers: &[&str]) -> Self {
        self.mcp_servers = servers.iter().map(|server| (*server).to_owned()).collect();
        self
    }

    pub fn with_knowledge_bases(mut self, bases: &[&str]) -> Self {
        self.knowledge_bases = bases.iter().map(|base| (*base).to_owned()).collect();
        self
    }

    pub fn with_model(mut self, model: &str) -> Self {
        self.model = model.to_owned();
        self
    }

    fn yaml(&self) -> String {
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| quote(item)).collect();
            format!("[{}]", quoted.join(", "))
        };
        format!(
            "name: {}\ndescription: {}\nmodel: {}\ninstructions: {}\nhandoffs: {}\n\
             mcp_servers: {}\nknowledge_bases: {}\n",
            quote(&self.name),
            quote(&self.description),
            quote(&self.model),
            quote(&self.instructions),
            list(&self.handoffs),
            list(&self.mcp_servers),
            list(&self.knowledge_bases),
        )
    }
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A temporary asset directory, removed when dropped.
pub struct TestAssets {
    dir: tempfile::TempDir,
}

impl TestAssets {
    /// An empty directory.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary asset directory"),
        }
    }

    /// The routing agent and the laptop-refresh agent of the service
    /// tests: the first may hand over to the second, which may hand back.
    pub fn routing_and_laptop() -> Self {
        Self::empty()
            .agent(&TestAgent::new("routing-agent").hands_off_to(&["laptop-refresh"]))
            .agent(&TestAgent::new("laptop-refresh").hands_off_to(&["routing-agent"]))
    }

    /// Writes `agents/<name>.yaml`.
    pub fn agent(self, agent: &TestAgent) -> Self {
        self.write_agent(agent);
        self
    }

    /// Writes `toolgroups/<name>.yaml`: an MCP server.
    pub fn mcp_server(self, name: &str, uri: &str) -> Self {
        self.write_mcp_server(name, uri);
        self
    }

    /// Writes (or replaces) `agents/<name>.yaml`.
    pub fn write_agent(&self, agent: &TestAgent) {
        self.write(&format!("agents/{}.yaml", agent.name), &agent.yaml());
    }

    /// Writes (or replaces) `toolgroups/<name>.yaml`.
    pub fn write_mcp_server(&self, name: &str, uri: &str) {
        self.write(
            &format!("toolgroups/{name}.yaml"),
            &format!("name: {}\nuri: {}\n", quote(name), quote(uri)),
        );
    }

    /// Writes `knowledge_bases/<base>/<file>`.
    pub fn document(self, base: &str, file: &str, text: &str) -> Self {
        self.write(&format!("knowledge_bases/{base}/{file}"), text);
        self
    }

    /// Writes `prompts/<file>`.
    pub fn prompt(self, file: &str, text: &str) -> Self {
        self.write(&format!("prompts/{file}"), text);
        self
    }

    /// Writes `relative` (creating its directories), replacing it.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("asset directory");
        }
        // Written aside and renamed, as an editor or Kubernetes does: a
        // reader never sees half a file.
        let staged = path.with_extension("staged~");
        fs::write(&staged, text).expect("write asset");
        fs::rename(&staged, &path).expect("rename asset");
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_buf(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}
