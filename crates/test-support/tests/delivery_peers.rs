//! The delivery channels' peers behave as their tests rely on.

use test_support::webhook_receiver::{Answer, InstantReceiver, WebhookReceiver, python_or_skip};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[tokio::test]
async fn the_instant_receiver_answers_204_and_counts() {
    let receiver = InstantReceiver::start().unwrap();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let answer = client
            .post(receiver.url("/any"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }
    assert_eq!(receiver.count(), 3);
}

#[tokio::test]
async fn the_webhook_receiver_records_an_unsigned_request_as_unverified() {
    let Some(python) =
        python_or_skip("the_webhook_receiver_records_an_unsigned_request_as_unverified")
    else {
        return;
    };
    let receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    reqwest::Client::new()
        .post(receiver.url("/hook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let request = &receiver.requests().unwrap()[0];
    assert!(!request.verified);
    assert_eq!(
        request.error.as_deref(),
        Some("WebhookVerificationError: Missing required headers")
    );
}

#[tokio::test]
async fn the_webhook_receiver_answers_its_script_then_204() {
    let Some(python) = python_or_skip("the_webhook_receiver_answers_its_script_then_204") else {
        return;
    };
    let mut receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    receiver
        .script(&[Answer::status(429)
            .header("Retry-After", "3")
            .body("slow down")])
        .unwrap();
    let client = reqwest::Client::new();
    let first = client.post(receiver.url("/hook")).send().await.unwrap();
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "3");
    assert_eq!(first.text().await.unwrap(), "slow down");
    let second = client.post(receiver.url("/hook")).send().await.unwrap();
    assert_eq!(second.status(), 204);
}
