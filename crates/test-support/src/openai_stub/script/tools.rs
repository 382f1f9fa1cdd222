//! [`Script::CallTools`](super::Script::CallTools): a model that uses every
//! tool it is offered, once a turn, whatever they are.

use serde_json::{Map, Value};

use super::handoff::TRANSFER_PREFIX;
use super::{Answer, Conversation, ToolCall};

/// The next step: a call of the first offered tool (hand-offs aside) that
/// has no result in this turn yet, its required string parameters set to
/// the last user message; when every tool has answered, one line per
/// result, `<tool>: <text>`; `None` when no tool is offered.
pub(super) fn next(conversation: &Conversation) -> Option<Answer> {
    let tools: Vec<&str> = conversation
        .offered
        .iter()
        .map(String::as_str)
        .filter(|name| !name.starts_with(TRANSFER_PREFIX))
        .collect();
    if tools.is_empty() {
        return None;
    }
    if let Some(tool) = tools
        .iter()
        .find(|tool| conversation.result_of(tool).is_none())
    {
        let arguments: Map<String, Value> = conversation
            .required_strings(tool)
            .into_iter()
            .map(|name| (name.to_owned(), Value::from(conversation.last_user.trim())))
            .collect();
        return Some(Answer::ToolCalls(vec![ToolCall::new(
            tool,
            Value::Object(arguments),
        )]));
    }
    let lines: Vec<String> = conversation
        .results
        .iter()
        .map(|result| format!("{}: {}", result.tool, result.text.trim()))
        .collect();
    Some(Answer::Text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn offered() -> Vec<Value> {
        let schema = json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]});
        ["transfer_to_routing-agent", "srv_echo", "file_search"]
            .iter()
            .map(|name| json!({"type": "function", "function": {"name": name, "parameters": schema}}))
            .collect()
    }

    fn after(done: &[(&str, &str)]) -> Conversation {
        let mut messages = vec![json!({"role": "user", "content": "find the policy"})];
        for (i, (tool, text)) in done.iter().enumerate() {
            messages.push(json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": format!("c{i}"), "type": "function", "function": {"name": tool, "arguments": "{}"}}]}));
            messages
                .push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": text}));
        }
        Conversation::read(&messages, &offered())
    }

    #[test]
    fn each_tool_but_the_hand_offs_is_called_once_with_the_users_words() {
        let Some(Answer::ToolCalls(first)) = next(&after(&[])) else {
            panic!("expected a call");
        };
        assert_eq!(first[0].name, "srv_echo");
        assert_eq!(first[0].arguments, json!({"text": "find the policy"}));
        let Some(Answer::ToolCalls(second)) = next(&after(&[("srv_echo", "echoed")])) else {
            panic!("expected a call");
        };
        assert_eq!(second[0].name, "file_search");
    }

    #[test]
    fn when_every_tool_has_answered_the_results_are_quoted() {
        let done = after(&[
            ("srv_echo", "echoed"),
            ("file_search", "Refresh every 3 years.\n"),
        ]);
        assert_eq!(
            next(&done),
            Some(Answer::Text(
                "srv_echo: echoed\nfile_search: Refresh every 3 years.".into()
            ))
        );
    }

    #[test]
    fn without_tools_there_is_nothing_to_do() {
        let conversation = Conversation::read(&[json!({"role": "user", "content": "hi"})], &[]);
        assert_eq!(next(&conversation), None);
    }
}
