//! The commands of the conversation, as in the Python system: `reset` ends
//! the session, `**tokens**` tells its token usage in the line the Python
//! CLI client parses.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ROUTING_GREETING, start};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use shared_db::entities::{SessionStatus, request_sessions};

const RESET_ANSWER: &str =
    "Your conversation has been reset. Your next message starts a new conversation.";

async fn status_of(app: &common::TestApp, session_id: &str) -> SessionStatus {
    request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

/// The numbers of a `TOKEN_SUMMARY:` line, by name.
fn token_summary(content: &str) -> Vec<(String, i64)> {
    let line = content
        .lines()
        .next()
        .filter(|line| line.starts_with("TOKEN_SUMMARY:"))
        .unwrap_or_else(|| panic!("no TOKEN_SUMMARY line first: {content}"));
    let parts: Vec<&str> = line.split(':').collect();
    assert_eq!(parts.len(), 15, "{line}");
    parts[1..]
        .chunks(2)
        .map(|pair| (pair[0].to_owned(), pair[1].parse().unwrap()))
        .collect()
}

fn usage_of(answer: &Value, field: &str) -> i64 {
    answer["response"]["metadata"]["usage"][field]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn reset_in_any_case_ends_the_session_and_the_next_message_starts_a_new_one() {
    let app = start().await;
    let (_, first) = app.send("alice", "I need a new laptop").await;
    let old_session = first["session_id"].as_str().unwrap().to_owned();
    app.fake.clear_requests();

    let (status, reset) = app.send("alice", "  ReSeT ").await;

    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["response"]["content"], RESET_ANSWER);
    assert_eq!(reset["session_id"], old_session.as_str());
    assert_eq!(app.fake.responses_received().len(), 0, "no model is asked");
    assert_eq!(status_of(&app, &old_session).await, SessionStatus::Inactive);

    let (_, next) = app.send("alice", "hello").await;
    assert_ne!(next["session_id"], old_session.as_str());
    assert_eq!(next["response"]["agent_id"], "routing-agent");
    assert_eq!(next["response"]["content"], ROUTING_GREETING);
    let calls = app.fake.responses_received();
    assert_eq!(
        calls[0].previous_response_id, None,
        "a new chain: {calls:#?}"
    );
}

#[tokio::test]
async fn reset_inside_a_sentence_is_an_ordinary_message() {
    let app = start().await;

    let (_, answer) = app.send("alice", "please reset my password").await;

    assert_eq!(answer["response"]["content"], ROUTING_GREETING);
    assert_eq!(app.fake.responses_received().len(), 1);
}

#[tokio::test]
async fn tokens_after_two_turns_sums_the_usage_the_model_reported() {
    let app = start().await;
    let (_, first) = app.send("alice", "I need a new laptop").await;
    let (_, second) = app.send("alice", "Which models are there?").await;
    let total = |field| usage_of(&first, field) + usage_of(&second, field);
    assert!(total("input_tokens") > 0, "the stub reports usage: {first}");
    app.fake.clear_requests();

    let (status, tokens) = app.send("alice", "**tokens**").await;

    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["session_id"], first["session_id"]);
    assert_eq!(app.fake.responses_received().len(), 0, "no model is asked");
    let content = tokens["response"]["content"].as_str().unwrap();
    let summary = token_summary(content);
    let max = |field| usage_of(&first, field).max(usage_of(&second, field));
    let expected: Vec<(String, i64)> = [
        ("INPUT", total("input_tokens")),
        ("OUTPUT", total("output_tokens")),
        ("TOTAL", total("total_tokens")),
        ("CALLS", total("calls")),
        ("MAX_SINGLE_INPUT", max("input_tokens")),
        ("MAX_SINGLE_OUTPUT", max("output_tokens")),
        ("MAX_SINGLE_TOTAL", max("total_tokens")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    assert_eq!(summary, expected, "{content}");
    assert!(
        content.lines().nth(1).is_some_and(|sentence| sentence
            .contains(&format!("{} tokens", total("total_tokens")))),
        "a sentence for people follows: {content}"
    );
}

#[tokio::test]
async fn tokens_count_only_the_current_session() {
    let app = start().await;
    app.send("alice", "I need a new laptop").await;
    app.send("alice", "reset").await;
    let (_, fresh) = app.send("alice", "hello").await;

    let (_, tokens) = app.send("alice", "**TOKENS**").await;

    let summary = token_summary(tokens["response"]["content"].as_str().unwrap());
    assert_eq!(
        summary[0],
        ("INPUT".to_owned(), usage_of(&fresh, "input_tokens"))
    );
    assert_eq!(summary[3], ("CALLS".to_owned(), 1));
}

#[tokio::test]
async fn tokens_on_a_server_reporting_no_usage_count_zeros_and_say_so() {
    let app = common::start_on_0_2_18().await;
    app.send("alice", "I need a new laptop").await;

    let (status, tokens) = app.send("alice", "**tokens**").await;

    assert_eq!(status, 200, "{tokens}");
    let content = tokens["response"]["content"].as_str().unwrap();
    let summary = token_summary(content);
    assert!(
        summary
            .iter()
            .all(|(name, value)| (name == "CALLS") == (*value != 0)),
        "tokens 0, calls counted: {content}"
    );
    assert!(
        content.contains("reported no token usage"),
        "the sentence says why: {content}"
    );
}
