//! The agents of the self-service agent, run by the service itself on the
//! OpenAI-compatible Responses API (`docs/llamastack.md`).
//!
//! - [`Catalog`]: the agents of the asset directory (`asset_manager`'s
//!   model and loader), checked, with their hand-offs; [`watch`] replaces
//!   it when the directory changes.
//! - [`Runtime::turn`]: one user message, answered by the session's current
//!   agent: one streamed `POST <base>/responses` with the agent's model,
//!   instructions, MCP servers, knowledge bases and hand-off tools; a
//!   `transfer_to_<agent>` call (or a `ROUTE_TO: <agent>` line) hands the
//!   same message to another agent, a bounded number of times.
//! - [`Chains`]: where each agent's conversation stands (its last response
//!   id), a value the caller stores with the session and passes back.
//!
//! The runtime knows nothing of the database or of HTTP routes: the
//! service's queue workers call it and store what it returns.

mod catalog;
mod chain;
mod error;
mod server;
mod tools;
mod turn;
mod watch;

pub use catalog::{Catalog, CatalogError};
pub use chain::Chains;
pub use error::TurnError;
pub use turn::{
    Identity, Runtime, RuntimeSettings, ToolCallRecord, TurnEvent, TurnFailure, TurnOutcome,
    TurnRequest, route_target,
};
pub use watch::{Reloaded, reload, watch};

/// The header MCP servers read the authenticated user from (the name the
/// Python MCP servers read, so mixed deployments work).
pub const IDENTITY_HEADER: &str = "AUTHORITATIVE_USER_ID";
