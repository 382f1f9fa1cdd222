//! The request flow: sessions, logging, agent turns, hand-off, failures.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};

use common::{ROUTING_GREETING, get, start};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use shared_db::entities::{SessionStatus, request_logs, request_sessions};

async fn session_row(app: &common::TestApp, session_id: &str) -> request_sessions::Model {
    request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_first_message_creates_a_session_and_is_answered_by_the_routing_agent() {
    let app = start().await;

    let (status, body) = app.send("alice", "hello").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["response"]["content"], ROUTING_GREETING);
    assert_eq!(body["response"]["agent_id"], "routing-agent");
    assert!(body["response"]["processing_time_ms"].is_number());
    let session = session_row(&app, body["session_id"].as_str().unwrap()).await;
    assert_eq!(session.user_id, "alice");
    assert_eq!(session.status, SessionStatus::Active);
    assert_eq!(session.total_requests, 1);
    assert_eq!(
        session.last_request_id.as_deref(),
        body["request_id"].as_str()
    );
}

#[tokio::test]
async fn a_transfer_call_hands_the_session_over_and_the_next_message_goes_straight_there() {
    let app = start().await;

    let (status, first) = app.send("alice", "I need a new laptop").await;

    assert_eq!(status, 200, "{first}");
    assert_eq!(first["response"]["agent_id"], "laptop-refresh");
    assert_eq!(
        first["response"]["content"],
        "laptop-refresh agent: about 'I need a new laptop'"
    );
    assert_eq!(
        first["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"])
    );
    let session_id = first["session_id"].as_str().unwrap();
    let session = session_row(&app, session_id).await;
    assert_eq!(session.current_agent_id.as_deref(), Some("laptop-refresh"));

    let first_calls = app.fake.responses_received();
    let laptop_answer = session.llama_stack_session_id.clone().unwrap();
    // routing (calls the transfer), laptop-refresh (answers), routing (its
    // call answered, in the background)
    assert_eq!(first_calls.len(), 3, "{first_calls:#?}");
    app.fake.clear_requests();
    let (status, second) = app.send("alice", "Which models are there?").await;

    assert_eq!(status, 200, "{second}");
    assert_eq!(second["session_id"], session_id);
    assert_eq!(second["response"]["agent_id"], "laptop-refresh");
    let calls = app.fake.responses_received();
    assert_eq!(
        calls.len(),
        1,
        "the second message must not reach the routing agent: {calls:#?}"
    );
    assert_eq!(
        calls[0].instructions.as_deref(),
        Some("You are the laptop-refresh.")
    );
    assert_eq!(
        calls[0].previous_response_id.as_deref(),
        Some(laptop_answer.as_str()),
        "the laptop agent's chain goes on"
    );
}

