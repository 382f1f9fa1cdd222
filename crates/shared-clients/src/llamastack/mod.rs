//! Typed async client for the LlamaStack 0.2.18 API subset the project uses
//! (`docs/llamastack.md`): models, providers, vector DBs and the RAG tool, toolgroups,
//! agents, sessions and streamed turns, OpenAI-compatible files and vector
//! stores. Retries connection errors and 5xx answers with backoff, never a
//! 4xx; errors name the method, path, status and the start of the body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shared_clients::llamastack::LlamaStackError> {
//! use shared_clients::llamastack::LlamaStackClient;
//! let client = LlamaStackClient::from_env()?;
//! let agent_id = client.find_agent_id("routing-agent").await?.expect("registered");
//! let session_id = client.create_session(&agent_id, "user-42").await?;
//! let answer = client.run_turn(&agent_id, &session_id, "I need a new laptop").await?;
//! println!("{}", answer.content);
//! # Ok(()) }
//! ```

mod agent_config;
mod agents;
mod client;
mod config;
mod error;
mod openai;
mod resources;
mod types;

pub use agent_config::{
    Agent, AgentConfig, AgentToolgroup, KNOWLEDGE_SEARCH_TOOLGROUP, SamplingParams,
    SamplingStrategy, ToolConfig, newest_named,
};
pub use agents::{PROVIDER_DATA_HEADER, content_text};
pub use client::LlamaStackClient;
pub use config::{
    DEFAULT_PORT, DEFAULT_RETRIES, DEFAULT_TIMEOUT, LlamaStackConfig, duration_from_secs,
};
pub use error::LlamaStackError;
pub use types::{
    AttachFile, CreateVectorStore, FileObject, JsonObject, MCP_PROVIDER_ID, McpEndpoint, Model,
    Provider, RagDocument, RagInsert, RegisterToolgroup, RegisterVectorDb, Toolgroup, TurnAnswer,
    UpdateVectorStore, VectorDb, VectorStore, VectorStoreFile,
};
