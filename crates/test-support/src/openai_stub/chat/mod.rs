//! `POST /v1/chat/completions`, streamed or not: the installed
//! [`Script`](super::Script) decides the answer; what the request offered
//! and brought back is recorded.

mod completions;
mod wire;

use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use serde_json::Value;

use super::script::{self, Answer, Conversation, ToolResult};
use super::{
    LLM_MODEL, Shared, bad_request, json_response, now, paced_sse_response, parse, unique_id,
};

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
    let model = model_of(&body);
    if model != LLM_MODEL {
        return unknown_model(&model);
    }
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
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if body["stream"].as_bool() != Some(true) {
        return json_response(&completion.whole(&answer));
    }
    let include_usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
    let delay = state
        .token_delay
        .lock()
        .map(|delay| *delay)
        .unwrap_or_default();
    paced_sse_response(completion.chunks(&answer, include_usage), delay)
}

/// What vLLM answers for a model it does not serve.
fn unknown_model(model: &str) -> Response {
    let body = serde_json::json!({"error": {
        "message": format!("The model `{model}` does not exist."),
        "type": "NotFoundError",
        "param": "model",
        "code": 404,
    }});
    (
        axum::http::StatusCode::NOT_FOUND,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The model of a request, or the stub's.
fn model_of(body: &Value) -> String {
    body["model"].as_str().unwrap_or(LLM_MODEL).to_owned()
}
