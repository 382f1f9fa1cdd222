//! The rmcp server handler over a [`ToolSet`]: `initialize`, `tools/list`,
//! `tools/call`. The transport (rmcp's streamable HTTP service) hands each
//! request's HTTP parts to the call, which is where the caller's identity
//! comes from.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::identity::{Caller, IdentityPolicy};
use crate::tools::{ToolCall, ToolSet};

/// One server's MCP behaviour; cheap to clone (one per HTTP request).
pub struct McpHandler<T> {
    tools: Arc<T>,
    policy: IdentityPolicy,
}

impl<T> Clone for McpHandler<T> {
    fn clone(&self) -> Self {
        Self {
            tools: Arc::clone(&self.tools),
            policy: self.policy,
        }
    }
}

impl<T: ToolSet> McpHandler<T> {
    pub fn new(tools: Arc<T>, policy: IdentityPolicy) -> Self {
        Self { tools, policy }
    }
}

impl<T: ToolSet> ServerHandler for McpHandler<T> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new(self.tools.server_name(), env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = context
            .extensions
            .get::<http::request::Parts>()
            .map(Caller::from_parts)
            .unwrap_or_default();
        let call = ToolCall {
            arguments: request.arguments.unwrap_or_default(),
            caller,
            policy: self.policy,
        };
        let name = request.name;
        match self.tools.call(&name, call).await {
            None => Err(ErrorData::invalid_params(
                format!("unknown tool '{name}'"),
                None,
            )),
            Some(Ok(text)) => Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into()),
            Some(Err(error)) => {
                tracing::info!(tool = %name, %error, "tool call answered with an error");
                Ok(CallToolResult::error(vec![ContentBlock::text(error.to_string())]).into())
            }
        }
    }
}
