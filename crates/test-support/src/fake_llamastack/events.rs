//! A response as each server writes it: its output items, the stream
//! events leading to them (order, fields and sequence numbers of the
//! recorded wire, `crates/shared-clients/tests/data/`), and the final
//! object.

use serde_json::{Value, json};
use shared_clients::llamastack::responses::{CreateResponse, OutputItem, Tool};

use super::Flavor;
use super::model::{tokens, word_count};

/// One stream event; `token` events are paced by the token delay.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) data: Value,
    pub(crate) token: bool,
}

/// A response being written: its events so far and its output.
pub(crate) struct ResponseWriter<'r> {
    flavor: Flavor,
    request: &'r CreateResponse,
    pub(crate) id: String,
    created_at: i64,
    sequence: u64,
    pub(crate) events: Vec<Event>,
    output: Vec<Value>,
    /// Words of the output the model "wrote", for `usage`.
    output_words: u64,
}

impl<'r> ResponseWriter<'r> {
    pub(crate) fn new(flavor: Flavor, request: &'r CreateResponse) -> Self {
        Self {
            flavor,
            request,
            id: flavor.response_id(),
            created_at: super::routes::now_seconds(),
            sequence: 0,
            events: Vec::new(),
            output: Vec::new(),
            output_words: 0,
        }
    }

    fn push(&mut self, mut data: Value, token: bool) {
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        self.events.push(Event { data, token });
    }

    /// An event outside the sequence (0.2.18's `created` and `completed`).
    fn push_unnumbered(&mut self, data: Value) {
        self.events.push(Event { data, token: false });
    }

    /// `response.created` (and `response.in_progress` on current servers).
    pub(crate) fn start(&mut self) {
        let response = self.object("in_progress", None);
        if self.flavor.is_legacy() {
            self.push_unnumbered(json!({"response": response, "type": "response.created"}));
            self.sequence = 1;
        } else {
            self.push(
                json!({"response": response, "type": "response.created"}),
                false,
            );
            let response = self.object("in_progress", None);
            self.push(
                json!({"response": response, "type": "response.in_progress"}),
                false,
            );
        }
    }

    /// `mcp_list_tools.in_progress`: the server starts listing a server's tools.
    pub(crate) fn listing_started(&mut self) {
        self.push(
            json!({"type": "response.mcp_list_tools.in_progress"}),
            false,
        );
    }

    /// The listing of `server_label`'s tools (the fake lists none).
    pub(crate) fn listed(&mut self, server_label: &str) {
        let item = json!({"id": format!("mcp_list_{}", uuid::Uuid::new_v4()), "type": "mcp_list_tools",
                          "server_label": server_label, "tools": []});
        let index = self.output.len();
        self.item_event("response.output_item.added", &item, index);
        self.push(json!({"type": "response.mcp_list_tools.completed"}), false);
        self.item_event("response.output_item.done", &item, index);
        self.output.push(item);
    }

    /// A `function` call the caller answers.
    pub(crate) fn function_call(&mut self, name: &str, arguments: &Value) {
        let arguments = arguments.to_string();
        let id = format!("fc_{}", uuid::Uuid::new_v4());
        let call_id = call_id();
        let index = self.output.len();
        let added = json!({"call_id": call_id, "name": name, "arguments": "", "type": "function_call",
                           "id": id, "status": "in_progress"});
        self.item_event("response.output_item.added", &added, index);
        self.arguments("response.function_call_arguments", &id, index, &arguments);
        let done = json!({"call_id": call_id, "name": name, "arguments": arguments, "type": "function_call",
                          "id": id, "status": "completed"});
        self.item_event("response.output_item.done", &done, index);
        self.output_words += word_count(&arguments);
        self.output.push(done);
    }