#[tokio::test]
async fn the_answer_and_its_request_are_stored_and_readable_by_the_owner() {
    let app = start().await;
    let (_, sent) = app.send("alice", "hello").await;
    let request_id = sent["request_id"].as_str().unwrap();

    let (status, read) = app
        .call(get(
            &format!("/api/v1/requests/{request_id}"),
            Some("alice"),
        ))
        .await;

    assert_eq!(status, 200, "{read}");
    assert_eq!(read["status"], "completed");
    assert_eq!(read["session_id"], sent["session_id"]);
    assert_eq!(read["response"]["content"], ROUTING_GREETING);
    assert!(read["completed_at"].is_string());
    let log = request_logs::Entity::find()
        .filter(request_logs::Column::RequestId.eq(request_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(log.request_content, "hello");
    assert_eq!(log.agent_id.as_deref(), Some("routing-agent"));
    assert!(log.processing_time_ms.is_some() && log.completed_at.is_some());
}

#[tokio::test]
async fn a_failed_turn_answers_502_and_is_stored_as_failed() {
    let app = start().await;
    app.fake.fail_next_responses(1, "the model exploded");

    let (status, body) = app.send("alice", "hello").await;

    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the model exploded"),
        "{body}"
    );
    let request_id = body["request_id"]
        .as_str()
        .expect("the failed request is named");
    let (status, read) = app
        .call(get(
            &format!("/api/v1/requests/{request_id}"),
            Some("alice"),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["status"], "failed");
    assert!(
        read["error"]
            .as_str()
            .unwrap()
            .contains("the model exploded")
    );

    let (status, _) = app.send("alice", "hello again").await;
    assert_eq!(status, 200, "the session goes on after a failure");
}

#[tokio::test]
async fn a_changed_prompt_is_sent_from_the_next_turn_without_a_restart() {
    let app = start().await;
    let (status, _) = app.send("alice", "hello").await;
    assert_eq!(status, 200);

    app.assets.write(
        "prompts/routing-agent.txt",
        "You are the routing-agent. Be brief.",
    );
    agent_service_reload(&app).await;
    app.fake.clear_requests();
    let (status, body) = app.send("alice", "hello again").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["content"], ROUTING_GREETING);
    let calls = app.fake.responses_received();
    assert_eq!(
        calls[0].instructions.as_deref(),
        Some("You are the routing-agent. Be brief.")
    );
}

/// What the service's watcher does on a change, done now.
async fn agent_service_reload(app: &common::TestApp) {
    let reloaded = agent_runtime::reload(&app.state.runtime, app.assets.path()).await;
    assert!(
        matches!(reloaded, agent_runtime::Reloaded::Replaced { .. }),
        "{reloaded:?}"
    );
}

#[tokio::test]
async fn two_users_and_a_hundred_concurrent_requests_keep_their_sessions_apart() {
    let app = start().await;
    let sends = (0..100).map(|i| {
        let router = app.router.clone();
        let user = if i % 2 == 0 { "alice" } else { "bob" };
        tokio::spawn(async move {
            let (status, body) =
                common::call(&router, common::sync_request(user, &format!("message {i}"))).await;
            (user, status, body)
        })
    });
    let mut sessions_by_user: HashMap<&str, HashSet<String>> = HashMap::new();
    for send in sends {
        let (user, status, body) = send.await.unwrap();
        assert_eq!(status, 200, "{body}");
        sessions_by_user
            .entry(user)
            .or_default()
            .insert(body["session_id"].as_str().unwrap().to_owned());
    }
    for (user, sessions) in &sessions_by_user {
        assert_eq!(sessions.len(), 1, "{user} used {sessions:?}");
    }
    assert!(sessions_by_user["alice"].is_disjoint(&sessions_by_user["bob"]));

    let logs = request_logs::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(logs.len(), 100);
    assert!(logs.iter().all(|log| log.response_content.is_some()));
    let mut contents: Vec<&str> = logs.iter().map(|l| l.request_content.as_str()).collect();
    contents.sort_unstable();
    contents.dedup();
    assert_eq!(contents.len(), 100, "every request is logged exactly once");
    for user in ["alice", "bob"] {
        let active = request_sessions::Entity::find()
            .filter(request_sessions::Column::UserId.eq(user))
            .filter(request_sessions::Column::Status.eq(SessionStatus::Active))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(active.len(), 1, "{user} has one ACTIVE session");
        assert_eq!(active[0].total_requests, 50);
    }
}

#[tokio::test]
async fn unknown_fields_sent_by_newer_clients_are_ignored() {
    let app = start().await;
    let request = common::json_request(
        "POST",
        "/api/v1/requests/generic/sync",
        Some("alice"),
        &serde_json::json!({
            "user_id": "alice", "content": "hello", "integration_type": "CLI",
            "request_type": "message", "metadata": {}, "use_responses": true,
        }),
    );
    let (status, body) = app.call(request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["content"], Value::from(ROUTING_GREETING));
}

#[tokio::test]
async fn a_turn_past_the_request_timeout_answers_504_and_is_stored_as_failed() {
    let app = common::start_with(|config| {
        config.request_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    app.fake.set_latency(std::time::Duration::from_millis(1500));

    let (status, body) = app.send("alice", "hello").await;

    assert_eq!(status, 504, "{body}");
    let request_id = body["request_id"]
        .as_str()
        .expect("the timed-out request is named");
    app.fake.set_latency(std::time::Duration::ZERO);
    let (_, read) = app
        .call(get(
            &format!("/api/v1/requests/{request_id}"),
            Some("alice"),
        ))
        .await;
    assert_eq!(read["status"], "failed", "{read}");
    assert!(
        read["error"].as_str().unwrap().contains("timeout"),
        "{read}"
    );
}
