//! A chat completion request read the way the scripts need it.
//!
//! LlamaStack 0.2.18's vLLM provider sends the tool calls of an assistant
//! message as OpenAI `tool_calls` (`id`, `function.name`,
//! `function.arguments` as a JSON string), and each tool result as
//! `{"role": "tool", "content": [...]}` right after it, **without
//! `tool_call_id`** (`convert_message_to_openai_dict` in its
//! `providers/utils/inference/openai_compat.py` copies only role and
//! content). Results are therefore paired with calls by position, or by
//! `tool_call_id` when a client sends one.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;
use shared_clients::llamastack::content_text;

/// A tool's result as the model received it, with the call it answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolResult {
    /// The function called (empty when no call precedes the result).
    pub tool: String,
    /// The arguments of that call, as the model sent them.
    pub arguments: Value,
    /// The result's text.
    pub text: String,
}

/// What the model is asked, in the parts the scripts read.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The system messages' text.
    pub system: String,
    /// The text of the last user message.
    pub last_user: String,
    /// Names of the function tools offered (`tools[].function.name`).
    pub offered: Vec<String>,
    /// The JSON Schema of each offered tool's parameters
    /// (`tools[].function.parameters`), in the order of `offered`.
    pub parameters: Vec<Value>,
    /// Tool results after the last user message, oldest first: the work
    /// of the current turn so far.
    pub results: Vec<ToolResult>,
    /// Where the results after the last assistant message start: those are
    /// new to the model.
    fresh_from: usize,
}

impl Conversation {
    /// Reads `messages` and `tools` of a chat completion request.
    pub fn read(messages: &[Value], tools: &[Value]) -> Self {
        let system = messages
            .iter()
            .filter(|m| m["role"] == "system")
            .map(|m| content_text(&m["content"]))
            .collect::<Vec<_>>()
            .join("\n");
        let last_user_at = messages.iter().rposition(|m| m["role"] == "user");
        let last_user = last_user_at
            .map(|at| content_text(&messages[at]["content"]))
            .unwrap_or_default();
        let (offered, parameters) = tools
            .iter()
            .filter_map(|tool| {
                let function = &tool["function"];
                let name = function["name"].as_str()?;
                Some((name.to_owned(), function["parameters"].clone()))
            })
            .unzip();
        let turn = last_user_at.map_or(messages, |at| &messages[at + 1..]);
        let mut results = Vec::new();
        let mut fresh_from = 0;
        let mut pending: VecDeque<(String, String, Value)> = VecDeque::new();
        for message in turn {
            match message["role"].as_str() {
                Some("assistant") => {
                    fresh_from = results.len();
                    pending.extend(calls_of(message));
                }
                Some("tool") => {
                    let by_id = message["tool_call_id"]
                        .as_str()
                        .and_then(|id| pending.iter().position(|(call, _, _)| call == id));
                    let call = match by_id {
                        Some(at) => pending.remove(at),
                        None => pending.pop_front(),
                    };
                    let (_, tool, arguments) = call.unwrap_or_default();
                    results.push(ToolResult {
                        tool,
                        arguments,
                        text: content_text(&message["content"]),
                    });
                }
                _ => {}
            }
        }
        Self {
            system,
            last_user,
            offered,
            parameters,
            results,
            fresh_from,
        }
    }

    /// Whether a function named `tool` is offered.
    pub fn offers(&self, tool: &str) -> bool {
        self.offered.iter().any(|name| name == tool)
    }

    /// The latest result of `tool` in this turn.
    pub fn result_of(&self, tool: &str) -> Option<&ToolResult> {
        self.results.iter().rev().find(|result| result.tool == tool)
    }

    /// The results the model has not answered yet (after its last message).
    pub fn fresh_results(&self) -> &[ToolResult] {
        &self.results[self.fresh_from.min(self.results.len())..]
    }

