//! `POST /v1/completions`, streamed or not: `You said: <prompt>`.

use axum::response::Response;
use serde_json::{Value, json};

use super::wire::{pieces, usage};
use super::{json_response, model_of, now, parse, unique_id};
use crate::openai_stub::sse_response;

pub(in crate::openai_stub) async fn completions(body: String) -> Response {
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
