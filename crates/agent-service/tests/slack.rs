//! Employees talking to the agent in Slack, through the whole service:
//! signed Slack requests into its routes, the request queue, the agents
//! (the fake LlamaStack with the hand-off), the dispatcher, and answers
//! posted back through a fake Slack Web API that records every call.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use common::{TestApp, start_with_settings};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use shared_db::entities::{
    DeliveryStatus, SessionStatus, delivery_logs, request_logs, request_sessions,
};
use slack_bridge::{SignatureVerifier, SlackSettings};
use test_support::fake_slack::{BOT_TOKEN, FakeSlack, FakeUser, Fault, bodies};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5-service-test";
const ALICE: &str = "UALICE0001";
const ALICE_EMAIL: &str = "alice@example.com";
const GENERAL: &str = "CGENERAL01";
const ALICE_DM: &str = "DALICE0001";

struct Slack {
    app: TestApp,
    fake: FakeSlack,
}

async fn slack() -> Slack {
    let fake = FakeSlack::start().unwrap();
    fake.add_user(FakeUser::with_email(ALICE, ALICE_EMAIL));
    fake.add_channel(GENERAL);
    fake.add_channel(ALICE_DM);
    let settings = SlackSettings::for_api(&fake.api_url(), BOT_TOKEN, SIGNING_SECRET).unwrap();
    let app = start_with_settings(|all| {
        all.slack = Some(settings);
        all.service.dispatch_poll_interval = Duration::from_millis(100);
        all.service.delivery_max_backoff = Duration::from_secs(2);
    })
    .await;
    agent_service::start_dispatcher(&app.state);
    Slack { app, fake }
}

fn signed(path: &str, content_type: &str, body: &str, retry: Option<u32>) -> Request<Body> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let signature = SignatureVerifier::new(&SecretString::from(SIGNING_SECRET))
        .sign(&timestamp, body.as_bytes());
    let mut builder = Request::post(path)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature);
    if let Some(number) = retry {
        builder = builder
            .header("x-slack-retry-num", number.to_string())
            .header("x-slack-retry-reason", "http_timeout");
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

fn event(body: &str) -> Request<Body> {
    signed("/slack/events", "application/json", body, None)
}

async fn requests_of(app: &TestApp, user: &str) -> Vec<request_logs::Model> {
    let sessions: Vec<String> = request_sessions::Entity::find()
        .filter(request_sessions::Column::UserId.eq(user))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|session| session.session_id)
        .collect();
    request_logs::Entity::find()
        .filter(request_logs::Column::SessionId.is_in(sessions))
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_mention_about_a_laptop_is_answered_by_the_laptop_agent_in_its_thread() {
    let slack = slack().await;
    let (status, _) = slack
        .app
        .call(event(&bodies::mention(
            "Ev01",
            ALICE,
            GENERAL,
            "<@UFAKEBOT01> I need a new laptop",
            None,
        )))
        .await;
    assert_eq!(status, 200);
    let posted = slack
        .fake
        .wait_for_messages(1, Duration::from_secs(10))
        .await;
    assert_eq!(posted[0].channel, GENERAL);
    assert_eq!(
        posted[0].thread_ts.as_deref(),
        Some("1700000100.000200"),
        "in the mention's thread"
    );
    let text = serde_json::to_string(&posted[0].blocks).unwrap();
    assert!(
        text.contains("laptop-refresh"),
        "answered by the laptop agent: {text}"
    );
    let requests = requests_of(&slack.app, ALICE_EMAIL).await;
    assert_eq!(
        requests.len(),
        1,
        "the request's user is the person's email"
    );
    assert_eq!(requests[0].agent_id.as_deref(), Some("laptop-refresh"));
}

#[tokio::test]
async fn a_direct_message_is_answered_in_the_direct_message() {
    let slack = slack().await;
    slack
        .app
        .call(event(&bodies::direct_message(
            "Ev02", ALICE, ALICE_DM, "hello", None,
        )))
        .await;
    let posted = slack
        .fake
        .wait_for_messages(1, Duration::from_secs(10))
        .await;
    assert_eq!(posted[0].channel, ALICE_DM);
    assert_eq!(posted[0].thread_ts, None);
}

#[tokio::test]
async fn a_redelivered_event_makes_no_second_request_and_no_second_answer() {
    let slack = slack().await;
    let body = bodies::mention("Ev03", ALICE, GENERAL, "<@UFAKEBOT01> hello", None);
    assert_eq!(slack.app.call(event(&body)).await.0, 200);
    slack
        .fake
        .wait_for_messages(1, Duration::from_secs(10))
        .await;
    let again = signed("/slack/events", "application/json", &body, Some(1));
    assert_eq!(slack.app.call(again).await.0, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(requests_of(&slack.app, ALICE_EMAIL).await.len(), 1);
    assert_eq!(
        slack.fake.messages().len(),
        1,
        "answered in Slack exactly once"
    );
}

#[tokio::test]
async fn a_slash_command_is_acknowledged_at_once_and_answered_later() {
    let slack = slack().await;
    let url = slack.fake.response_url();
    let form = bodies::command("/it-help", "I need a new laptop", ALICE, &url);
    let started = Instant::now();
    let (status, ack) = slack
        .app
        .call(signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &form,
            None,
        ))
        .await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let responses = slack
        .fake
        .wait_for_responses(1, Duration::from_secs(10))
        .await;
    assert!(
        responses[0].body.to_string().contains("laptop-refresh"),
        "{:?}",
        responses[0].body
    );
}

#[tokio::test]
async fn the_new_session_button_starts_a_new_session() {
    let slack = slack().await;
    slack
        .app
        .call(event(&bodies::direct_message(
            "Ev04", ALICE, ALICE_DM, "hello", None,
        )))
        .await;
    slack
        .fake
        .wait_for_messages(1, Duration::from_secs(10))
        .await;
    let session = request_sessions::Entity::find()
        .filter(request_sessions::Column::UserId.eq(ALICE_EMAIL))
        .one(&slack.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let url = slack.fake.response_url();
    let form = bodies::button("ssa_new_session", &session.session_id, ALICE, &url);
    let (status, _) = slack
        .app
        .call(signed(
            "/slack/interactive",
            "application/x-www-form-urlencoded",
            &form,
            None,
        ))
        .await;
    assert_eq!(status, 200);
    slack
        .fake
        .wait_for_responses(1, Duration::from_secs(10))
        .await;
    let after = request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session.session_id.as_str()))
        .one(&slack.app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, SessionStatus::Inactive);
}

