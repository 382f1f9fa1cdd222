//! What an adversarial probe broke, as the probe ran it, in-process against
//! a real PostgreSQL and the fake LlamaStack: session races, identity
//! headers, the anonymous reset, hostile bodies and paths, shared lookups.
//! (The process-level scenarios: `bins/self-service-agent/tests/hardening.rs`.)

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use axum::body::Body;
use axum::http::Request;
use common::{get, json_request, start};
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shared_db::entities::{SessionStatus, request_sessions};

const SYNC: &str = "/api/v1/requests/generic/sync";

fn raw_post(uri: &str, user: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header("x-user-id", user)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn new_session(app: &common::TestApp, user: &str) -> String {
    let (status, body) = app
        .call(json_request(
            "POST",
            "/api/v1/sessions",
            Some(user),
            &json!({"integration_type": "CLI"}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    body["session_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn concurrent_reactivations_leave_exactly_one_active_session() {
    let app = start().await;
    let sessions = [
        new_session(&app, "alice").await,
        new_session(&app, "alice").await,
        new_session(&app, "alice").await,
    ];
    for round in 0..100 {
        let puts = (0..9).map(|i| {
            let router = app.router.clone();
            let session = sessions[i % 3].clone();
            async move {
                common::call(
                    &router,
                    json_request(
                        "PUT",
                        &format!("/api/v1/sessions/{session}"),
                        Some("alice"),
                        &json!({"status": "ACTIVE"}),
                    ),
                )
                .await
                .0
            }
        });
        for status in join_all(puts).await {
            assert_eq!(status, 200);
        }
        let active = request_sessions::Entity::find()
            .filter(request_sessions::Column::UserId.eq("alice"))
            .filter(request_sessions::Column::Status.eq(SessionStatus::Active))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(active.len(), 1, "round {round}: {} ACTIVE", active.len());
    }
}

#[tokio::test]
async fn a_repeated_identity_header_is_refused() {
    let app = start().await;
    let request = Request::builder()
        .method("GET")
        .uri("/api/v1/requests/anything")
        .header("x-user-id", "alice")
        .header("x-user-id", "bob")
        .body(Body::empty())
        .unwrap();
    let (status, body) = app.call(request).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("x-user-id"),
        "{body}"
    );
}

#[tokio::test]
async fn without_identity_only_the_reset_is_accepted_and_it_returns_no_session_data() {
    let app = start().await;
    let (_, sent) = app.send("alice", "hello").await;
    let session = sent["session_id"].as_str().unwrap();
    let uri = format!("/api/v1/sessions/{session}");
    for body in [
        json!({"status": "ACTIVE"}),
        json!({"current_agent_id": "laptop-refresh"}),
        json!({"user_context": {"role": "admin"}}),
        json!({"status": "INACTIVE", "current_agent_id": "laptop-refresh"}),
    ] {
        let (status, answer) = app.call(json_request("PUT", &uri, None, &body)).await;
        assert_eq!(status, 401, "{body}: {answer}");
    }
    let (status, answer) = app
        .call(json_request(
            "PUT",
            &uri,
            None,
            &json!({"status": "INACTIVE"}),
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"session_id": session, "status": "INACTIVE"}));
    let (_, read) = app.call(get(&uri, Some("alice"))).await;
    assert_eq!(read["status"], "INACTIVE");
    assert_eq!(read["current_agent_id"], "routing-agent");
}

#[tokio::test]
async fn an_owner_cannot_point_a_session_at_an_agent_that_does_not_exist() {
    let app = start().await;
    let (_, sent) = app.send("alice", "hello").await;
    let uri = format!("/api/v1/sessions/{}", sent["session_id"].as_str().unwrap());
    let (status, body) = app
        .call(json_request(
            "PUT",
            &uri,
            Some("alice"),
            &json!({"current_agent_id": "no-such-agent"}),
        ))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("current_agent_id")
    );
}

#[tokio::test]
async fn a_nul_character_anywhere_in_a_body_is_refused_naming_the_field() {
    let app = start().await;
    let cases = [
        (
            json!({"content": "a\u{0}b", "integration_type": "CLI"}),
            "content",
        ),
        (
            json!({"content": "hi", "integration_type": "CLI", "request_type": "x\u{0}"}),
            "request_type",
        ),
        (
            json!({"content": "hi", "integration_type": "CLI", "metadata": {"k\u{0}": 1}}),
            "metadata.k",
        ),
        (
            json!({"content": "hi", "integration_type": "CLI", "metadata": {"notes": ["ok", "\u{0}"]}}),
            "metadata.notes[1]",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(json_request("POST", SYNC, Some("alice"), &body))
            .await;
        assert_eq!(status, 422, "{field}: {answer}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.starts_with(field), "{field}: {detail}");
    }
    let (status, answer) = app
        .call(get("/api/v1/sessions/abc%00def", Some("alice")))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].is_string());
}

#[tokio::test]
async fn lengths_are_counted_in_characters_as_the_columns_count_them() {
    let app = start().await;
    let body = |request_type: String| json!({"content": "hi", "integration_type": "CLI", "request_type": request_type});
    let (status, answer) = app
        .call(json_request(
            "POST",
            SYNC,
            Some("alice"),
            &body("é".repeat(50)),
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = app
        .call(json_request(
            "POST",
            SYNC,
            Some("alice"),
            &body("é".repeat(51)),
        ))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_path_that_is_not_utf8_and_a_positional_body_get_json_errors() {
    let app = start().await;
    let (status, answer) = app.call(get("/api/v1/requests/%ff", Some("alice"))).await;
    assert_eq!(status, 400);
    assert!(answer["detail"].is_string(), "{answer}");
    let (status, answer) = app
        .call(raw_post(SYNC, "alice", r#"["alice", "hello", "CLI"]"#))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("JSON object"));
}

#[tokio::test]
async fn parallel_first_requests_share_one_conversation_and_one_model_lookup() {
    let app = start().await;
    let sends = (0..10).map(|_| {
        let router = app.router.clone();
        async move { common::call(&router, common::sync_request("newcomer", "hello")).await }
    });
    let answers = join_all(sends).await;
    let sessions: HashSet<Value> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["session_id"].clone()
        })
        .collect();
    assert_eq!(sessions.len(), 1, "one conversation");
    let requests = app.fake.requests();
    let trace: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let answered = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/responses"))
        .count();
    assert_eq!(answered, 10, "one Responses call per request: {trace:#?}");
    // The base path is asked once (`/v1/openai/v1/models` answers 404 on a
    // current server, `/v1/models` 200), then the models are listed once
    // for the shared cache miss.
    let listed = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/models"))
        .count();
    assert_eq!(listed, 3, "discovery and one model list: {trace:#?}");
}

#[tokio::test]
async fn an_accepted_request_is_answered_in_the_background_and_readable() {
    let app = start().await;
    let (status, accepted) = app
        .call(common::prefer_async(json_request(
            "POST",
            "/api/v1/requests/generic",
            Some("alice"),
            &json!({"content": "I need a new laptop", "integration_type": "CLI"}),
        )))
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let uri = format!(
        "/api/v1/requests/{}",
        accepted["request_id"].as_str().unwrap()
    );
    let read = common::eventually(&app, &uri, "alice", |read| read["status"] == "completed").await;
    assert_eq!(read["response"]["agent_id"], "laptop-refresh");
    assert_eq!(read["session_id"], accepted["session_id"]);
}

#[tokio::test]
async fn accepted_requests_of_one_session_are_answered_in_order() {
    let app = start().await;
    app.fake.set_latency(std::time::Duration::from_millis(30));
    let mut ids = Vec::new();
    for i in 0..8 {
        let (status, accepted) = app
            .call(common::prefer_async(json_request(
                "POST",
                "/api/v1/requests/cli",
                Some("alice"),
                &json!({"content": format!("message {i}")}),
            )))
            .await;
        assert_eq!(status, 202, "{accepted}");
        ids.push(accepted["request_id"].as_str().unwrap().to_owned());
    }
    let mut finished = Vec::new();
    for id in &ids {
        let uri = format!("/api/v1/requests/{id}");
        let read =
            common::eventually(&app, &uri, "alice", |read| read["status"] == "completed").await;
        finished.push(read["completed_at"].as_str().unwrap().to_owned());
    }
    let mut sorted = finished.clone();
    sorted.sort();
    assert_eq!(finished, sorted, "answered in the order they were sent");
}
