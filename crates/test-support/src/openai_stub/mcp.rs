//! A minimal MCP server (streamable HTTP, JSON answers) with one echo tool.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{json_response, parse};

pub(super) async fn mcp(body: String) -> Response {
    mcp_server("echo", &body)
}

pub(super) async fn named_mcp(Path(server): Path<String>, body: String) -> Response {
    mcp_server(&format!("{server}_echo"), &body)
}

/// One JSON-RPC message (no batches) of the MCP streamable HTTP transport,
/// answered with `application/json`, by a server whose one tool is `tool`.
fn mcp_server(tool: &str, body: &str) -> Response {
    let message = match parse(body) {
        Ok(message) => message,
        Err(response) => return *response,
    };
    let Some(id) = message.get("id").cloned() else {
        // a notification or a response: accepted, nothing to say
        return StatusCode::ACCEPTED.into_response();
    };
    let method = message["method"].as_str().unwrap_or_default();
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
