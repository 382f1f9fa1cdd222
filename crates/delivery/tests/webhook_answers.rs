//! What each webhook answer means for the queue, credentials sent, and
//! `verify_ssl`, against the Python receiver.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{SECRET, closed_port, webhook_attempt, webhook_channel};
use delivery::{Channel, DeliveryError};
use serde_json::{Value, json};
use test_support::webhook_receiver::{Answer, WebhookReceiver, python_or_skip};

/// A receiver answering `answers` first, and the result of one attempt
/// with `extra` config fields.
async fn attempt_against(
    python: &Path,
    answers: &[Answer],
    extra: Value,
) -> (WebhookReceiver, Result<delivery::Delivered, DeliveryError>) {
    let mut receiver = WebhookReceiver::start(python, SECRET).expect("receiver");
    receiver.script(answers).expect("script");
    let attempt = webhook_attempt(&receiver.url("/hook"), extra);
    let result = webhook_channel(None).deliver(&attempt.delivery()).await;
    (receiver, result)
}

#[tokio::test]
async fn a_2xx_answer_is_delivered_with_status_and_webhook_id() {
    let Some(python) = python_or_skip("a_2xx_answer_is_delivered_with_status_and_webhook_id")
    else {
        return;
    };
    let (_receiver, result) = attempt_against(&python, &[Answer::status(202)], json!({})).await;
    let delivered = result.unwrap();
    assert_eq!(delivered.details["status"], 202);
    assert_eq!(delivered.details["webhook_id"], "msg_4242");
    assert!(delivered.metadata()["response_time_ms"].is_u64());
}

#[tokio::test]
async fn a_410_is_permanent() {
    let Some(python) = python_or_skip("a_410_is_permanent") else {
        return;
    };
    let (_receiver, result) = attempt_against(&python, &[Answer::status(410)], json!({})).await;
    let error = result.unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(error.details()["status"], 410);
}

