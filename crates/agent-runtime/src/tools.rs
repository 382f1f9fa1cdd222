//! The `tools` of an agent's Responses call: its MCP servers (with the
//! caller's identity in their headers), its knowledge bases as
//! `file_search`, and one `transfer_to_<agent>` function per hand-off.

use std::collections::BTreeMap;

use asset_manager::AgentAsset;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use shared_clients::llamastack::Tool;

use crate::IDENTITY_HEADER;
use crate::catalog::Catalog;

/// What every MCP request of the turn carries: who is asking (a header),
/// and the MCP servers' bearer token, which LlamaStack 0.2.18 takes only
/// as a header and 0.7.3 and OGX only as the tool's `authorization`
/// (they refuse an `Authorization` header: `docs/llamastack.md`).
#[derive(Clone)]
pub(crate) struct McpAccess {
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) authorization: Option<String>,
}

/// The [`McpAccess`] of `user_id` on a server whose API is 0.2.18's
/// (`token_in_headers`) or a current one's.
pub(crate) fn mcp_access(
    user_id: &str,
    token: Option<&SecretString>,
    token_in_headers: bool,
) -> McpAccess {
    let mut headers = BTreeMap::new();
    headers.insert(IDENTITY_HEADER.to_owned(), user_id.to_owned());
    let token = token.map(|token| token.expose_secret().to_owned());
    match token {
        Some(token) if token_in_headers => {
            headers.insert("Authorization".to_owned(), format!("Bearer {token}"));
            McpAccess {
                headers,
                authorization: None,
            }
        }
        authorization => McpAccess {
            headers,
            authorization,
        },
    }
}

/// The tools of `agent`: MCP servers, then `file_search` over
/// `vector_store_ids` (when it has knowledge bases), then its hand-offs.
pub(crate) fn tools(
    catalog: &Catalog,
    agent: &AgentAsset,
    access: &McpAccess,
    vector_store_ids: Vec<String>,
) -> Vec<Tool> {
    let mut tools: Vec<Tool> = agent
        .mcp_servers
        .iter()
        .filter_map(|name| catalog.mcp_server(name))
        .map(|server| Tool::Mcp {
            server_label: server.name.clone(),
            server_url: server.uri.clone(),
            headers: access.headers.clone(),
            authorization: access.authorization.clone(),
            require_approval: "never".to_owned(),
            allowed_tools: None,
        })
        .collect();
    if !vector_store_ids.is_empty() {
        tools.push(Tool::FileSearch { vector_store_ids });
    }
    tools.extend(handoff_tools(catalog, agent));
    tools
}

/// One `transfer_to_<agent>` function per hand-off of `agent`: no
/// arguments; the description (required by LlamaStack 0.2.18) says what the
/// target agent does.
pub(crate) fn handoff_tools(catalog: &Catalog, agent: &AgentAsset) -> Vec<Tool> {
    catalog
        .assets()
        .handoff_tools(agent)
        .into_iter()
        .map(|tool| Tool::Function {
            name: tool.name,
            description: tool.description,
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        })
        .collect()
}
