//! `POST /v1/chat/completions`, streamed or not: the installed
//! [`Script`](super::Script) decides the answer; what the request offered
//! and brought back is recorded.

mod completions;
mod wire;

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::script::{self, Answer, Conversation, ToolResult};
use super::{LLM_MODEL, Shared, bad_request, json_response, now, parse, sse_response, unique_id};

pub(super) use completions::completions;

/// One chat completion as the stub saw and answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRecord {
    /// Names of the function tools the request offered.
    pub tools_offered: Vec<String>,
    /// Tool results new to the model in this request (after its last
    /// message): each result of a turn is recorded once.
    pub tool_results: Vec<ToolResult>,
    /// What the stub answered.
    pub answer: Answer,
}

pub(super) async fn chat_completions(State(state): State<Shared>, body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let Some(messages) = body["messages"].as_array() else {
        return bad_request("messages must be a list");
    };
    let tools = body["tools"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let conversation = Conversation::read(messages, tools);
    let script = state
        .script
        .lock()
        .map(|script| script.clone())
        .unwrap_or_default();
    let answer = script::answer(&script, &conversation);
    if let Ok(mut log) = state.log.lock() {
        log.chat_requests.push(body.clone());
        log.chats.push(ChatRecord {
            tools_offered: conversation.offered.clone(),
            tool_results: conversation.fresh_results().to_vec(),
            answer: answer.clone(),
        });
    }
    let completion = wire::Completion {
        id: unique_id("chatcmpl"),
        model: model_of(&body),
        created: now(),
        prompt: messages
            .iter()
            .map(|m| shared_clients::llamastack::content_text(&m["content"]))
            .collect(),
    };
    if body["stream"].as_bool() != Some(true) {
        return json_response(&completion.whole(&answer));
    }
    let include_usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
    sse_response(completion.chunks(&answer, include_usage))
}

/// The model of a request, or the stub's.
fn model_of(body: &Value) -> String {
    body["model"].as_str().unwrap_or(LLM_MODEL).to_owned()
}