    /// A call of an MCP tool the server made, answered `output`.
    pub(crate) fn mcp_call(
        &mut self,
        server_label: &str,
        name: &str,
        arguments: &Value,
        output: &str,
    ) {
        let arguments = arguments.to_string();
        let item_id = format!("fc_{}", uuid::Uuid::new_v4());
        let index = self.output.len();
        let done_id = if self.flavor.is_legacy() {
            // 0.2.18 adds the call as a function_call and finishes it as an
            // mcp_call of another id.
            let call_id = call_id();
            let added = json!({"call_id": call_id, "name": name, "arguments": "", "type": "function_call",
                               "id": item_id, "status": "in_progress"});
            self.item_event("response.output_item.added", &added, index);
            self.arguments("response.mcp_call.arguments", &item_id, index, &arguments);
            call_id
        } else {
            // 0.7.3 and OGX send the arguments before adding the item.
            self.arguments("response.mcp_call.arguments", &item_id, index, &arguments);
            let added = json!({"id": item_id, "type": "mcp_call", "arguments": "", "name": name,
                               "server_label": server_label, "error": null, "output": null});
            self.item_event("response.output_item.added", &added, index);
            item_id.clone()
        };
        self.push(
            json!({"item_id": item_id, "output_index": index, "type": "response.mcp_call.in_progress"}),
            false,
        );
        self.push(json!({"type": "response.mcp_call.completed"}), false);
        let done = json!({"id": done_id, "type": "mcp_call", "arguments": arguments, "name": name,
                          "server_label": server_label, "error": null, "output": output});
        self.item_event("response.output_item.done", &done, index);
        self.output_words += word_count(&arguments);
        self.output.push(done);
    }

    /// A file search for `query` that found `results`.
    pub(crate) fn file_search(&mut self, query: &str, results: Vec<Value>) {
        let item_id = format!("fc_{}", uuid::Uuid::new_v4());
        let index = self.output.len();
        let arguments = json!({ "query": query }).to_string();
        let done_id = if self.flavor.is_legacy() {
            // 0.2.18 shows the model the tool as `knowledge_search`.
            let call_id = call_id();
            let added = json!({"call_id": call_id, "name": "knowledge_search", "arguments": "",
                               "type": "function_call", "id": item_id, "status": "in_progress"});
            self.item_event("response.output_item.added", &added, index);
            self.arguments(
                "response.function_call_arguments",
                &item_id,
                index,
                &arguments,
            );
            call_id
        } else {
            self.arguments(
                "response.function_call_arguments",
                &item_id,
                index,
                &arguments,
            );
            let added = json!({"id": item_id, "queries": [query], "status": "in_progress",
                               "type": "file_search_call", "results": null});
            self.item_event("response.output_item.added", &added, index);
            for stage in ["in_progress", "searching", "completed"] {
                self.push(
                    json!({"item_id": item_id, "output_index": index,
                           "type": format!("response.file_search_call.{stage}")}),
                    false,
                );
            }
            item_id.clone()
        };
        let done = json!({"id": done_id, "queries": [query], "status": "completed",
                          "type": "file_search_call", "results": results});
        self.item_event("response.output_item.done", &done, index);
        self.output.push(done);
    }

    /// The model's text, streamed token by token.
    pub(crate) fn message(&mut self, text: &str) {
        let id = format!("msg_{}", uuid::Uuid::new_v4());
        let index = self.output.len();
        let legacy = self.flavor.is_legacy();
        let part = |text: &str| {
            if legacy {
                json!({"type": "output_text", "text": text})
            } else {
                json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
            }
        };
        if !legacy {
            let added = json!({"content": [], "role": "assistant", "type": "message", "id": id, "status": "in_progress"});
            self.item_event("response.output_item.added", &added, index);
        }
        let mut added = json!({"response_id": self.id, "item_id": id, "part": part(""),
                               "type": "response.content_part.added"});
        if !legacy {
            added["content_index"] = json!(0);
            added["output_index"] = json!(index);
        }
        self.push(added, false);
        for token in tokens(text) {
            let mut delta = json!({"content_index": 0, "delta": token, "item_id": id,
                                   "output_index": if legacy { 0 } else { index },
                                   "type": "response.output_text.delta"});
            if !legacy {
                delta["logprobs"] = json!([]);
            }
            self.push(delta, true);
        }
        let mut done = json!({"response_id": self.id, "item_id": id, "part": part(text),
                              "type": "response.content_part.done"});
        if !legacy {
            done["content_index"] = json!(0);
            done["output_index"] = json!(index);
        }
        self.push(done, false);
        let mut content = part(text);
        content["annotations"] = json!([]);
        let item = json!({"content": [content], "role": "assistant", "type": "message", "id": id, "status": "completed"});
        if !legacy {
            self.item_event("response.output_item.done", &item, index);
        }
        self.output_words += word_count(text);
        self.output.push(item);
    }

    /// `response.completed`: the final object.
    pub(crate) fn complete(&mut self, history_words: u64) -> Value {
        let response = self.object("completed", Some(history_words));
        if self.flavor.is_legacy() {
            self.push_unnumbered(
                json!({"response": response.clone(), "type": "response.completed"}),
            );
        } else {
            self.push(
                json!({"response": response.clone(), "type": "response.completed"}),
                false,
            );
        }
        response
    }

