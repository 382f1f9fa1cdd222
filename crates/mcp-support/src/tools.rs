//! What a server supplies: its tools, and a function answering a call.

use std::future::Future;

use rmcp::handler::server::tool::schema_for_input;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;

use crate::identity::{Caller, IdentityPolicy};

/// Why a tool call did not do its work; answered as a tool result with
/// `isError: true` and this sentence, so the model can tell the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// A missing, empty or mistyped argument.
    #[error("{0}")]
    InvalidArgument(String),
    /// The employee (or record) named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The call is not allowed (another employee, a request limit).
    #[error("{0}")]
    Refused(String),
    /// The backend (ServiceNow) failed or did not answer.
    #[error("{0}")]
    Backend(String),
}

/// One call as the tool sees it.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub arguments: JsonObject,
    pub caller: Caller,
    pub policy: IdentityPolicy,
}

/// The tools of one MCP server.
pub trait ToolSet: Send + Sync + 'static {
    /// Server name, as `initialize` reports it.
    fn server_name(&self) -> &'static str;

    /// The tools, in the order `tools/list` gives them.
    fn tools(&self) -> Vec<Tool>;

    /// Runs tool `name`: `None` when there is no such tool (a JSON-RPC
    /// error), else its text or the reason it failed.
    fn call(
        &self,
        name: &str,
        call: ToolCall,
    ) -> impl Future<Output = Option<Result<String, ToolError>>> + Send;
}

/// A tool whose input schema is `A`'s (see [`crate::OptionalText`] and
/// [`crate::RequiredText`] for the argument types).
pub fn tool<A: JsonSchema + 'static>(
    name: &'static str,
    description: &'static str,
    read_only: bool,
) -> Tool {
    let schema = match schema_for_input::<A>() {
        Ok(schema) => schema,
        // A struct deriving JsonSchema always gives an object schema.
        Err(error) => unreachable!("tool {name}: {error}"),
    };
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = Some(read_only);
    annotations.destructive_hint = Some(false);
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new(name, description, schema);
    tool.annotations = Some(annotations);
    tool
}
