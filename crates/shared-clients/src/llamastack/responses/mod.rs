//! The Responses API (`POST <base>/responses`): one definition of its wire
//! types, used by the client and by the project's fake server alike, the
//! streamed call, and the failures a caller tells apart.

mod failure;
mod object;
mod request;
mod sse;
mod stream;

use serde_json::Value;

pub use failure::ResponsesFailure;
pub use object::{
    ContentPart, FileSearchCall, FunctionCall, IncompleteDetails, McpCall, OutputItem,
    ResponseError, ResponseObject, ResponseStatus, ToolCall, Usage,
};
pub use request::{CreateResponse, InputItem, Role, Tool};
pub use sse::{MAX_EVENT_BYTES, MAX_STREAM_BYTES};
pub use stream::StreamEvent;

pub(crate) use failure::classify_answer;

/// The text of message content as the OpenAI-style APIs write it: a
/// string, a `{type, text}` part, or a list of parts.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(content_text).collect::<Vec<_>>().join(""),
        Value::Object(item) => item
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_parts_are_joined() {
        let content = json!([{"type": "input_text", "text": "Hello, "}, {"type": "output_text", "text": "world"}]);
        assert_eq!(content_text(&content), "Hello, world");
        assert_eq!(content_text(&json!("plain")), "plain");
    }
}
