//! A minimal MCP server (streamable HTTP, JSON answers) with one echo tool;
//! every request is recorded with its headers.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Shared, json_response, parse};

/// One request to an MCP endpoint of the stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpRequest {
    /// `/mcp` or `/mcp/<server>`.
    pub path: String,
    /// The JSON-RPC method (`initialize`, `tools/list`, `tools/call`, ...).
    pub method: String,
    /// The headers, names lower-cased, in the order received (values that
    /// are not text are left out).
    pub headers: Vec<(String, String)>,
}

impl McpRequest {
    /// The value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(have, _)| *have == name)
            .map(|(_, value)| value.as_str())
    }
}

pub(super) async fn mcp(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    mcp_server(&state, "/mcp", "echo", &headers, &body)
}

pub(super) async fn named_mcp(
    State(state): State<Shared>,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = format!("/mcp/{server}");
    mcp_server(&state, &path, &format!("{server}_echo"), &headers, &body)
}

/// One JSON-RPC message (no batches) of the MCP streamable HTTP transport,
/// answered with `application/json`, by a server whose one tool is `tool`.
fn mcp_server(state: &Shared, path: &str, tool: &str, headers: &HeaderMap, body: &str) -> Response {
    let message = match parse(body) {
        Ok(message) => message,
        Err(response) => return *response,
    };
    let method = message["method"].as_str().unwrap_or_default();
    if let Ok(mut log) = state.log.lock() {
        log.mcp_requests.push(McpRequest {
            path: path.to_owned(),
            method: method.to_owned(),
            headers: headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
        });
    }
    let Some(id) = message.get("id").cloned() else {
        // a notification or a response: accepted, nothing to say
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match method {
        "initialize" => json!({
            "protocolVersion": message["params"]["protocolVersion"]
                .as_str()
                .unwrap_or("2025-06-18"),
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "openai-stub", "version": "0.1.0"},
        }),
        "ping" => json!({}),
        "tools/list" => json!({
            "tools": [{
                "name": tool,
                "description": "Echoes its text argument.",
                "inputSchema": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "what to echo"}},
                    "required": ["text"],
                },
            }],
        }),
        "tools/call" => {
            let text = message["params"]["arguments"]["text"]
                .as_str()
                .unwrap_or_default();
            json!({"content": [{"type": "text", "text": text}], "isError": false})
        }
        _ => {
            return json_response(&json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": format!("method not found: {method}")},
            }));
        }
    };
    json_response(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// No server-initiated stream and no sessions to end.
pub(super) async fn no_stream() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}
