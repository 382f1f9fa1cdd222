//! What every MCP server of the workspace does the same way:
//!
//! - settings from the environment (`LISTEN_ADDR`, `MCP_AUTH_TOKEN`,
//!   `MCP_ALLOW_ANY_EMPLOYEE`, ...), errors naming the variable;
//! - the MCP endpoint (rmcp's streamable HTTP transport, stateless, JSON
//!   answers) at `/mcp` and at `/sse`, so toolgroups written for the Python
//!   servers (uris ending in `/sse`) reach it unchanged: LlamaStack 0.2.18
//!   tries streamable HTTP first at whatever uri it has;
//! - `/health`, the bearer token check, JSON-RPC errors for bodies that are
//!   not JSON-RPC, graceful shutdown;
//! - the caller's identity (`AUTHORITATIVE_USER_ID`) and the rule deciding
//!   whom a tool acts for;
//! - tool arguments: typed, with schemas LlamaStack 0.2.18 can read, and
//!   every bad argument answered as a tool error.
//!
//! A server supplies a [`ToolSet`]; [`serve`] does the rest.

mod args;
mod auth;
mod cli;
mod handler;
mod identity;
mod jsonrpc;
mod server;
mod settings;
mod tools;

pub use args::{OptionalText, RequiredText, parse_arguments};
pub use cli::main;
pub use handler::McpHandler;
pub use identity::{Caller, IdentityPolicy, Subject, USER_ID_HEADER};
pub use server::{Health, router, serve, shutdown_signal};
pub use settings::{ServerSettings, both};
pub use tools::{ToolCall, ToolError, ToolSet, tool};

/// The log filter without `RUST_LOG`/`LOG_LEVEL`: rmcp logs every
/// (stateless) MCP request's session start and end at info.
pub const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn";

/// rmcp's types a [`ToolSet`] names (so servers need not depend on rmcp).
pub use rmcp::model::{JsonObject, Tool};
