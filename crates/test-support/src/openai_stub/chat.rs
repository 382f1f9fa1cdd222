//! Chat and text completions, streamed or not.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use shared_clients::llamastack::content_text;

use super::{LLM_MODEL, Shared, bad_request, json_response, now, parse, sse_response, unique_id};

/// The stub's answer to a chat: see the module documentation.
pub fn reply(messages: &[Value]) -> String {
    let system: String = messages
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| content_text(&m["content"]))
        .collect::<Vec<_>>()
        .join("\n");
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    if system.to_lowercase().contains("routing agent")
        && last_user.to_lowercase().contains("laptop")
    {
        "ROUTE_TO: laptop-refresh".to_owned()
    } else {
        format!("You said: {}", last_user.trim())
    }
}

fn model_of(body: &Value) -> String {
    body["model"].as_str().unwrap_or(LLM_MODEL).to_owned()
}

/// Splits a text into pieces (words with their trailing space) for streaming.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn usage(prompt: &str, completion: &str) -> Value {
    let prompt_tokens = prompt.split_whitespace().count();
    let completion_tokens = completion.split_whitespace().count();
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

pub(super) async fn chat_completions(State(log): State<Shared>, body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let Some(messages) = body["messages"].as_array() else {
        return bad_request("messages must be a list");
    };
    let text = reply(messages);
    let prompt: String = messages
        .iter()
        .map(|m| content_text(&m["content"]))
        .collect();
    if let Ok(mut log) = log.lock() {
        log.chat_requests.push(body.clone());
    }
    let id = unique_id("chatcmpl");
    let model = model_of(&body);
    let created = now();
    if body["stream"].as_bool() != Some(true) {
        return json_response(&json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": null,
            }],
            "usage": usage(&prompt, &text),
        }));
    }
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(&text) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if body["stream_options"]["include_usage"].as_bool() == Some(true) {
        events.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage(&prompt, &text),
        }));
    }
    sse_response(events)
}

pub(super) async fn completions(body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let prompt = match &body["prompt"] {
        Value::String(prompt) => prompt.clone(),
        Value::Array(prompts) => prompts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let text = format!("You said: {}", prompt.trim());
    let id = unique_id("cmpl");
    let model = model_of(&body);
    let created = now();
    let choice = |text: &str, finish: Value| {
        json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": null}],
        })
    };
    if body["stream"].as_bool() != Some(true) {
        let mut answer = choice(&text, json!("stop"));
        answer["usage"] = usage(&prompt, &text);
        return json_response(&answer);
    }
    let mut events: Vec<Value> = pieces(&text)
        .iter()
        .map(|piece| choice(piece, Value::Null))
        .collect();
    events.push(choice("", json!("stop")));
    sse_response(events)
}

#[cfg(test)]
mod tests {
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
}
