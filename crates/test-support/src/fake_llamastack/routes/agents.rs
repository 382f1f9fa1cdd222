#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s
//! Agents, sessions and streamed turns.

use std::convert::Infallible;
use std::sync::PoisonError;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use shared_clients::llamastack::AgentConfig;

use super::super::state::{FakeSession, stored_agent_config};
use super::super::{Inner, lock};
use super::*;

// ---- agents, sessions, turns ----

pub(crate) fn insert_agent(inner: &Inner, sent: &Map<String, Value>) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = next_timestamp(inner);
    let mut stored = stored_agent_config(sent);
    stored.insert("created_at".into(), json!(created_at));
    let agent = json!({"agent_id": id, "agent_config": stored, "created_at": created_at});
    lock(&inner.state).agents.insert(id.clone(), agent);
    lock(&inner.counters).create("agent");
    id
}

pub(super) async fn list_agents(State(inner): Shared) -> Answer {
    let data: Vec<Value> = lock(&inner.state).agents.values().cloned().collect();
    ok(json!({"data": data, "has_more": false, "url": "/v1/agents"}))
}

pub(super) fn agent_missing(id: &str) -> Response {
    bad_request(format!("Could not find agent info for {id}"))
}

pub(super) async fn get_agent(State(inner): Shared, Path(id): Path<String>) -> Answer {
    match lock(&inner.state).agents.get(&id) {
        Some(agent) => ok(agent.clone()),
        None => Err(agent_missing(&id)),
    }
}

pub(super) async fn create_agent(State(inner): Shared, bytes: Bytes) -> Answer {
    let body = json_body(&bytes)?;
    let Some(Value::Object(config)) = body.get("agent_config") else {
        return Err(invalid_field(&["agent_config"], "Field required"));
    };
    for field in ["model", "instructions"] {
        if config.get(field).and_then(Value::as_str).is_none() {
            return Err(invalid_field(&["agent_config", field], "Field required"));
        }
    }
    let id = insert_agent(&inner, config);
    ok(json!({ "agent_id": id }))
}

pub(super) async fn delete_agent(State(inner): Shared, Path(id): Path<String>) -> Answer {
    let mut state = lock(&inner.state);
    if state.agents.remove(&id).is_none() {
        return Err(agent_missing(&id));
    }
    state.sessions.retain(|_, session| session.agent_id != id);
    lock(&inner.counters).delete("agent");
    no_content()
}

pub(super) async fn create_session(
    State(inner): Shared,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let body = json_body(&bytes)?;
    let name = required_str(&body, "session_name")?;
    let mut state = lock(&inner.state);
    if !state.agents.contains_key(&id) {
        return Err(agent_missing(&id));
    }
    let session_id = uuid::Uuid::new_v4().to_string();
    state.sessions.insert(
        session_id.clone(),
        FakeSession {
            agent_id: id,
            session_name: name,
            turns: Vec::new(),
        },
    );
    lock(&inner.counters).create("session");
    ok(json!({ "session_id": session_id }))
}

