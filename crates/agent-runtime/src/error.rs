//! Why a turn could not be answered. Every message names what an operator
//! can act on (the agent, the model, the MCP server, the knowledge base)
//! and never the body of the model server's answer.

use shared_clients::llamastack::LlamaStackError;

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("no agent named '{0}' in the asset directory")]
    UnknownAgent(String),
    #[error("agent '{agent}': {message}")]
    Model { agent: String, message: String },
    #[error(
        "knowledge base '{name}' has no vector store on the model server (register-assets creates it)"
    )]
    NoVectorStore { name: String },
    #[error("MCP server '{server}' of agent '{agent}' is unreachable")]
    McpUnreachable { agent: String, server: String },
    #[error(
        "the model server failed while agent '{agent}' called its MCP servers ({servers}): one of them may be unreachable"
    )]
    McpOrServer { agent: String, servers: String },
    #[error("the model server: {0}")]
    Server(#[from] LlamaStackError),
}

impl TurnError {
    /// A short, stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            TurnError::UnknownAgent(_) => "unknown_agent",
            TurnError::Model { .. } => "model",
            TurnError::NoVectorStore { .. } => "no_vector_store",
            TurnError::McpUnreachable { .. } | TurnError::McpOrServer { .. } => "mcp_unreachable",
            TurnError::Server(_) => "server",
        }
    }
}
