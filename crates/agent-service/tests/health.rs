//! Liveness, readiness and metrics.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get, start};
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn ready_when_database_schema_and_llamastack_are() {
    let app = start().await;
    let (status, body) = app.call(get("/ready", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["schema"]["revision"], "001");

    let (status, body) = app.call(get("/health", None)).await;
    assert_eq!(status, 200);
    assert_eq!(body["database_connected"], true);
}

#[tokio::test]
async fn not_ready_while_llamastack_is_down_and_ready_again_after() {
    let app = start().await;
    app.fake.stop().await;
    let (status, body) = app.call(get("/ready", None)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["llamastack"]["ok"], false);
    assert_eq!(body["checks"]["database"]["ok"], true);

    app.fake.restart().await.unwrap();
    assert_eq!(app.call(get("/ready", None)).await.0, 200);
}

#[tokio::test]
async fn not_ready_while_the_schema_is_not_at_the_expected_revision() {
    let app = common::start_with(|config| config.expected_migration_version = "002".into()).await;
    let (status, body) = app.call(get("/ready", None)).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["schema"]["reason"]
            .as_str()
            .unwrap()
            .contains("002")
    );

    let app = start().await;
    app.state
        .db
        .execute_unprepared("DELETE FROM alembic_version")
        .await
        .unwrap();
    let (status, body) = app.call(get("/ready", None)).await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_time_agent_turns() {
    let app = start().await;
    app.send("alice", "hello").await;
    app.call(get("/api/v1/requests/missing", Some("alice")))
        .await;

    let response = app.call(get("/metrics", None)).await;
    let text = response.1.as_str().unwrap().to_owned();

    assert!(
        text.contains(r#"route="/api/v1/requests/generic/sync""#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/requests/{request_id}",status="404""#),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"agent_turn_duration_seconds_count{agent="routing-agent""#),
        "{text}"
    );
    assert!(text.contains("db_pool_max_connections"), "{text}");
}