    /// `response.failed` with `message` (current servers; 0.2.18 sends an
    /// error event instead).
    pub(crate) fn fail(&mut self, message: &str) {
        let mut response = self.object("failed", None);
        response["error"] = json!({"code": "server_error", "message": message});
        self.push(
            json!({"response": response, "type": "response.failed"}),
            false,
        );
    }

    /// An error event ending the stream.
    pub(crate) fn error(&mut self, status: axum::http::StatusCode, message: &str) {
        let event = self.flavor.error_event(status, message, self.sequence);
        self.events.push(Event {
            data: event,
            token: false,
        });
    }

    /// The output items, typed.
    pub(crate) fn output_items(&self) -> Vec<OutputItem> {
        self.output
            .iter()
            .filter_map(|item| serde_json::from_value(item.clone()).ok())
            .collect()
    }

    fn item_event(&mut self, kind: &str, item: &Value, index: usize) {
        self.push(
            json!({"response_id": self.id, "item": item, "output_index": index, "type": kind}),
            false,
        );
    }

    fn arguments(&mut self, kind: &str, item_id: &str, index: usize, arguments: &str) {
        self.push(
            json!({"delta": arguments, "item_id": item_id, "output_index": index, "type": format!("{kind}.delta")}),
            false,
        );
        self.push(
            json!({"arguments": arguments, "item_id": item_id, "output_index": index, "type": format!("{kind}.done")}),
            false,
        );
    }

    /// The response object with `status`; `usage` (current servers) when
    /// the input's word count is given.
    fn object(&self, status: &str, input_words: Option<u64>) -> Value {
        let request = self.request;
        let output = if status == "in_progress" {
            Vec::new()
        } else {
            self.output.clone()
        };
        if self.flavor.is_legacy() {
            return json!({
                "created_at": self.created_at, "error": null, "id": self.id, "model": request.model,
                "object": "response", "output": output, "parallel_tool_calls": false,
                "previous_response_id": null, "status": status, "temperature": request.temperature,
                "text": {"format": {"type": "text"}}, "top_p": request.top_p, "truncation": null, "user": null,
            });
        }
        let usage = input_words.map(|input| {
            json!({"input_tokens": input, "output_tokens": self.output_words,
                   "total_tokens": input + self.output_words,
                   "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}})
        });
        let done = status != "in_progress";
        json!({
            "background": false, "created_at": self.created_at,
            "completed_at": if done { json!(super::routes::now_seconds()) } else { Value::Null },
            "error": null, "frequency_penalty": 0.0, "id": self.id, "incomplete_details": null,
            "model": request.model, "object": "response", "output": output, "parallel_tool_calls": true,
            "previous_response_id": request.previous_response_id, "prompt_cache_key": null, "prompt": null,
            "status": status, "temperature": request.temperature.unwrap_or(1.0),
            "text": {"format": {"type": "text"}}, "top_p": request.top_p.unwrap_or(1.0), "top_logprobs": 0,
            "tools": echoed_tools(&request.tools), "tool_choice": request.tool_choice.as_deref().unwrap_or("auto"),
            "truncation": "disabled", "usage": usage, "instructions": request.instructions,
            "max_tool_calls": null, "reasoning": null, "max_output_tokens": request.max_output_tokens,
            "safety_identifier": null, "service_tier": "default", "metadata": null, "presence_penalty": 0.0,
            "store": request.store,
        })
    }
}

/// The tools as current servers echo them: MCP tools without their URL
/// and headers.
fn echoed_tools(tools: &[Tool]) -> Vec<Value> {
    tools
        .iter()
        .map(|tool| match tool {
            Tool::Mcp {
                server_label,
                allowed_tools,
                ..
            } => {
                json!({"type": "mcp", "server_label": server_label, "allowed_tools": allowed_tools})
            }
            Tool::FileSearch { vector_store_ids } => json!({
                "type": "file_search", "vector_store_ids": vector_store_ids, "filters": null,
                "max_num_results": 10, "ranking_options": null}),
            Tool::Function {
                name,
                description,
                parameters,
            } => json!({"type": "function", "name": name, "description": description,
                        "parameters": parameters, "strict": null}),
        })
        .collect()
}

/// `call_<10 hex>`, as the servers name tool calls.
fn call_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("call_{}", &hex[..10])
}
