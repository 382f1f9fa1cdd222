//! `POST /api/v1/requests/{generic,cli,web}` answers synchronously, in the
//! Python request manager's shape, unless the caller sends `Prefer:
//! respond-async`; the `/sync` routes stay; a synchronous caller that goes
//! away loses nothing.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ROUTING_GREETING, json_request, prefer_async, start};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use shared_db::entities::delivery_logs;
use tower::ServiceExt as _;

fn message(uri: &str, content: &str) -> axum::http::Request<axum::body::Body> {
    json_request(
        "POST",
        uri,
        Some("alice"),
        &json!({"user_id": "alice", "content": content, "integration_type": "CLI",
                "request_type": "message", "metadata": {}}),
    )
}

#[tokio::test]
async fn every_channel_answers_200_with_the_answer_in_the_python_shape() {
    let app = start().await;
    for channel in ["generic", "cli", "web"] {
        let (status, body) = app
            .call(message(&format!("/api/v1/requests/{channel}"), "hello"))
            .await;

        assert_eq!(status, 200, "{channel}: {body}");
        assert_eq!(body["status"], "completed", "{channel}");
        assert!(body["request_id"].is_string() && body["session_id"].is_string());
        let response = &body["response"];
        assert_eq!(response["content"], ROUTING_GREETING, "{channel}");
        assert_eq!(response["agent_id"], "routing-agent");
        assert!(response["metadata"].is_object());
        assert!(response["processing_time_ms"].is_number());
        assert_eq!(response["requires_followup"], false);
        assert_eq!(response["followup_actions"], json!([]));
    }
}

#[tokio::test]
async fn the_synchronous_answer_is_the_one_stored() {
    let app = start().await;
    let (_, sent) = app
        .call(message("/api/v1/requests/generic", "I need a new laptop"))
        .await;

    let uri = format!("/api/v1/requests/{}", sent["request_id"].as_str().unwrap());
    let (status, read) = app.call(common::get(&uri, Some("alice"))).await;

    assert_eq!(status, 200, "{read}");
    assert_eq!(read["response"], sent["response"]);
}

#[tokio::test]
async fn prefer_respond_async_answers_202_with_location_and_the_request_completes() {
    let app = start().await;
    let response = app
        .router
        .clone()
        .oneshot(prefer_async(message(
            "/api/v1/requests/generic",
            "I need a new laptop",
        )))
        .await
        .unwrap();

    assert_eq!(response.status(), 202);
    let headers = response.headers().clone();
    assert_eq!(headers["preference-applied"], "respond-async");
    assert_eq!(headers["vary"], "prefer, accept");
    let (_, accepted) = common::call(
        &app.router,
        prefer_async(message("/api/v1/requests/cli", "hi")),
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    let location = headers["location"].to_str().unwrap().to_owned();
    let read = common::eventually(&app, &location, "alice", |read| {
        read["status"] == "completed"
    })
    .await;
    assert_eq!(read["response"]["agent_id"], "laptop-refresh");
}

#[tokio::test]
async fn respond_async_is_found_among_other_preferences_in_any_case() {
    let app = start().await;
    let mut request = message("/api/v1/requests/web", "hello");
    request.headers_mut().insert(
        "prefer",
        "return=minimal, Respond-Async; foo=bar, wait=10"
            .parse()
            .unwrap(),
    );

    let (status, body) = app.call(request).await;

    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn other_preferences_leave_the_answer_synchronous() {
    let app = start().await;
    let mut request = message("/api/v1/requests/generic", "hello");
    request.headers_mut().insert(
        "prefer",
        "return=representation, respond-asynchronously"
            .parse()
            .unwrap(),
    );

    let (status, body) = app.call(request).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["content"], ROUTING_GREETING);
}

#[tokio::test]
async fn the_sync_routes_stay_synchronous_aliases() {
    let app = start().await;
    for channel in ["generic", "cli", "web"] {
        let (status, body) = app
            .call(prefer_async(message(
                &format!("/api/v1/requests/{channel}/sync"),
                "hello",
            )))
            .await;

        assert_eq!(status, 200, "{channel}: {body}");
        assert_eq!(body["response"]["content"], ROUTING_GREETING);
    }
}

#[tokio::test]
async fn a_synchronous_caller_that_goes_away_mid_turn_loses_nothing() {
    let app = start().await;
    let (status, integration) = app
        .call(json_request(
            "POST",
            "/api/v1/users/alice/integrations",
            Some("alice"),
            &json!({"integration_type": "WEBHOOK",
                    "config": {"url": "http://127.0.0.1:9/hook",
                               "signing_secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}}),
        ))
        .await;
    assert_eq!(status, 201, "{integration}");
    app.fake.set_turn_latency(Duration::from_millis(800));

    // The caller gives up while the model is still thinking: its request
    // future is dropped, as the server drops it when the connection closes.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        app.call(message("/api/v1/requests/generic", "hello")),
    )
    .await;
    assert!(gave_up.is_err(), "the turn must outlast the caller");

    let rows = wait_for_delivery(&app).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let request_id = rows[0].request_id.clone();
    assert_eq!(rows[0].content, ROUTING_GREETING);
    let read = common::eventually(
        &app,
        &format!("/api/v1/requests/{request_id}"),
        "alice",
        |read| read["status"] == "completed",
    )
    .await;
    assert_eq!(read["response"]["content"], ROUTING_GREETING);
}

async fn wait_for_delivery(app: &common::TestApp) -> Vec<delivery_logs::Model> {
    let started = std::time::Instant::now();
    loop {
        let rows = delivery_logs::Entity::find()
            .filter(delivery_logs::Column::UserId.eq("alice"))
            .all(&app.state.db)
            .await
            .unwrap();
        if !rows.is_empty() {
            return rows;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the answer was never queued for delivery"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
