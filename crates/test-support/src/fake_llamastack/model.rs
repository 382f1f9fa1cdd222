//! The fake's model: scripted. A [`Responder`] sees what a real server would
//! show the model (the instructions, the chain's earlier items, this
//! request's items, the tools) and says what the model does.

use std::sync::Arc;

use serde_json::Value;
use shared_clients::llamastack::responses::{InputItem, OutputItem, Role, Tool};

/// The scripted model.
pub type Responder = Arc<dyn Fn(&ResponderInput) -> Scripted + Send + Sync>;

/// What the model is shown for one response.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponderInput {
    pub model: String,
    pub instructions: Option<String>,
    /// This request's items.
    pub input: Vec<InputItem>,
    /// The chain before this request (`previous_response_id` and its
    /// ancestors), oldest first: each response's input, then its output.
    pub history: Vec<ChainItem>,
    pub tools: Vec<Tool>,
}

/// An item of a response chain.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainItem {
    Input(InputItem),
    Output(OutputItem),
}

impl ResponderInput {
    /// The newest user message, this request's first, then the chain's.
    pub fn last_user_text(&self) -> Option<&str> {
        fn user(item: &InputItem) -> Option<&str> {
            match item {
                InputItem::Message {
                    role: Role::User,
                    content,
                } => Some(content.as_str()),
                _ => None,
            }
        }
        self.input.iter().rev().find_map(user).or_else(|| {
            self.history.iter().rev().find_map(|item| match item {
                ChainItem::Input(input) => user(input),
                ChainItem::Output(_) => None,
            })
        })
    }

    /// The output of a function call this request answers, if it does.
    pub fn function_output(&self) -> Option<&str> {
        self.input.iter().rev().find_map(|item| match item {
            InputItem::FunctionCallOutput { output, .. } => Some(output.as_str()),
            _ => None,
        })
    }

    /// The name of the function call this request answers, from the chain.
    pub fn answered_function(&self) -> Option<&str> {
        let call_id = self.input.iter().rev().find_map(|item| match item {
            InputItem::FunctionCallOutput { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })?;
        self.history.iter().rev().find_map(|item| match item {
            ChainItem::Output(OutputItem::FunctionCall(call)) if call.call_id == call_id => {
                Some(call.name.as_str())
            }
            _ => None,
        })
    }

    /// Whether a `function` tool of this name is offered.
    pub fn offers_function(&self, name: &str) -> bool {
        self.tools
            .iter()
            .any(|tool| matches!(tool, Tool::Function { name: offered, .. } if offered == name))
    }

    /// Whether an MCP server of this label is offered.
    pub fn offers_mcp(&self, label: &str) -> bool {
        self.tools
            .iter()
            .any(|tool| matches!(tool, Tool::Mcp { server_label, .. } if server_label == label))
    }

    /// The agent whose sentence ([`instructions_for`]) the instructions hold.
    pub fn is_agent(&self, agent: &str) -> bool {
        self.instructions
            .as_deref()
            .is_some_and(|instructions| instructions.contains(&instructions_for(agent)))
    }
}

/// The sentence by which the fake knows an agent in the instructions a
/// request carries: `You are the <agent>.`
pub fn instructions_for(agent: &str) -> String {
    format!("You are the {agent}.")
}

/// What the model does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// Answers this text.
    Text(String),
    /// Calls a `function` tool: the response ends with the call for the
    /// caller to answer (`function_call_output` + `previous_response_id`).
    FunctionCall { name: String, arguments: Value },
    /// Has the server call an MCP tool (the fake calls nothing: `output` is
    /// what the tool "answered"), then answers `text`.
    McpCall {
        server_label: String,
        name: String,
        arguments: Value,
        output: String,
        text: String,
    },
    /// Searches the request's vector stores for `query` (files whose text
    /// holds one of its words), then answers `text`.
    FileSearch { query: String, text: String },
}

/// The default model: echoes the last user message.
pub fn echo() -> Responder {
    Arc::new(|input: &ResponderInput| {
        Scripted::Text(input.last_user_text().unwrap_or_default().to_owned())
    })
}

/// A routing agent: a user message holding `keyword` (any case) hands the
/// user to `target` by calling `transfer_to_<target>` when that function is
/// offered; the call's answer is acknowledged with text; anything else is
/// greeted.
pub fn routing(target: &str, keyword: &str) -> Responder {
    let target = target.to_owned();
    let keyword = keyword.to_ascii_lowercase();
    Arc::new(move |input: &ResponderInput| {
        let transfer = format!("transfer_to_{target}");
        if input.function_output().is_some() {
            return Scripted::Text(format!("Transferring you to the {target} agent."));
        }
        let asks = input
            .last_user_text()
            .is_some_and(|text| text.to_ascii_lowercase().contains(&keyword));
        if asks && input.offers_function(&transfer) {
            Scripted::FunctionCall {
                name: transfer,
                arguments: Value::Object(Default::default()),
            }
        } else if asks {
            Scripted::Text(format!("ROUTE_TO: {target}"))
        } else {
            Scripted::Text(format!(
                "Hello, I am the routing agent. I can help you with: {target}."
            ))
        }
    })
}

/// Tokens of `text` as the servers stream them: each word with the spaces
/// after it.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if in_space && !c.is_whitespace() {
            tokens.push(std::mem::take(&mut current));
        }
        in_space = c.is_whitespace();
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Token counts, deterministic: the words of a text.
pub(crate) fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_streams_as_words_with_their_spaces() {
        assert_eq!(
            tokens("STUB-ANSWER to: hello"),
            ["STUB-ANSWER ", "to: ", "hello"]
        );
        assert_eq!(tokens(" a  b "), [" ", "a  ", "b "]);
        assert_eq!(tokens("").len(), 0);
        assert_eq!(tokens("x y z").concat(), "x y z");
    }
}
