//! WEBHOOK signatures and payload, checked by the official Standard
//! Webhooks library (`test_support::webhook_receiver`).

mod common;

use std::time::Duration;

use common::{
    Attempt, OTHER_SECRET, REQUEST_ID, SECRET, SESSION_ID, webhook_attempt, webhook_channel,
};
use delivery::{Channel, IntegrationType, WebhookPayload};
use serde_json::json;
use test_support::webhook_receiver::{ReceivedRequest, WebhookReceiver, python_or_skip};

/// Delivers `attempt` through a channel whose service secret is
/// `service_secret`: the request `receiver` got first.
async fn deliver_once(
    receiver: &WebhookReceiver,
    service_secret: Option<&str>,
    attempt: &Attempt,
) -> ReceivedRequest {
    webhook_channel(service_secret)
        .deliver(&attempt.delivery())
        .await
        .expect("delivered");
    receiver
        .requests()
        .expect("the requests received")
        .remove(0)
}

#[tokio::test]
async fn every_delivery_verifies_with_the_official_library() {
    let Some(python) = python_or_skip("every_delivery_verifies_with_the_official_library") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let channel = webhook_channel(None);
    for id in 1..=3 {
        let mut attempt = webhook_attempt(&receiver.url("/hook"), json!({}));
        attempt.id = id;
        channel.deliver(&attempt.delivery()).await.unwrap();
    }
    let requests = receiver.requests().unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(request.verified, "{:?}", request.error);
    }
}

#[tokio::test]
async fn the_payload_carries_the_answer_and_its_ids() {
    let Some(python) = python_or_skip("the_payload_carries_the_answer_and_its_ids") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let attempt = webhook_attempt(&receiver.url("/hook"), json!({}));
    let request = deliver_once(&receiver, None, &attempt).await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let payload: WebhookPayload = serde_json::from_str(&request.body).unwrap();
    assert_eq!(payload.event_type, "request.completed");
    assert_eq!(payload.delivery_id, 4242);
    assert_eq!(payload.attempt, 1);
    assert_eq!(payload.request_id, REQUEST_ID);
    assert_eq!(payload.session_id, SESSION_ID);
    assert_eq!(payload.user_id, "alice");
    assert_eq!(payload.agent_id.as_deref(), Some("laptop-refresh"));
    assert_eq!(payload.subject, "Your laptop refresh");
    assert_eq!(payload.content, attempt.message.text);
    assert_eq!(payload.created_at, "2025-08-01T12:30:00Z");
}

#[tokio::test]
async fn a_retried_delivery_keeps_its_webhook_id_with_a_fresh_timestamp_and_signature() {
    let Some(python) = python_or_skip(
        "a_retried_delivery_keeps_its_webhook_id_with_a_fresh_timestamp_and_signature",
    ) else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let channel = webhook_channel(None);
    let first = webhook_attempt(&receiver.url("/hook"), json!({}));
    channel.deliver(&first.delivery()).await.unwrap();
    // Timestamps are whole seconds: make the retry's differ.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    channel.deliver(&first.retry().delivery()).await.unwrap();
    let requests = receiver.requests().unwrap();
    let [one, two] = &requests[..] else {
        panic!("{requests:?}")
    };
    assert_eq!(one.header("webhook-id"), Some("msg_4242"));
    assert_eq!(two.header("webhook-id"), Some("msg_4242"));
    let timestamp = |r: &ReceivedRequest| {
        r.header("webhook-timestamp")
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    assert!(timestamp(two) > timestamp(one));
    assert_ne!(
        one.header("webhook-signature"),
        two.header("webhook-signature")
    );
    assert!(
        one.verified && two.verified,
        "{:?} {:?}",
        one.error,
        two.error
    );
}

#[tokio::test]
async fn a_receiver_holding_another_secret_fails_verification() {
    let Some(python) = python_or_skip("a_receiver_holding_another_secret_fails_verification")
    else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, OTHER_SECRET).unwrap();
    let attempt = webhook_attempt(&receiver.url("/hook"), json!({}));
    let request = deliver_once(&receiver, None, &attempt).await;
    assert!(!request.verified);
    assert!(
        request
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("No matching signature"),
        "{:?}",
        request.error
    );
}

#[tokio::test]
async fn the_service_secret_signs_when_the_config_has_none() {
    let Some(python) = python_or_skip("the_service_secret_signs_when_the_config_has_none") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, OTHER_SECRET).unwrap();
    let attempt = Attempt::new(
        IntegrationType::Webhook,
        json!({"url": receiver.url("/hook")}),
    );
    let request = deliver_once(&receiver, Some(OTHER_SECRET), &attempt).await;
    assert!(request.verified);
}

#[tokio::test]
async fn the_config_secret_wins_over_the_service_secret() {
    let Some(python) = python_or_skip("the_config_secret_wins_over_the_service_secret") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let attempt = webhook_attempt(&receiver.url("/hook"), json!({}));
    let request = deliver_once(&receiver, Some(OTHER_SECRET), &attempt).await;
    assert!(request.verified);
}

#[tokio::test]
async fn without_any_secret_the_delivery_fails_permanently_naming_signing_secret() {
    let attempt = Attempt::new(
        IntegrationType::Webhook,
        json!({"url": "http://127.0.0.1:9/hook"}),
    );
    let error = webhook_channel(None)
        .deliver(&attempt.delivery())
        .await
        .unwrap_err();
    assert!(error.is_permanent());
    assert!(
        error
            .reason()
            .starts_with("invalid config: signing_secret: required"),
        "{}",
        error.reason()
    );
}

#[tokio::test]
async fn the_configured_method_and_headers_are_sent() {
    let Some(python) = python_or_skip("the_configured_method_and_headers_are_sent") else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    let attempt = webhook_attempt(
        &receiver.url("/hooks/ssa?team=it"),
        json!({"method": "put", "headers": {"X-Team": "it-ops"}}),
    );
    let request = deliver_once(&receiver, None, &attempt).await;
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path, "/hooks/ssa?team=it");
    assert_eq!(request.header("x-team"), Some("it-ops"));
    assert!(request.verified, "{:?}", request.error);
}
