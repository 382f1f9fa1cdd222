//! What the stub's model answers: the [`Script`] a test installs
//! ([`OpenAiStub::set_script`](super::OpenAiStub::set_script)), played
//! against the conversation the server sends. The stub keeps no state
//! between completions: every step follows from the messages (the server
//! sends the whole conversation on every inference step: the turns chained
//! by `previous_response_id`, tool calls and tool results included).
//!
//! Whatever the script, hand-offs come first ([`handoff`]): the routing
//! agent calls `transfer_to_laptop-refresh`, a specialist
//! `transfer_to_routing-agent` when the user says that is all, and the
//! result of a transfer is answered `Transferring you to <agent>.`.

mod conversation;
mod handoff;
mod laptop;
mod tools;

use serde_json::Value;

pub use conversation::{Conversation, ToolResult};
pub use handoff::{TRANSFER_PREFIX, TRANSFER_TO_LAPTOP_REFRESH, TRANSFER_TO_ROUTING_AGENT};
pub use laptop::{
    FALLBACK_MODEL, FILE_SEARCH, GET_EMPLOYEE_LAPTOP_INFO, KNOWLEDGE_SEARCH,
    OPEN_LAPTOP_REFRESH_TICKET,
};

/// How the stub's model behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Script {
    /// Text only (the default), hand-offs aside: [`reply`].
    #[default]
    Text,
    /// The laptop refresh journey through the MCP tools, when the request
    /// offers `get_employee_laptop_info` and `open_laptop_refresh_ticket`
    /// and the last user message asks for a new laptop (else as
    /// [`Script::Text`]):
    ///
    /// 1. call `get_employee_laptop_info` with `{"employee_id": <employee_id>}`;
    /// 2. when the `file_search` tool is offered (named `knowledge_search`
    ///    by LlamaStack 0.2.18, `file_search` by 0.7.3 and OGX), call it for
    ///    the catalogue of the employee's region (`Employee Location` of the
    ///    result);
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
    /// A model that uses every tool it is offered, hand-offs aside: it calls
    /// each in the order offered, once a turn, with every required string
    /// parameter set to the last user message, then answers one line per
    /// result, `<tool>: <text>` (as [`Script::Text`] when no tool is
    /// offered). For observing what tools do through a server.
    CallTools,
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
    if let Some(handoff) = handoff::next(conversation) {
        return handoff;
    }
    let scripted = match script {
        Script::Text => None,
        Script::LaptopRefresh { employee_id } => laptop::next(employee_id, conversation),
        Script::CallTools => tools::next(conversation),
    };
    scripted.unwrap_or_else(|| Answer::Text(reply_to(conversation)))
}

/// The text-only answer to a chat: `ROUTE_TO: laptop-refresh` when a
/// system message names a "routing agent" and the last user message
/// mentions "laptop" (a routing agent without hand-off tools), else
/// `You said: <last user message>`.
pub fn reply(messages: &[Value]) -> String {
    reply_to(&Conversation::read(messages, &[]))
}

fn reply_to(conversation: &Conversation) -> String {
    if is_routing_agent(conversation) && conversation.last_user.to_lowercase().contains("laptop") {
        "ROUTE_TO: laptop-refresh".to_owned()
    } else {
        format!("You said: {}", conversation.last_user.trim())
    }
}

/// Whether the model plays the routing agent: its instructions say so.
fn is_routing_agent(conversation: &Conversation) -> bool {
    conversation.system.to_lowercase().contains("routing agent")
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
    fn every_script_hands_over_before_following_its_own_steps() {
        let messages = [
            json!({"role": "system", "content": "You are a routing agent."}),
            json!({"role": "user", "content": "I need a new laptop"}),
        ];
        let mut tools = laptop::tests::journey_tools();
        tools.push(json!({"type": "function", "function": {"name": TRANSFER_TO_LAPTOP_REFRESH}}));
        let conversation = Conversation::read(&messages, &tools);
        for script in [Script::Text, Script::laptop_refresh(), Script::CallTools] {
            let Answer::ToolCalls(calls) = answer(&script, &conversation) else {
                panic!("{script:?}: expected the hand-off");
            };
            assert_eq!(calls[0].name, TRANSFER_TO_LAPTOP_REFRESH, "{script:?}");
        }
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