#[tokio::test]
async fn a_429_is_temporary_with_its_retry_after() {
    let Some(python) = python_or_skip("a_429_is_temporary_with_its_retry_after") else {
        return;
    };
    let answer = Answer::status(429).header("Retry-After", "7");
    let (_receiver, result) = attempt_against(&python, &[answer], json!({})).await;
    let error = result.unwrap_err();
    assert!(!error.is_permanent(), "{error:?}");
    assert_eq!(error.wait(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_503_is_temporary() {
    let Some(python) = python_or_skip("a_503_is_temporary") else {
        return;
    };
    let (_receiver, result) = attempt_against(&python, &[Answer::status(503)], json!({})).await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            DeliveryError::Temporary {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.details()["status"], 503);
}

#[tokio::test]
async fn an_answer_slower_than_timeout_seconds_is_a_temporary_timeout() {
    let Some(python) =
        python_or_skip("an_answer_slower_than_timeout_seconds_is_a_temporary_timeout")
    else {
        return;
    };
    let slow = Answer::status(204).delay(Duration::from_secs(3));
    let (_receiver, result) =
        attempt_against(&python, &[slow], json!({"timeout_seconds": 0.5})).await;
    let error = result.unwrap_err();
    assert!(!error.is_permanent(), "{error:?}");
    assert_eq!(error.details()["timeout"], true);
    assert!(
        error.reason().contains("no answer within 0.5s"),
        "{}",
        error.reason()
    );
}

#[tokio::test]
async fn a_400_is_permanent_with_the_status_and_the_start_of_the_body() {
    let Some(python) =
        python_or_skip("a_400_is_permanent_with_the_status_and_the_start_of_the_body")
    else {
        return;
    };
    let body = format!("missing field 'ticket' {}", "x".repeat(300));
    let (_receiver, result) =
        attempt_against(&python, &[Answer::status(400).body(&body)], json!({})).await;
    let error = result.unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(
        error
            .reason()
            .starts_with("HTTP 400 Bad Request: missing field 'ticket'"),
        "{}",
        error.reason()
    );
    let kept = error.details()["body"].as_str().unwrap();
    assert_eq!(kept.chars().count(), 201, "{kept}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails_permanently() {
    let Some(python) = python_or_skip("a_redirect_is_not_followed_and_fails_permanently") else {
        return;
    };
    let moved = Answer::status(307).header("Location", "http://127.0.0.1:9/elsewhere");
    let (receiver, result) = attempt_against(&python, &[moved], json!({})).await;
    let error = result.unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(
        error.reason().contains("redirects are not followed"),
        "{}",
        error.reason()
    );
    assert_eq!(receiver.requests().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let attempt = webhook_attempt(
        &format!("http://127.0.0.1:{}/hook", closed_port()),
        json!({}),
    );
    let error = webhook_channel(None)
        .deliver(&attempt.delivery())
        .await
        .unwrap_err();
    assert!(!error.is_permanent(), "{error:?}");
    assert!(
        error.reason().contains("cannot connect"),
        "{}",
        error.reason()
    );
}

#[tokio::test]
async fn bearer_auth_is_sent_as_authorization() {
    let Some(python) = python_or_skip("bearer_auth_is_sent_as_authorization") else {
        return;
    };
    let auth = json!({"auth": {"type": "bearer", "token": "tok-123456"}});
    let (receiver, result) = attempt_against(&python, &[], auth).await;
    result.unwrap();
    let request = &receiver.requests().unwrap()[0];
    assert_eq!(request.header("authorization"), Some("Bearer tok-123456"));
}

#[tokio::test]
async fn an_api_key_is_sent_in_its_header() {
    let Some(python) = python_or_skip("an_api_key_is_sent_in_its_header") else {
        return;
    };
    let auth = json!({"auth": {"type": "api_key", "header": "X-Api-Key", "key": "key-987654"}});
    let (receiver, result) = attempt_against(&python, &[], auth).await;
    result.unwrap();
    assert_eq!(
        receiver.requests().unwrap()[0].header("x-api-key"),
        Some("key-987654")
    );
}

#[tokio::test]
async fn basic_auth_is_sent_as_authorization() {
    let Some(python) = python_or_skip("basic_auth_is_sent_as_authorization") else {
        return;
    };
    let auth = json!({"auth": {"type": "basic", "username": "ssa", "password": "pw-24680"}});
    let (receiver, result) = attempt_against(&python, &[], auth).await;
    result.unwrap();
    // base64("ssa:pw-24680")
    assert_eq!(
        receiver.requests().unwrap()[0].header("authorization"),
        Some("Basic c3NhOnB3LTI0Njgw")
    );
}

#[tokio::test]
async fn an_untrusted_certificate_fails_temporarily_when_verified() {
    let Some(python) = python_or_skip("an_untrusted_certificate_fails_temporarily_when_verified")
    else {
        return;
    };
    let receiver = WebhookReceiver::start_tls(&python, SECRET).unwrap();
    let attempt = webhook_attempt(&receiver.url("/hook"), json!({}));
    let error = webhook_channel(None)
        .deliver(&attempt.delivery())
        .await
        .unwrap_err();
    assert!(!error.is_permanent(), "{error:?}");
    assert!(error.reason().contains("certificate"), "{}", error.reason());
    assert!(receiver.requests().unwrap().is_empty());
}

#[tokio::test]
async fn verify_ssl_false_accepts_an_untrusted_certificate() {
    let Some(python) = python_or_skip("verify_ssl_false_accepts_an_untrusted_certificate") else {
        return;
    };
    let receiver = WebhookReceiver::start_tls(&python, SECRET).unwrap();
    let attempt = webhook_attempt(&receiver.url("/hook"), json!({"verify_ssl": false}));
    webhook_channel(None)
        .deliver(&attempt.delivery())
        .await
        .unwrap();
    assert!(receiver.requests().unwrap()[0].verified);
}