pub(super) async fn create_turn(
    State(inner): Shared,
    Path((agent_id, session_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let body = json_body(&bytes)?;
    let Some(Value::Array(messages)) = body.get("messages") else {
        return Err(invalid_field(&["messages"], "Field required"));
    };
    let user_message = messages
        .iter()
        .rev()
        .find(|message| message["role"] == "user")
        .map(|message| content_text(&message["content"]))
        .unwrap_or_default();
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        return Err(detail(
            StatusCode::NOT_IMPLEMENTED,
            "Not implemented: Non-streaming agent turns not yet implemented",
        ));
    }
    let turn_latency = lock(&inner.faults).turn_latency;
    if turn_latency > Duration::ZERO {
        tokio::time::sleep(turn_latency).await;
    }
    // LlamaStack 0.2.18 answers a turn on an unknown agent or session
    // inside the 200 stream (docs/llamastack.md, "Turns")
    let config = {
        let state = lock(&inner.state);
        let Some(agent) = state.agents.get(&agent_id) else {
            return Ok(sse(&[json!({"error": {"message": format!(
                "400: Invalid value: Could not find agent info for {agent_id}"
            )}})]));
        };
        match state.sessions.get(&session_id) {
            Some(session) if session.agent_id == agent_id => {}
            _ => {
                return Ok(sse(&[json!({"error": {"message": format!(
                    "400: Invalid value: Session {session_id} not found"
                )}})]));
            }
        }
        agent["agent_config"].clone()
    };
    lock(&inner.counters).turns += 1;
    let (error, truncated) = {
        let mut faults = lock(&inner.faults);
        let error = faults.turn_errors.pop_front();
        let truncated = error.is_none() && faults.truncated_turns > 0;
        if truncated {
            faults.truncated_turns -= 1;
        }
        (error, truncated)
    };
    if let Some(message) = error {
        return Ok(sse(&[json!({"error": {"message": message}})]));
    }
    let reply = {
        let replies = inner.replies.read().unwrap_or_else(PoisonError::into_inner);
        let name = config["name"].as_str().unwrap_or_default();
        replies
            .by_agent_name
            .get(name)
            .unwrap_or(&replies.default)
            .clone()
    };
    let parsed: AgentConfig = serde_json::from_value(config).map_err(|error| {
        detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("stored agent config: {error}"),
        )
    })?;
    let answer = reply(&parsed, &user_message);
    if let Some(session) = lock(&inner.state).sessions.get_mut(&session_id) {
        session.turns.push((user_message.clone(), answer.clone()));
    }
    Ok(sse(&turn_events(
        &inner,
        &session_id,
        &user_message,
        &answer,
        truncated,
    )))
}

pub(super) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(content_text).collect(),
        Value::Object(item) => item["text"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// The events meta-reference streams for a turn of one inference step.
pub(super) fn turn_events(
    inner: &Inner,
    session_id: &str,
    user: &str,
    answer: &str,
    truncated: bool,
) -> Vec<Value> {
    let turn_id = uuid::Uuid::new_v4().to_string();
    let step_id = uuid::Uuid::new_v4().to_string();
    let started = next_timestamp(inner);
    let output = json!({"role": "assistant", "content": answer, "stop_reason": "end_of_turn", "tool_calls": []});
    let step = json!({
        "turn_id": turn_id, "step_id": step_id, "started_at": started, "completed_at": next_timestamp(inner),
        "step_type": "inference", "model_response": output,
    });
    let payload = |payload: Value| json!({"event": {"payload": payload}});
    let mut events = vec![
        // as 0.2.18 streams it: no turn_start, and the first delta is empty
        payload(
            json!({"event_type": "step_start", "step_type": "inference", "step_id": step_id, "metadata": {}}),
        ),
        payload(
            json!({"event_type": "step_progress", "step_type": "inference", "step_id": step_id,
                       "delta": {"type": "text", "text": ""}}),
        ),
        payload(
            json!({"event_type": "step_progress", "step_type": "inference", "step_id": step_id,
                       "delta": {"type": "text", "text": answer}}),
        ),
    ];
    if truncated {
        return events;
    }
    events.push(payload(json!({"event_type": "step_complete", "step_type": "inference", "step_id": step_id, "step_details": step})));
    events.push(payload(json!({"event_type": "turn_complete", "turn": {
        "turn_id": turn_id, "session_id": session_id,
        "input_messages": [{"role": "user", "content": user, "context": null}],
        "steps": [step], "output_message": output, "output_attachments": [],
        "started_at": started, "completed_at": next_timestamp(inner),
    }})));
    events
}

/// `data: {json}` events, as 0.2.18 streams them (no event names, no `[DONE]`).
pub(super) fn sse(events: &[Value]) -> Response {
    let events: Vec<Result<Event, Infallible>> = events
        .iter()
        .map(|event| Ok(Event::default().data(event.to_string())))
        .collect();
    Sse::new(futures_util::stream::iter(events)).into_response()
}
