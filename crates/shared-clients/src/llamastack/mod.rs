//! Typed async client for what the project calls on LlamaStack 0.2.18,
//! 0.7.3 and OGX (`docs/llamastack.md`): the Responses API (streamed, MCP
//! and file-search tools, chained by `previous_response_id`), files and
//! vector stores, models, and, for pruning what the previous release
//! registered, the legacy agents, toolgroups and vector DBs of 0.2.18.
//! The base path of the OpenAI-compatible API is found by asking the
//! server ([`ApiBase`]). Retries connection errors and 5xx answers with
//! backoff, never a 4xx, and a response only when nothing was received;
//! errors name the method, path, status and the start of the body, never a
//! URL or a header value.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shared_clients::llamastack::LlamaStackError> {
//! use shared_clients::llamastack::{
//!     CreateResponse, InputItem, LlamaStackClient, StreamEvent, resolve_model,
//! };
//! let client = LlamaStackClient::from_env()?;
//! let model = resolve_model(&client.list_models().await?, "llama-3-3-70b")?;
//! let mut request = CreateResponse::new(model, vec![InputItem::user("I need a new laptop")]);
//! request.instructions = Some("You are the routing-agent.".into());
//! let response = client
//!     .create_response(&request, |event| {
//!         if let StreamEvent::TextDelta(text) = event {
//!             print!("{text}");
//!         }
//!     })
//!     .await?;
//! println!("\n{} (next turn: previous_response_id = {})", response.output_text(), response.id);
//! # Ok(()) }
//! ```

mod base;
mod client;
mod config;
mod error;
mod files;
mod legacy;
mod models;
pub mod responses;
mod sampling;
mod types;

pub use base::{ApiBase, CURRENT_BASE, LEGACY_BASE};
pub use client::LlamaStackClient;
pub use config::{
    DEFAULT_PORT, DEFAULT_RETRIES, DEFAULT_TIMEOUT, LlamaStackConfig, duration_from_secs,
};
pub use error::LlamaStackError;
pub use legacy::{LegacyAgent, MCP_PROVIDER_ID, McpEndpoint, Toolgroup, VectorDb};
pub use models::{Model, ModelResolutionError, ModelType, resolve_model};
pub use responses::{
    ContentPart, CreateResponse, FileSearchCall, FunctionCall, InputItem, McpCall, OutputItem,
    ResponseObject, ResponseStatus, ResponsesFailure, Role, StreamEvent, Tool, ToolCall, Usage,
    content_text,
};
pub use sampling::{SamplingParams, SamplingStrategy};
pub use types::{
    AttachFile, CreateVectorStore, FileObject, JsonObject, Provider, UpdateVectorStore,
    VectorStore, VectorStoreFile,
};
