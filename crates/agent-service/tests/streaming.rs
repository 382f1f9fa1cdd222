//! Streamed answers: with `Accept: text/event-stream` the synchronous
//! routes send the turn's events as they happen, then exactly the
//! non-streamed answer.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use common::{ROUTING_GREETING, get, start};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// One SSE event: its name, its JSON, and when it arrived.
#[derive(Debug)]
struct Received {
    name: String,
    data: Value,
    at: Instant,
}

fn streamed(uri: &str, content: &str) -> Request<Body> {
    let mut request = common::json_request(
        "POST",
        uri,
        Some("alice"),
        &json!({"content": content, "integration_type": "CLI"}),
    );
    request
        .headers_mut()
        .insert("accept", "text/event-stream".parse().unwrap());
    request
}

/// Sends `request` and reads its event stream to the end.
async fn events(app: &common::TestApp, request: Request<Body>) -> Vec<Received> {
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut received = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("the stream goes on")
    {
        let Ok(data) = frame.unwrap().into_data() else {
            continue;
        };
        buffer.push_str(std::str::from_utf8(&data).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            if let Some(name) = name {
                received.push(Received {
                    name,
                    data: serde_json::from_str(&data).unwrap(),
                    at: Instant::now(),
                });
            }
        }
    }
    received
}

fn names(events: &[Received]) -> Vec<&str> {
    let mut names: Vec<&str> = events.iter().map(|event| event.name.as_str()).collect();
    names.dedup();
    names
}

fn text(events: &[Received]) -> String {
    events
        .iter()
        .filter(|event| event.name == "delta")
        .map(|event| event.data["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_hand_off_streams_the_transfer_call_the_handoff_the_new_agents_text_then_the_answer() {
    let app = start().await;

    let events = events(
        &app,
        streamed("/api/v1/requests/generic", "I need a new laptop"),
    )
    .await;

    assert_eq!(
        names(&events),
        ["tool_call", "handoff", "delta", "done"],
        "{events:#?}"
    );
    assert_eq!(
        events[0].data,
        json!({"server": null, "name": "transfer_to_laptop-refresh"}),
        "the tool by name, without its arguments"
    );
    assert_eq!(
        events[1].data,
        json!({"from": "routing-agent", "to": "laptop-refresh"})
    );
    let done = &events.last().unwrap().data;
    assert_eq!(done["response"]["agent_id"], "laptop-refresh");
    assert_eq!(text(&events), done["response"]["content"].as_str().unwrap());
}

#[tokio::test]
async fn the_final_event_is_exactly_the_non_streamed_answer() {
    let app = start().await;
    let events = events(&app, streamed("/api/v1/requests/cli", "hello")).await;
    let done = &events.last().unwrap().data;

    let (_, stored) = app
        .call(get(
            &format!("/api/v1/requests/{}", done["request_id"].as_str().unwrap()),
            Some("alice"),
        ))
        .await;
    let (_, plain) = app.send("alice", "hello").await;

    assert_eq!(done["status"], "completed");
    assert_eq!(done["session_id"], stored["session_id"]);
    assert_eq!(done["response"], stored["response"]);
    assert_eq!(done["response"]["content"], ROUTING_GREETING);
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(done), keys(&plain));
    assert_eq!(keys(&done["response"]), keys(&plain["response"]));
}

#[tokio::test]
async fn the_first_delta_arrives_while_the_model_is_still_writing() {
    let app = start().await;
    let pause = Duration::from_millis(150);
    app.fake.set_token_delay(pause);

    let events = events(&app, streamed("/api/v1/requests/generic/sync", "hello")).await;

    let first = events.iter().find(|event| event.name == "delta").unwrap();
    let done = events.last().unwrap();
    assert_eq!(done.name, "done");
    let deltas = events.iter().filter(|event| event.name == "delta").count();
    assert!(deltas >= 4, "the greeting comes in pieces: {events:#?}");
    // The model pauses before each further token: the first came at least
    // that many pauses before the end.
    let ahead = done.at - first.at;
    assert!(
        ahead >= pause * 3,
        "the first delta came only {ahead:?} before the answer"
    );
}

#[tokio::test]
async fn a_failed_turn_ends_the_stream_with_the_error_the_plain_route_answers() {
    let app = start().await;
    app.fake.fail_next_responses(1, "the model is away");

    let events = events(&app, streamed("/api/v1/requests/generic", "hello")).await;

    let last = events.last().unwrap();
    assert_eq!(last.name, "error", "{events:#?}");
    assert_eq!(last.data["error"], "agent_failed");
    assert!(last.data["request_id"].is_string());
}

#[tokio::test]
async fn prefer_respond_async_wins_over_a_stream() {
    let app = start().await;
    let request = common::prefer_async(streamed("/api/v1/requests/generic", "hello"));

    let (status, body) = app.call(request).await;

    assert_eq!(status, 202, "{body}");
}
