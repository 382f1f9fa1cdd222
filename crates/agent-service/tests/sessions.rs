//! Sessions: create, read, reset (as the Python chat client does it).

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get, json_request, start};
use serde_json::json;

#[tokio::test]
async fn a_created_session_is_the_users_active_one_and_replaces_the_previous() {
    let app = start().await;
    let (_, first) = app.send("alice", "hello").await;

    let (status, created) = app
        .call(json_request(
            "POST",
            "/api/v1/sessions",
            Some("alice"),
            &json!({"integration_type": "CLI", "channel_id": "terminal-1", "user_context": {"team": "it"}}),
        ))
        .await;

    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["user_id"], "alice");
    assert_eq!(created["channel_id"], "terminal-1");
    let (_, old) = app
        .call(get(
            &format!("/api/v1/sessions/{}", first["session_id"].as_str().unwrap()),
            Some("alice"),
        ))
        .await;
    assert_eq!(old["status"], "INACTIVE");
    let (_, next) = app.send("alice", "hello again").await;
    assert_eq!(next["session_id"], created["session_id"]);
}

#[tokio::test]
async fn the_python_clients_reset_without_identity_starts_a_new_session() {
    let app = start().await;
    let (_, first) = app.send("alice", "I need a new laptop").await;
    let session_id = first["session_id"].as_str().unwrap();

    // The Python client's reset: PUT with no x-user-id.
    let (status, reset) = app
        .call(json_request(
            "PUT",
            &format!("/api/v1/sessions/{session_id}"),
            None,
            &json!({"status": "INACTIVE"}),
        ))
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["status"], "INACTIVE");

    let (status, next) = app.send("alice", "hello").await;
    assert_eq!(status, 200);
    assert_ne!(next["session_id"], first["session_id"]);
    assert_eq!(
        next["response"]["agent_id"], "routing-agent",
        "a new session starts at the router"
    );
}

#[tokio::test]
async fn reactivating_an_old_session_deactivates_the_current_one() {
    let app = start().await;
    let (_, first) = app.send("alice", "hello").await;
    let first_id = first["session_id"].as_str().unwrap().to_owned();
    app.call(json_request(
        "PUT",
        &format!("/api/v1/sessions/{first_id}"),
        Some("alice"),
        &json!({"status": "INACTIVE"}),
    ))
    .await;
    let (_, second) = app.send("alice", "hello").await;

    let (status, _) = app
        .call(json_request(
            "PUT",
            &format!("/api/v1/sessions/{first_id}"),
            Some("alice"),
            &json!({"status": "ACTIVE"}),
        ))
        .await;
    assert_eq!(status, 200);

    let (_, second_now) = app
        .call(get(
            &format!(
                "/api/v1/sessions/{}",
                second["session_id"].as_str().unwrap()
            ),
            Some("alice"),
        ))
        .await;
    assert_eq!(second_now["status"], "INACTIVE");
    let (_, next) = app.send("alice", "back again").await;
    assert_eq!(next["session_id"], first_id.as_str());
}

#[tokio::test]
async fn an_unknown_session_is_404() {
    let app = start().await;
    let (status, body) = app.call(get("/api/v1/sessions/nope", Some("alice"))).await;
    assert_eq!(status, 404, "{body}");
}
