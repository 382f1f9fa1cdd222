//! The response object the servers answer (and the last stream event
//! carries). Read leniently: unknown item and content types are kept as
//! `Other`, unknown fields ignored, `null` read as absent.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::super::types::null_as_default;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseObject {
    /// `resp-<uuid>` on 0.2.18, `resp_<uuid>` on 0.7.3 and OGX.
    pub id: String,
    #[serde(default)]
    pub status: ResponseStatus,
    #[serde(default)]
    pub model: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output: Vec<OutputItem>,
    /// Absent on 0.2.18.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ResponseError>,
    /// Echoed by OGX only: do not rely on it.
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
}

impl ResponseObject {
    /// The text of every `output_text` part of every message, in order (no
    /// server sends a top-level `output_text`).
    pub fn output_text(&self) -> String {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::Message { content, .. } => Some(content),
                _ => None,
            })
            .flatten()
            .filter_map(|part| match part {
                ContentPart::OutputText { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The calls of caller-run (`function`) tools the model asked for.
    pub fn function_calls(&self) -> Vec<&FunctionCall> {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::FunctionCall(call) => Some(call),
                _ => None,
            })
            .collect()
    }

    /// The tools the server ran for this response: MCP calls (with their
    /// server's label) and file searches (named `file_search`).
    pub fn tool_calls(&self) -> Vec<ToolCall> {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::McpCall(call) => Some(ToolCall {
                    server_label: Some(call.server_label.clone()),
                    name: call.name.clone(),
                }),
                OutputItem::FileSearchCall(_) => Some(ToolCall::file_search()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    Completed,
    Failed,
    Incomplete,
    #[default]
    InProgress,
    Queued,
    Cancelled,
    #[serde(other)]
    Other,
}

/// One output item, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default = "assistant")]
        role: String,
        #[serde(default, deserialize_with = "null_as_default")]
        content: Vec<ContentPart>,
    },
    FunctionCall(FunctionCall),
    McpCall(McpCall),
    McpListTools {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        server_label: String,
        #[serde(default, deserialize_with = "null_as_default")]
        tools: Vec<Value>,
    },
    FileSearchCall(FileSearchCall),
    /// Any other item (`mcp_approval_request`, `reasoning`, ...).
    #[serde(other)]
    Other,
}

fn assistant() -> String {
    "assistant".to_owned()
}

/// A content part of a message, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    OutputText {
        #[serde(default)]
        text: String,
    },
    Refusal {
        #[serde(default)]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the `function_call_output` answering it names.
    pub call_id: String,
    pub name: String,
    /// JSON text.
    #[serde(default, deserialize_with = "lenient_text")]
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub server_label: String,
    #[serde(default, deserialize_with = "lenient_text")]
    pub arguments: String,
    #[serde(default, deserialize_with = "lenient_optional_text")]
    pub output: Option<String>,
    #[serde(default, deserialize_with = "lenient_optional_text")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSearchCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub queries: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<Value>>,
}

/// A tool the server ran: an MCP tool of `server_label`, or `file_search`
/// (no label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub server_label: Option<String>,
    pub name: String,
}

impl ToolCall {
    pub(crate) fn file_search() -> Self {
        Self {
            server_label: None,
            name: "file_search".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_tokens: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseError {
    #[serde(default, deserialize_with = "lenient_optional_text")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncompleteDetails {
    #[serde(default, deserialize_with = "lenient_text")]
    pub reason: String,
}

/// Text, whatever JSON the server put there: a string as is, `null` as
/// empty, anything else as its JSON.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(lenient_optional_text(deserializer)?.unwrap_or_default())
}

fn lenient_optional_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> ResponseObject {
        serde_json::from_value(value).expect("a response object")
    }

    #[test]
    fn the_text_is_built_from_the_output_text_parts_of_messages() {
        let response = parse(json!({"id": "resp_1", "status": "completed", "output": [
            {"type": "mcp_list_tools", "server_label": "snow", "tools": []},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Hello, ", "annotations": [], "logprobs": []},
                {"type": "refusal", "refusal": "no"},
                {"type": "output_text", "text": "world"}
            ]},
            {"type": "reasoning", "summary": []}
        ]}));
        assert_eq!(response.output_text(), "Hello, world");
        assert_eq!(response.output[2], OutputItem::Other);
        assert_eq!(response.status, ResponseStatus::Completed);
    }

    #[test]
    fn calls_are_listed_by_kind() {
        let response = parse(json!({"id": "r", "status": "completed", "output": [
            {"call_id": "call_1", "name": "transfer_to_laptop-refresh", "arguments": "{}", "type": "function_call", "id": "fc_1", "status": "completed"},
            {"id": "fc_2", "type": "mcp_call", "arguments": "{}", "name": "get_employee_laptop_info", "server_label": "snow", "error": null, "output": "LAPTOP"},
            {"id": "call_3", "queries": ["q"], "status": "completed", "type": "file_search_call", "results": []},
            {"arguments": "{}", "id": "approval_1", "name": "x", "server_label": "snow", "type": "mcp_approval_request"}
        ]}));
        let calls = response.function_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].call_id, "call_1");
        assert_eq!(calls[0].name, "transfer_to_laptop-refresh");
        assert_eq!(
            response.tool_calls(),
            vec![
                ToolCall {
                    server_label: Some("snow".into()),
                    name: "get_employee_laptop_info".into()
                },
                ToolCall::file_search(),
            ]
        );
    }

    #[test]
    fn usage_and_null_fields_read_leniently() {
        let response = parse(
            json!({"id": "r", "status": "weird", "model": "m", "output": null,
            "usage": {"input_tokens": 3, "output_tokens": null, "total_tokens": 3, "input_tokens_details": {"cached_tokens": 0}},
            "error": {"code": 500, "message": null}}),
        );
        assert_eq!(response.status, ResponseStatus::Other);
        assert!(response.output.is_empty());
        assert_eq!(
            response.usage,
            Some(Usage {
                input_tokens: 3,
                output_tokens: 0,
                total_tokens: 3
            })
        );
        let error = response.error.expect("error");
        assert_eq!(error.code.as_deref(), Some("500"));
        assert_eq!(error.message, "");
    }
}
