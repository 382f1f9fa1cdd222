#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! `POST responses` (streamed or not) and `GET responses/{id}`: the chain
//! replayed to the scripted model, the failures of the real servers (an
//! unknown `previous_response_id` or model, an unreachable MCP server),
//! and the injected ones.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use shared_clients::llamastack::responses::{
    CreateResponse, InputItem, OutputItem, Tool, content_text,
};

use super::super::events::{Event, ResponseWriter};
use super::super::flavor::detail;
use super::super::model::{ChainItem, ResponderInput, Scripted, word_count};
use super::super::serve::Connection;
use super::super::state::{Snapshot, StoredResponse};
use super::super::{Inner, lock};
use super::*;

/// How many responses a chain may hold (a loop in stored data ends there).
const MAX_CHAIN: usize = 10_000;
const GENERIC_ERROR: &str = "Internal server error: An unexpected error occurred.";

pub(super) async fn create(
    State(inner): Shared,
    ConnectInfo(connection): ConnectInfo<Connection>,
    bytes: Bytes,
) -> Answer {
    let request = parse(&inner, &bytes)?;
    lock(&inner.received).push(request.clone());
    let (turn_latency, token_delay, failing_mcp, injected, truncated) = {
        let mut faults = lock(&inner.faults);
        let injected = faults.failed_responses.pop_front();
        let truncated = injected.is_none() && faults.truncated_responses > 0;
        if truncated {
            faults.truncated_responses -= 1;
        }
        (
            faults.turn_latency,
            faults.token_delay,
            faults.failing_mcp.clone(),
            injected,
            truncated,
        )
    };
    if turn_latency > Duration::ZERO {
        tokio::time::sleep(turn_latency).await;
    }
    let flavor = inner.flavor;
    let history = match chain(&lock(&inner.state), request.previous_response_id.as_deref()) {
        Ok(history) => history,
        Err(missing) => {
            let (status, message) = flavor.response_missing(&missing);
            return if request.stream {
                let mut writer = ResponseWriter::new(flavor, &request);
                writer.error(status, &message);
                Ok(sse(writer.events, Duration::ZERO))
            } else {
                Err(detail(status, &message))
            };
        }
    };
    let mut writer = ResponseWriter::new(flavor, &request);
    writer.start();
    for (label, url) in request.mcp_tools() {
        writer.listing_started();
        if failing_mcp.contains(label) {
            return mcp_unreachable(&inner, &request, writer, url, &connection);
        }
        writer.listed(label);
    }
    if !served(&lock(&inner.state), &request.model, flavor.is_legacy()) {
        let (status, message) = flavor.model_missing(&request.model);
        return failed(&request, writer, status, &message);
    }
    if let Some(message) = injected {
        if request.stream && !flavor.is_legacy() {
            writer.fail(&message);
            return Ok(sse(writer.events, Duration::ZERO));
        }
        return failed(
            &request,
            writer,
            StatusCode::INTERNAL_SERVER_ERROR,
            &message,
        );
    }
    let input = ResponderInput {
        model: request.model.clone(),
        instructions: request.instructions.clone(),
        input: request.input.clone(),
        history,
        tools: request.tools.clone(),
    };
    let responder = inner.script().responder_for(&input);
    let scripted = responder(&input);
    lock(&inner.counters).responses += 1;
    play(&inner, &request, &scripted, &mut writer);
    let object = writer.complete(input_words(&input));
    if truncated {
        // The stream ends before `response.completed`; nothing is stored.
        writer.events.pop();
    } else if request.store {
        let stored = StoredResponse {
            request: request.clone(),
            output: writer.output_items(),
            object: object.clone(),
        };
        lock(&inner.state)
            .responses
            .insert(writer.id.clone(), stored);
        lock(&inner.counters).create("response");
    }
    if request.stream {
        Ok(sse(writer.events, token_delay))
    } else {
        ok(object)
    }
}

pub(super) async fn get(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).responses.get(&id) {
        Some(stored) => ok(stored.object.clone()),
        None => {
            let (status, message) = inner.flavor.response_missing(&id);
            Err(detail(status, &message))
        }
    }
}

/// The request, validated as each server does (0.2.18 requires a function
/// tool's `description`).
fn parse(inner: &Inner, bytes: &Bytes) -> Result<CreateResponse, Response> {
    let flavor = inner.flavor;
    let raw: Value = serde_json::from_slice(bytes)
        .map_err(|_| flavor.invalid(&[], "Input should be a valid dictionary"))?;
    if flavor.is_legacy()
        && let Some(tools) = raw.get("tools").and_then(Value::as_array)
    {
        for (index, tool) in tools.iter().enumerate() {
            if tool["type"] == "function" && tool.get("description").is_none() {
                return Err(flavor.invalid(
                    &[
                        json!("tools"),
                        json!(index),
                        json!("function"),
                        json!("description"),
                    ],
                    "Field required",
                ));
            }
        }
    }
    serde_json::from_value(raw).map_err(|error| flavor.invalid(&[], &error.to_string()))
}