async fn slack_delivery(app: &TestApp, within: Duration) -> delivery_logs::Model {
    let started = Instant::now();
    loop {
        let row = delivery_logs::Entity::find()
            .filter(delivery_logs::Column::UserId.eq(ALICE_EMAIL))
            .one(&app.state.db)
            .await
            .unwrap();
        if let Some(row) = row
            && !matches!(
                row.status,
                DeliveryStatus::Pending | DeliveryStatus::Retrying
            )
        {
            return row;
        }
        assert!(started.elapsed() < within, "not settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn slacks_rate_limit_is_waited_out_and_the_answer_posted() {
    let slack = slack().await;
    slack.fake.fail_next(
        "chat.postMessage",
        2,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    slack
        .app
        .call(event(&bodies::direct_message(
            "Ev05", ALICE, ALICE_DM, "hello", None,
        )))
        .await;
    let row = slack_delivery(&slack.app, Duration::from_secs(15)).await;
    assert_eq!(row.status, DeliveryStatus::Delivered, "{row:?}");
    assert_eq!(slack.fake.messages().len(), 1);
    assert!(slack.fake.calls_of("chat.postMessage").len() >= 3);
}

#[tokio::test]
async fn invalid_auth_fails_the_delivery_at_once_with_the_reason() {
    let slack = slack().await;
    slack
        .fake
        .fail_next("chat.postMessage", 1, Fault::Error("invalid_auth".into()));
    slack
        .app
        .call(event(&bodies::direct_message(
            "Ev06", ALICE, ALICE_DM, "hello", None,
        )))
        .await;
    let row = slack_delivery(&slack.app, Duration::from_secs(10)).await;
    assert_eq!(row.status, DeliveryStatus::Failed);
    assert_eq!(row.attempts, 1);
    assert!(
        row.error_message
            .as_deref()
            .unwrap()
            .contains("invalid_auth"),
        "{row:?}"
    );
}
