//! An [`Answer`] in OpenAI's chat completion shapes: one
//! `chat.completion`, or `chat.completion.chunk`s for a stream.
//!
//! Streamed as vLLM does and as LlamaStack 0.2.18's vLLM provider reads it
//! (`_process_vllm_chat_completion_stream_response` in its
//! `providers/remote/inference/vllm/vllm.py`, when tools are offered): a
//! first chunk with the role; text in pieces, or per tool call a chunk
//! with `index`, `id`, `type`, `function.name` and empty
//! `function.arguments`, then the arguments' JSON in pieces (same `index`,
//! no `id` or name: the provider concatenates per `index`); last, a chunk
//! with an empty delta and `finish_reason` (`stop` or `tool_calls`), where
//! the provider emits the buffered calls. Every chunk of a tool call
//! carries `function` (the provider reads `function.name` of each).

use serde_json::{Value, json};

use crate::openai_stub::script::{Answer, ToolCall};

/// The identity of one completion.
pub(super) struct Completion {
    pub id: String,
    pub model: String,
    pub created: u64,
    /// The request's text, for the token counts.
    pub prompt: String,
}

impl Completion {
    /// The non-streamed answer.
    pub fn whole(&self, answer: &Answer) -> Value {
        let (message, finish) = match answer {
            Answer::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
            Answer::ToolCalls(calls) => {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|call| {
                        json!({
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments.to_string()},
                        })
                    })
                    .collect();
                (
                    json!({"role": "assistant", "content": null, "tool_calls": calls}),
                    "tool_calls",
                )
            }
        };
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
            "usage": usage(&self.prompt, &completion_text(answer)),
        })
    }

    /// The streamed answer, without the closing `[DONE]`.
    pub fn chunks(&self, answer: &Answer, include_usage: bool) -> Vec<Value> {
        let mut chunks = vec![self.chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
        let finish = match answer {
            Answer::Text(text) => {
                chunks.extend(
                    pieces(text)
                        .into_iter()
                        .map(|piece| self.chunk(json!({"content": piece}), Value::Null)),
                );
                "stop"
            }
            Answer::ToolCalls(calls) => {
                for (index, call) in calls.iter().enumerate() {
                    chunks.extend(
                        call_deltas(index, call)
                            .into_iter()
                            .map(|delta| self.chunk(delta, Value::Null)),
                    );
                }
                "tool_calls"
            }
        };
        chunks.push(self.chunk(json!({}), json!(finish)));
        if include_usage {
            chunks.push(json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": usage(&self.prompt, &completion_text(answer)),
            }));
        }
        chunks
    }

    fn chunk(&self, delta: Value, finish: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    }
}

/// The deltas of one tool call: its name, then its arguments in pieces.
fn call_deltas(index: usize, call: &ToolCall) -> Vec<Value> {
    let mut deltas = vec![json!({"tool_calls": [{
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }]})];
    let arguments = call.arguments.to_string();
    deltas.extend(
        argument_pieces(&arguments).into_iter().map(
            |piece| json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
        ),
    );
    deltas
}

/// A JSON text in pieces of about 16 bytes (cut at character boundaries).
fn argument_pieces(json: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = json;
    while !rest.is_empty() {
        let mut end = rest.len().min(16);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

fn completion_text(answer: &Answer) -> String {
    match answer {
        Answer::Text(text) => text.clone(),
        Answer::ToolCalls(calls) => calls
            .iter()
            .map(|call| format!("{} {}", call.name, call.arguments))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Splits a text into pieces (words with their trailing space) for streaming.
pub(super) fn pieces(text: &str) -> Vec<String> {
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

pub(super) fn usage(prompt: &str, completion: &str) -> Value {
    let prompt_tokens = prompt.split_whitespace().count();
    let completion_tokens = completion.split_whitespace().count();
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion() -> Completion {
        Completion {
            id: "chatcmpl-1".into(),
            model: "stub-llm".into(),
            created: 0,
            prompt: "hello".into(),
        }
    }

    fn tool_call() -> ToolCall {
        ToolCall {
            id: "call-1".into(),
            name: "open_laptop_refresh_ticket".into(),
            arguments: json!({"employee_id": "", "employee_name": "Jörg Müller"}),
        }
    }

    #[test]
    fn a_streamed_tool_call_reassembles_by_index_and_ends_with_tool_calls() {
        let chunks = completion().chunks(&Answer::ToolCalls(vec![tool_call()]), false);
        let deltas: Vec<&Value> = chunks
            .iter()
            .flat_map(|chunk| chunk["choices"][0]["delta"]["tool_calls"].as_array())
            .flatten()
            .collect();
        assert!(deltas.len() > 2, "arguments come in pieces: {deltas:?}");
        assert!(deltas.iter().all(|delta| delta["index"] == 0));
        assert!(deltas.iter().all(|delta| delta["function"].is_object()));
        assert_eq!(deltas[0]["id"], "call-1");
        assert_eq!(deltas[0]["function"]["name"], "open_laptop_refresh_ticket");
        assert!(deltas[1..].iter().all(|delta| delta.get("id").is_none()));
        let arguments: String = deltas
            .iter()
            .map(|delta| delta["function"]["arguments"].as_str().unwrap())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap(),
            tool_call().arguments
        );
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(last["choices"][0]["delta"], json!({}));
    }

    #[test]
    fn a_whole_tool_call_answer_carries_its_arguments_as_a_json_string() {
        let whole = completion().whole(&Answer::ToolCalls(vec![tool_call()]));
        let choice = &whole["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["id"], "call-1");
        let arguments: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(arguments, tool_call().arguments);
    }

    #[test]
    fn streamed_text_ends_with_an_empty_stop_chunk() {
        let chunks = completion().chunks(&Answer::Text("two words".into()), true);
        let text: String = chunks
            .iter()
            .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "two words");
        let finish = &chunks[chunks.len() - 2]["choices"][0];
        assert_eq!(finish["finish_reason"], "stop");
        assert_eq!(finish["delta"], json!({}));
        assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    }
}