    /// The names of the required string parameters of the offered `tool`.
    pub fn required_strings(&self, tool: &str) -> Vec<&str> {
        let Some(at) = self.offered.iter().position(|name| name == tool) else {
            return Vec::new();
        };
        let schema = &self.parameters[at];
        schema["required"]
            .as_array()
            .map(|required| {
                required
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|name| schema["properties"][*name]["type"] == "string")
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `(id, name, arguments)` of each tool call of an assistant message.
fn calls_of(message: &Value) -> Vec<(String, String, Value)> {
    let Some(calls) = message["tool_calls"].as_array() else {
        return Vec::new();
    };
    calls
        .iter()
        .map(|call| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
            let arguments = &call["function"]["arguments"];
            let arguments = arguments
                .as_str()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_else(|| arguments.clone());
            (
                text(&call["id"]),
                text(&call["function"]["name"]),
                arguments,
            )
        })
        .collect()
}

/// The value of a `Key: value` line of a tool's answer.
pub(crate) fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(key)?.strip_prefix(':')?.trim();
        (!value.is_empty()).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(id: &str, name: &str, arguments: &str) -> Value {
        json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
    }

    fn tool_message(text: &str) -> Value {
        json!({"role": "tool", "content": [{"type": "text", "text": text}]})
    }

    #[test]
    fn results_are_paired_with_calls_by_position_after_the_last_user_message() {
        let messages = [
            json!({"role": "system", "content": "be brief"}),
            json!({"role": "user", "content": "old question"}),
            json!({"role": "assistant", "content": "", "tool_calls": [call("c0", "old_tool", "{}")]}),
            tool_message("old result"),
            json!({"role": "user", "content": "I need a new laptop"}),
            json!({"role": "assistant", "content": "", "tool_calls": [
                call("c1", "first", r#"{"a": 1}"#), call("c2", "second", "{}")]}),
            tool_message("one"),
            tool_message("two"),
        ];
        let conversation = Conversation::read(&messages, &[]);
        assert_eq!(conversation.last_user, "I need a new laptop");
        assert_eq!(conversation.results.len(), 2);
        assert_eq!(conversation.results[0].tool, "first");
        assert_eq!(conversation.results[0].arguments, json!({"a": 1}));
        assert_eq!(conversation.results[1].text, "two");
        assert!(conversation.result_of("old_tool").is_none());
    }

    #[test]
    fn a_tool_call_id_wins_over_the_position() {
        let messages = [
            json!({"role": "user", "content": "go"}),
            json!({"role": "assistant", "content": "", "tool_calls": [
                call("c1", "first", "{}"), call("c2", "second", "{}")]}),
            json!({"role": "tool", "tool_call_id": "c2", "content": "for the second"}),
        ];
        let conversation = Conversation::read(&messages, &[]);
        assert_eq!(conversation.results[0].tool, "second");
    }

    #[test]
    fn only_results_after_the_last_assistant_message_are_fresh() {
        let messages = [
            json!({"role": "user", "content": "go"}),
            json!({"role": "assistant", "content": "", "tool_calls": [call("c1", "first", "{}")]}),
            tool_message("one"),
            json!({"role": "assistant", "content": "", "tool_calls": [call("c2", "second", "{}")]}),
            tool_message("two"),
        ];
        let conversation = Conversation::read(&messages, &[]);
        let fresh: Vec<&str> = conversation
            .fresh_results()
            .iter()
            .map(|r| r.tool.as_str())
            .collect();
        assert_eq!(fresh, ["second"]);
    }

    #[test]
    fn the_required_string_parameters_of_a_tool_are_read_from_its_schema() {
        let tools = [
            json!({"type": "function", "function": {"name": "search", "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}, "lang": {"type": "string"}},
                "required": ["query", "limit"],
            }}}),
        ];
        let conversation = Conversation::read(&[json!({"role": "user", "content": "go"})], &tools);
        assert_eq!(conversation.required_strings("search"), ["query"]);
        assert!(conversation.required_strings("other").is_empty());
    }

    #[test]
    fn fields_are_read_from_key_value_lines() {
        let text = "Created!\n\nTicket Number: REQ0010001\nEmployee: Alice (ID: 1001)";
        assert_eq!(field(text, "Ticket Number"), Some("REQ0010001"));
        assert_eq!(field(text, "Employee"), Some("Alice (ID: 1001)"));
        assert_eq!(field(text, "Status"), None);
    }
}
