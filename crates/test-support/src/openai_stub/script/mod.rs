//! What the stub's model answers: the [`Script`] a test installs
//! ([`OpenAiStub::set_script`](super::OpenAiStub::set_script)), played
//! against the conversation LlamaStack sends. The stub keeps no state
//! between completions: every step follows from the messages (LlamaStack
//! sends the whole conversation, tool calls and tool results included, on
//! every inference step of a turn).

mod conversation;
mod laptop;

use serde_json::Value;

pub use conversation::{Conversation, ToolResult};
pub use laptop::{
    FALLBACK_MODEL, FILE_SEARCH, GET_EMPLOYEE_LAPTOP_INFO, KNOWLEDGE_SEARCH,
    OPEN_LAPTOP_REFRESH_TICKET,
};

/// How the stub's model behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Script {
    /// Text only (the default): [`reply`].
    #[default]
    Text,
    /// The laptop refresh journey through the MCP tools, when the request
    /// offers `get_employee_laptop_info` and `open_laptop_refresh_ticket`
    /// and the last user message asks for a new laptop (else as
    /// [`Script::Text`]):
    ///
    /// 1. call `get_employee_laptop_info` with `{"employee_id": <employee_id>}`;
    /// 2. when `knowledge_search` is offered, call it for the catalogue of
    ///    the employee's region (`Employee Location` of the result);
    /// 3. call `open_laptop_refresh_ticket` with the same `employee_id`,
    ///    `employee_name` from the employee's result, a justification from
    ///    the laptop's age, and `preferred_model`: the first model the
    ///    knowledge search named, else [`FALLBACK_MODEL`];
    /// 4. answer text quoting the result's `Ticket Number` verbatim (or the
    ///    tool's answer when it has none).
    ///
    /// `employee_id` is what the model puts in the tools' `employee_id`
    /// argument: empty means "the authenticated user" (LlamaStack 0.2.18
    /// presents every MCP parameter as required, so the model sends it
    /// anyway); another employee's id is a prompt injection the model
    /// obeys.
    LaptopRefresh { employee_id: String },
}

impl Script {
    /// The journey for the authenticated user (`employee_id` left empty).
    pub fn laptop_refresh() -> Self {
        Self::LaptopRefresh {
            employee_id: String::new(),
        }
    }

    /// The journey with `employee_id` in every tool call: a model that
    /// was talked into acting for someone else.
    pub fn laptop_refresh_for(employee_id: impl Into<String>) -> Self {
        Self::LaptopRefresh {
            employee_id: employee_id.into(),
        }
    }
}

/// One answer of the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text(String),
    /// `finish_reason: "tool_calls"`.
    ToolCalls(Vec<ToolCall>),
}

/// A function call the model makes.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Unique per call (`call-<uuid>`).
    pub id: String,
    pub name: String,
    /// A JSON object.
    pub arguments: Value,
}

impl ToolCall {
    pub(crate) fn new(name: &str, arguments: Value) -> Self {
        Self {
            id: super::unique_id("call"),
            name: name.to_owned(),
            arguments,
        }
    }
}

/// The model's next answer to `conversation` under `script`.
pub fn answer(script: &Script, conversation: &Conversation) -> Answer {
    match script {
        Script::Text => Answer::Text(reply_to(conversation)),
        Script::LaptopRefresh { employee_id } => laptop::next(employee_id, conversation)
            .unwrap_or_else(|| Answer::Text(reply_to(conversation))),
    }
}

/// The text-only answer to a chat: `ROUTE_TO: laptop-refresh` when a
/// system message names a "routing agent" and the last user message
/// mentions "laptop", else `You said: <last user message>`.
pub fn reply(messages: &[Value]) -> String {
    reply_to(&Conversation::read(messages, &[]))
}

fn reply_to(conversation: &Conversation) -> String {
    if conversation.system.to_lowercase().contains("routing agent")
        && conversation.last_user.to_lowercase().contains("laptop")
    {
        "ROUTE_TO: laptop-refresh".to_owned()
    } else {
        format!("You said: {}", conversation.last_user.trim())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn routes_laptop_requests_only_for_the_routing_agent() {
        let routing = [
            json!({"role": "system", "content": "You are a routing agent."}),
            json!({"role": "user", "content": "My LAPTOP is old"}),
        ];
        assert_eq!(reply(&routing), "ROUTE_TO: laptop-refresh");
        let other = [
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": [{"type": "text", "text": "my laptop"}]}),
        ];
        assert_eq!(reply(&other), "You said: my laptop");
    }

    #[test]
    fn the_text_script_ignores_the_tools() {
        let messages = [json!({"role": "user", "content": "I need a new laptop"})];
        let tools = laptop::tests::journey_tools();
        let conversation = Conversation::read(&messages, &tools);
        assert_eq!(
            answer(&Script::Text, &conversation),
            Answer::Text("You said: I need a new laptop".into())
        );
    }
}
