//! Hand-offs between agents, whatever the script: the service offers each
//! agent a function tool `transfer_to_<agent>` per agent it may hand over
//! to, runs the call itself and answers it with a `function_call_output`
//! (`docs/llamastack.md`).

use serde_json::json;

use super::{Answer, Conversation, ToolCall};

/// The prefix of a hand-off tool's name.
pub const TRANSFER_PREFIX: &str = "transfer_to_";
/// The routing agent's hand-off tool to the laptop refresh specialist.
pub const TRANSFER_TO_LAPTOP_REFRESH: &str = "transfer_to_laptop-refresh";
/// A specialist's hand-off tool back to the routing agent.
pub const TRANSFER_TO_ROUTING_AGENT: &str = "transfer_to_routing-agent";

/// The hand-off step, or `None` when the conversation asks for none:
///
/// 1. the model has just been given the result of a `transfer_to_<agent>`
///    call: it says `Transferring you to <agent>.`;
/// 2. `transfer_to_routing-agent` is offered and the user says that is
///    all: it calls that tool with `{}`;
/// 3. a routing agent (its instructions say "routing agent") offered
///    `transfer_to_laptop-refresh` is asked about a laptop: it calls that
///    tool with `{}`.
pub(super) fn next(conversation: &Conversation) -> Option<Answer> {
    if let Some(agent) = conversation
        .fresh_results()
        .iter()
        .rev()
        .find_map(|result| result.tool.strip_prefix(TRANSFER_PREFIX))
    {
        return Some(Answer::Text(format!("Transferring you to {agent}.")));
    }
    let call = |tool: &str| Some(Answer::ToolCalls(vec![ToolCall::new(tool, json!({}))]));
    let said = conversation.last_user.to_lowercase();
    if conversation.results.is_empty()
        && conversation.offers(TRANSFER_TO_ROUTING_AGENT)
        && ["that's all", "that is all", "thats all"]
            .iter()
            .any(|closing| said.contains(closing))
    {
        return call(TRANSFER_TO_ROUTING_AGENT);
    }
    if conversation.results.is_empty()
        && conversation.offers(TRANSFER_TO_LAPTOP_REFRESH)
        && super::is_routing_agent(conversation)
        && said.contains("laptop")
    {
        return call(TRANSFER_TO_LAPTOP_REFRESH);
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn tools(names: &[&str]) -> Vec<Value> {
        names
            .iter()
            .map(|name| json!({"type": "function", "function": {"name": name, "parameters": {}}}))
            .collect()
    }

    fn routing(user: &str) -> Vec<Value> {
        vec![
            json!({"role": "system", "content": "You are a routing agent."}),
            json!({"role": "user", "content": user}),
        ]
    }

    fn the_call(answer: Option<Answer>) -> ToolCall {
        match answer {
            Some(Answer::ToolCalls(calls)) if calls.len() == 1 => calls.into_iter().next().unwrap(),
            other => panic!("expected one call, got {other:?}"),
        }
    }

    #[test]
    fn the_routing_agent_hands_a_laptop_request_over_with_empty_arguments() {
        let offered = tools(&[TRANSFER_TO_LAPTOP_REFRESH]);
        let call = the_call(next(&Conversation::read(
            &routing("My LAPTOP is old"),
            &offered,
        )));
        assert_eq!(call.name, TRANSFER_TO_LAPTOP_REFRESH);
        assert_eq!(call.arguments, json!({}));
        assert_eq!(next(&Conversation::read(&routing("hello"), &offered)), None);
        assert_eq!(next(&Conversation::read(&routing("my laptop"), &[])), None);
    }

    #[test]
    fn only_a_routing_agent_hands_over_to_the_specialist() {
        let messages = [
            json!({"role": "system", "content": "You help employees."}),
            json!({"role": "user", "content": "I need a new laptop"}),
        ];
        let offered = tools(&[TRANSFER_TO_LAPTOP_REFRESH]);
        assert_eq!(next(&Conversation::read(&messages, &offered)), None);
    }

    #[test]
    fn the_result_of_a_transfer_is_answered_with_a_short_text() {
        let mut messages = routing("I need a new laptop");
        messages.push(json!({"role": "assistant", "content": "", "tool_calls": [{
            "id": "c1", "type": "function",
            "function": {"name": TRANSFER_TO_LAPTOP_REFRESH, "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": true}"}));
        let conversation = Conversation::read(&messages, &tools(&[TRANSFER_TO_LAPTOP_REFRESH]));
        assert_eq!(
            next(&conversation),
            Some(Answer::Text("Transferring you to laptop-refresh.".into()))
        );
    }

    #[test]
    fn a_specialist_hands_back_when_the_user_says_that_is_all() {
        let messages = [
            json!({"role": "system", "content": "You refresh laptops."}),
            json!({"role": "user", "content": "Thanks, that's all"}),
        ];
        let offered = tools(&[TRANSFER_TO_ROUTING_AGENT]);
        let call = the_call(next(&Conversation::read(&messages, &offered)));
        assert_eq!(call.name, TRANSFER_TO_ROUTING_AGENT);
        assert_eq!(next(&Conversation::read(&messages, &[])), None);
    }
}