/// The chain ending at `previous`, oldest first; `Err` names an id not
/// stored.
fn chain(state: &Snapshot, previous: Option<&str>) -> Result<Vec<ChainItem>, String> {
    let mut links = Vec::new();
    let mut next = previous.map(str::to_owned);
    while let Some(id) = next.take() {
        let stored = match state.responses.get(&id) {
            Some(stored) => stored,
            None if links.is_empty() => return Err(id),
            // An ancestor deleted since: the chain starts after it.
            None => break,
        };
        links.push(stored);
        if links.len() < MAX_CHAIN {
            next = stored.request.previous_response_id.clone();
        }
    }
    Ok(links
        .into_iter()
        .rev()
        .flat_map(|stored| {
            let inputs = stored.input().iter().cloned().map(ChainItem::Input);
            let outputs = stored.output.iter().cloned().map(ChainItem::Output);
            inputs.chain(outputs).collect::<Vec<_>>()
        })
        .collect())
}

/// 0.2.18 also accepts a model's name without its provider prefix.
fn served(state: &Snapshot, model: &str, legacy: bool) -> bool {
    state
        .models
        .iter()
        .any(|served| served.id == model || (legacy && served.provider_and_resource().1 == model))
}

/// The server could not reach the MCP server of `url`: in a stream, an
/// error event right after the listing began; else 500 (0.2.18) or 502
/// naming the URL, the connection reset at its next request (0.7.3, OGX).
fn mcp_unreachable(
    inner: &Inner,
    request: &CreateResponse,
    mut writer: ResponseWriter<'_>,
    url: &str,
    connection: &Connection,
) -> Answer {
    if request.stream {
        writer.error(StatusCode::INTERNAL_SERVER_ERROR, GENERIC_ERROR);
        return Ok(sse(writer.events, Duration::ZERO));
    }
    if inner.flavor.is_legacy() {
        return Err(detail(StatusCode::INTERNAL_SERVER_ERROR, GENERIC_ERROR));
    }
    connection.reset_next_request();
    let message = format!("Failed to connect to MCP server at {url}: Connection refused");
    Err((
        StatusCode::BAD_GATEWAY,
        axum::Json(json!({"error": {"message": message}})),
    )
        .into_response())
}

/// A failure after the response began: an error event in a stream, else
/// the status.
fn failed(
    request: &CreateResponse,
    mut writer: ResponseWriter<'_>,
    status: StatusCode,
    message: &str,
) -> Answer {
    if request.stream {
        writer.error(status, message);
        Ok(sse(writer.events, Duration::ZERO))
    } else {
        Err(detail(status, message))
    }
}

/// Writes what the model does.
fn play(
    inner: &Inner,
    request: &CreateResponse,
    scripted: &Scripted,
    writer: &mut ResponseWriter<'_>,
) {
    match scripted {
        Scripted::Text(text) => writer.message(text),
        Scripted::FunctionCall { name, arguments } => writer.function_call(name, arguments),
        Scripted::McpCall {
            server_label,
            name,
            arguments,
            output,
            text,
        } => {
            writer.mcp_call(server_label, name, arguments, output);
            writer.message(text);
        }
        Scripted::FileSearch { query, text } => {
            writer.file_search(query, search(inner, request, query));
            writer.message(text);
        }
    }
}

/// The files of the request's vector stores whose text holds a word (of
/// three letters or more) of `query`. Unknown stores find nothing, as on
/// the real servers.
fn search(inner: &Inner, request: &CreateResponse, query: &str) -> Vec<Value> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    let state = lock(&inner.state);
    let mut results = Vec::new();
    let stores = request.tools.iter().flat_map(|tool| match tool {
        Tool::FileSearch { vector_store_ids } => vector_store_ids.clone(),
        _ => Vec::new(),
    });
    for store_id in stores {
        let Some(store) = state.vector_stores.get(&store_id) else {
            continue;
        };
        for (file_id, attached) in &store.files {
            let Some(file) = state.files.get(file_id) else {
                continue;
            };
            let text = String::from_utf8_lossy(&file.content);
            let lower = text.to_lowercase();
            if words.iter().any(|word| lower.contains(word.as_str())) {
                results.push(json!({
                    "attributes": attached["attributes"], "file_id": file_id,
                    "filename": file.object["filename"], "score": 1.0,
                    "text": text.chars().take(2000).collect::<String>(),
                }));
            }
        }
    }
    results
}

/// The words the model is shown: instructions, the chain, this input.
fn input_words(input: &ResponderInput) -> u64 {
    let item_text = |item: &InputItem| match item {
        InputItem::Message { content, .. } => word_count(content),
        InputItem::FunctionCallOutput { output, .. } => word_count(output),
    };
    let history: u64 = input
        .history
        .iter()
        .map(|item| match item {
            ChainItem::Input(item) => item_text(item),
            ChainItem::Output(OutputItem::Message { content, .. }) => content
                .iter()
                .map(|part| {
                    word_count(&content_text(
                        &serde_json::to_value(part).unwrap_or_default(),
                    ))
                })
                .sum(),
            ChainItem::Output(OutputItem::FunctionCall(call)) => word_count(&call.arguments),
            ChainItem::Output(_) => 0,
        })
        .sum();
    input.instructions.as_deref().map_or(0, word_count)
        + history
        + input.input.iter().map(item_text).sum::<u64>()
}

/// `data: {json}` events, each paced by the token delay when it is a token.
fn sse(events: Vec<Event>, token_delay: Duration) -> Response {
    let stream = futures_util::stream::iter(events).then(move |event| async move {
        if event.token && token_delay > Duration::ZERO {
            tokio::time::sleep(token_delay).await;
        }
        Ok::<_, Infallible>(Bytes::from(format!("data: {}\n\n", event.data)))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        Body::from_stream(stream),
    )
        .into_response()
}
