//! `POST /slack/events`: what reaches the inbox, what does not, and how
//! fast Slack is acknowledged.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{
    ALICE, ALICE_DM, ALICE_EMAIL, GENERAL, Harness, NO_EMAIL_USER, SETTLE, bodies, signed_event,
};
use http::StatusCode;
use serde_json::json;
use slack_bridge::{Destination, Origin, SlackRetry};
use test_support::fake_slack::{BOT_ID, BOT_USER_ID};

#[tokio::test]
async fn the_url_verification_challenge_is_answered() {
    let harness = Harness::new();
    let (status, body) = harness
        .send(signed_event(&bodies::url_verification(
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn a_mention_is_submitted_without_the_mention_to_be_answered_in_its_thread() {
    let harness = Harness::new();
    let body = bodies::mention(
        "EvM1",
        ALICE,
        GENERAL,
        "<@UFAKEBOT01> I need a new laptop",
        None,
    );
    let (status, _) = harness.send(signed_event(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let submitted = harness.inbox.submitted();
    assert_eq!(submitted.len(), 1);
    let message = &submitted[0];
    assert_eq!(message.text, "I need a new laptop");
    assert_eq!(message.origin, Origin::Mention);
    assert_eq!(message.identity.email, ALICE_EMAIL);
    assert_eq!(message.event_id.as_deref(), Some("EvM1"));
    assert_eq!(
        message.destination,
        Destination::Conversation {
            channel: GENERAL.into(),
            thread_ts: Some("1700000100.000200".into())
        }
    );
}

#[tokio::test]
async fn a_mention_inside_a_thread_is_answered_in_that_thread() {
    let harness = Harness::new();
    let body = bodies::mention(
        "EvM2",
        ALICE,
        GENERAL,
        "<@UFAKEBOT01> and a dock",
        Some("1699999999.000001"),
    );
    harness.send(signed_event(&body)).await;
    assert_eq!(
        harness.inbox.submitted()[0].thread_ts.as_deref(),
        Some("1699999999.000001")
    );
}

#[tokio::test]
async fn a_direct_message_is_answered_in_the_conversation_without_a_thread() {
    let harness = Harness::new();
    let body = bodies::direct_message("EvD1", ALICE, ALICE_DM, "hello there", None);
    let (status, _) = harness.send(signed_event(&body)).await;
    assert_eq!(status, StatusCode::OK);
    let message = &harness.inbox.submitted()[0];
    assert_eq!(message.origin, Origin::DirectMessage);
    assert_eq!(message.text, "hello there");
    assert_eq!(
        message.destination,
        Destination::Conversation {
            channel: ALICE_DM.into(),
            thread_ts: None
        }
    );
}

#[tokio::test]
async fn a_direct_message_in_a_thread_is_answered_in_that_thread() {
    let harness = Harness::new();
    let body = bodies::direct_message(
        "EvD2",
        ALICE,
        ALICE_DM,
        "follow-up",
        Some("1700000000.000009"),
    );
    harness.send(signed_event(&body)).await;
    assert_eq!(
        harness.inbox.submitted()[0].thread_ts.as_deref(),
        Some("1700000000.000009")
    );
}

#[tokio::test]
async fn bot_messages_are_acknowledged_and_ignored() {
    for (case, extra) in [
        (
            "another bot",
            json!({"bot_id": "BOTHER0001", "subtype": "bot_message"}),
        ),
        (
            "this app's own answer",
            json!({"bot_id": BOT_ID, "user": BOT_USER_ID}),
        ),
        (
            "this bot's user without bot_id",
            json!({"user": BOT_USER_ID}),
        ),
    ] {
        let harness = Harness::new();
        let (status, _) = harness
            .send(signed_event(&bodies::direct_message_with(
                "EvB1", ALICE, ALICE_DM, extra,
            )))
            .await;
        assert_eq!(status, StatusCode::OK, "{case}");
        assert!(
            harness.inbox.calls().is_empty(),
            "{case}: {:?}",
            harness.inbox.calls()
        );
    }
}

#[tokio::test]
async fn edits_and_other_subtypes_are_ignored() {
    for extra in [
        json!({"subtype": "message_changed", "message": {"text": "edited"}}),
        json!({"subtype": "message_deleted"}),
        json!({"edited": {"user": ALICE, "ts": "1700000301.000000"}}),
        json!({"subtype": "channel_join"}),
    ] {
        let harness = Harness::new();
        let (status, _) = harness
            .send(signed_event(&bodies::direct_message_with(
                "EvE1",
                ALICE,
                ALICE_DM,
                extra.clone(),
            )))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(harness.inbox.calls().is_empty(), "{extra}");
    }
}

#[tokio::test]
async fn messages_outside_a_direct_conversation_are_ignored() {
    let harness = Harness::new();
    let body =
        bodies::direct_message_with("EvC1", ALICE, GENERAL, json!({"channel_type": "channel"}));
    harness.send(signed_event(&body)).await;
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn a_redelivered_event_is_not_submitted_twice() {
    let harness = Harness::new();
    let body = bodies::mention("EvR1", ALICE, GENERAL, "<@UFAKEBOT01> printer jam", None);
    harness.send(signed_event(&body)).await;
    let mut retry = signed_event(&body);
    retry
        .headers_mut()
        .insert("x-slack-retry-num", "1".parse().unwrap());
    retry
        .headers_mut()
        .insert("x-slack-retry-reason", "http_timeout".parse().unwrap());
    let (status, _) = harness.send(retry).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.inbox.submitted().len(), 1);
    let submits = harness
        .inbox
        .calls()
        .iter()
        .filter(|c| c.starts_with("submit"))
        .count();
    assert_eq!(submits, 1, "{:?}", harness.inbox.calls());
}

#[tokio::test]
async fn the_retry_headers_reach_the_inbox() {
    let harness = Harness::new();
    let mut request = signed_event(&bodies::mention(
        "EvR2",
        ALICE,
        GENERAL,
        "<@UFAKEBOT01> vpn",
        None,
    ));
    request
        .headers_mut()
        .insert("x-slack-retry-num", "2".parse().unwrap());
    request
        .headers_mut()
        .insert("x-slack-retry-reason", "http_error".parse().unwrap());
    harness.send(request).await;
    assert_eq!(
        harness.inbox.submitted()[0].retry,
        Some(SlackRetry {
            number: 2,
            reason: Some("http_error".into())
        })
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_event_submit_once() {
    let harness = Harness::new();
    harness.inbox.delay_submits(Duration::from_millis(300));
    let body = bodies::mention("EvR3", ALICE, GENERAL, "<@UFAKEBOT01> monitor", None);
    let (first, second) = tokio::join!(
        harness.send(signed_event(&body)),
        harness.send(signed_event(&body))
    );
    assert_eq!((first.0, second.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(harness.inbox.submitted().len(), 1);
}

#[tokio::test]
async fn a_user_without_an_email_is_told_so_in_the_thread_and_nothing_is_submitted() {
    let harness = Harness::new();
    let body = bodies::mention("EvN1", NO_EMAIL_USER, GENERAL, "<@UFAKEBOT01> help", None);
    let (status, _) = harness.send(signed_event(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(harness.inbox.submitted().is_empty());
    let posted = harness.fake.wait_for_messages(1, SETTLE).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].channel, GENERAL);
    assert_eq!(posted[0].thread_ts.as_deref(), Some("1700000100.000200"));
    assert!(
        posted[0]
            .text
            .as_deref()
            .unwrap_or_default()
            .contains("email"),
        "{posted:?}"
    );
}

#[tokio::test]
async fn an_unknown_user_is_told_so_and_nothing_is_submitted() {
    let harness = Harness::new();
    let body = bodies::direct_message("EvN2", "UNOBODY001", ALICE_DM, "hi", None);
    harness.send(signed_event(&body)).await;
    assert!(harness.inbox.submitted().is_empty());
    assert_eq!(harness.fake.wait_for_messages(1, SETTLE).await.len(), 1);
}

#[tokio::test]
async fn an_inbox_failure_answers_503_and_slacks_retry_then_succeeds() {
    let harness = Harness::new();
    harness.inbox.fail_next_submits(1);
    let body = bodies::mention("EvF1", ALICE, GENERAL, "<@UFAKEBOT01> wifi", None);
    let (status, json) = harness.send(signed_event(&body)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(json["error"], "inbox_unavailable");
    let mut retry = signed_event(&body);
    retry
        .headers_mut()
        .insert("x-slack-retry-num", "1".parse().unwrap());
    let (status, _) = harness.send(retry).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.inbox.submitted().len(), 1);
}

#[tokio::test]
async fn a_slow_inbox_is_acknowledged_within_the_ack_timeout_and_still_submits() {
    let harness = Harness::with(|settings| settings.ack_timeout = Duration::from_millis(200));
    harness.inbox.delay_submits(Duration::from_secs(1));
    let body = bodies::mention("EvS1", ALICE, GENERAL, "<@UFAKEBOT01> slow", None);
    let started = Instant::now();
    let (status, _) = harness.send(signed_event(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(harness.inbox.submitted().len(), 1);
}

#[tokio::test]
async fn a_malformed_event_body_is_a_400_that_slack_will_not_retry() {
    let harness = Harness::new();
    let request = signed_event("{\"type\": 42");
    let response = tower::ServiceExt::oneshot(harness.app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["x-slack-no-retry"], "1");
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn an_event_body_that_is_not_json_is_refused_with_415() {
    let harness = Harness::new();
    let request = common::signed(slack_bridge::EVENTS_PATH, "text/plain", "{}");
    let (status, json) = harness.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{json}");
}

#[tokio::test]
async fn other_methods_are_refused_with_405_json() {
    let harness = Harness::new();
    let request = http::Request::get(slack_bridge::EVENTS_PATH)
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, json) = harness.send(request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json["error"], "method_not_allowed");
}
