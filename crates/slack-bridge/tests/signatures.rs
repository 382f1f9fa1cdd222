//! Every request is checked against Slack's signature before anything
//! else: requests signed by the official Slack SDK pass; anything else is
//! refused with a JSON 4xx and the inbox is never called.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use common::{ALICE, GENERAL, Harness, SIGNING_SECRET, bodies, now, request};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use secrecy::SecretString;
use slack_bridge::{COMMANDS_PATH, EVENTS_PATH, INTERACTIVE_PATH, SignatureVerifier, VerifyError};

fn headers(timestamp: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-slack-request-timestamp",
        HeaderValue::from_str(timestamp).unwrap(),
    );
    headers.insert(
        "x-slack-signature",
        HeaderValue::from_str(signature).unwrap(),
    );
    headers
}

fn verifier() -> SignatureVerifier {
    SignatureVerifier::new(&SecretString::from(SIGNING_SECRET))
}

fn sign(body: &str, timestamp: i64) -> String {
    verifier().sign(&timestamp.to_string(), body.as_bytes())
}

async fn assert_refused(harness: &Harness, request: Request<Body>, status: StatusCode) {
    let (got, body) = harness.send(request).await;
    assert_eq!(got, status, "{body}");
    assert!(
        body["detail"].is_string() && body["error"].is_string(),
        "{body}"
    );
    assert!(
        harness.inbox.calls().is_empty(),
        "{:?}",
        harness.inbox.calls()
    );
    assert!(
        harness.fake.calls().is_empty(),
        "{:?}",
        harness.fake.calls()
    );
}

#[test]
fn bodies_signed_by_the_slack_sdk_pass_the_verifier() {
    let timestamp = now().to_string();
    let items: Vec<(String, String)> = [
        bodies::mention("Ev1", ALICE, GENERAL, "<@UFAKEBOT01> hello", None),
        bodies::command(
            "/it-help",
            "Ünïcödé ✓ 🖥️ needs a laptop",
            ALICE,
            "https://hooks.slack.com/x",
        ),
        bodies::button(
            "ssa_view_session",
            "s-1",
            ALICE,
            "https://hooks.slack.com/y",
        ),
        String::new(),
    ]
    .into_iter()
    .map(|body| (timestamp.clone(), body))
    .collect();
    let Some(signatures) =
        common::slack_sdk_signatures("bodies_signed_by_the_slack_sdk_pass_the_verifier", &items)
    else {
        return;
    };
    for ((timestamp, body), signature) in items.iter().zip(&signatures) {
        assert_eq!(
            verifier().verify(&headers(timestamp, signature), body.as_bytes()),
            Ok(()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_event_signed_by_the_slack_sdk_is_accepted_by_the_router() {
    let harness = Harness::new();
    let body = bodies::mention(
        "EvSdk1",
        ALICE,
        GENERAL,
        "<@UFAKEBOT01> my laptop is slow",
        None,
    );
    let timestamp = now().to_string();
    let Some(signatures) = common::slack_sdk_signatures(
        "an_event_signed_by_the_slack_sdk_is_accepted_by_the_router",
        &[(timestamp.clone(), body.clone())],
    ) else {
        return;
    };
    let (status, _) = harness
        .send(request(
            EVENTS_PATH,
            "application/json",
            &body,
            Some(&timestamp),
            Some(&signatures[0]),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.inbox.submitted()[0].text, "my laptop is slow");
}

#[tokio::test]
async fn a_slash_command_signed_by_the_slack_sdk_is_accepted_by_the_router() {
    let harness = Harness::new();
    let body = bodies::command("/it-help", "reset", ALICE, &harness.fake.response_url());
    let timestamp = now().to_string();
    let Some(signatures) = common::slack_sdk_signatures(
        "a_slash_command_signed_by_the_slack_sdk_is_accepted_by_the_router",
        &[(timestamp.clone(), body.clone())],
    ) else {
        return;
    };
    let (status, answer) = harness
        .send(request(
            COMMANDS_PATH,
            "application/x-www-form-urlencoded",
            &body,
            Some(&timestamp),
            Some(&signatures[0]),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(harness.inbox.resets().len(), 1);
}

#[tokio::test]
async fn wrong_signatures_are_refused_with_401() {
    let body = bodies::mention("Ev2", ALICE, GENERAL, "<@UFAKEBOT01> hi", None);
    let timestamp = now();
    let good = sign(&body, timestamp);
    let other_secret = SignatureVerifier::new(&SecretString::from("another-secret"))
        .sign(&timestamp.to_string(), body.as_bytes());
    let cases = [
        ("another secret", other_secret),
        ("another timestamp", sign(&body, timestamp - 1)),
        ("upper-case hex", good.to_uppercase().replace("V0=", "v0=")),
        ("a v1 signature", good.replace("v0=", "v1=")),
        ("no version", good.trim_start_matches("v0=").to_owned()),
        ("truncated", good[..good.len() - 2].to_owned()),
        ("not hex", format!("v0={}", "z".repeat(64))),
        ("empty", String::new()),
    ];
    for (case, signature) in cases {
        let harness = Harness::new();
        let (status, answer) = harness
            .send(request(
                EVENTS_PATH,
                "application/json",
                &body,
                Some(&timestamp.to_string()),
                Some(&signature),
            ))
            .await;
        // Upper-case hex decodes to the same digest, so it must pass.
        if case == "upper-case hex" {
            assert_eq!(status, StatusCode::OK, "{case}: {answer}");
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {answer}");
        assert_eq!(answer["error"], "unauthorized", "{case}");
        assert!(harness.inbox.calls().is_empty(), "{case}");
    }
}

#[tokio::test]
async fn a_request_signed_more_than_five_minutes_ago_is_refused() {
    let harness = Harness::new();
    let body = bodies::mention("Ev3", ALICE, GENERAL, "<@UFAKEBOT01> hi", None);
    let stale = now() - 301;
    let request = request(
        EVENTS_PATH,
        "application/json",
        &body,
        Some(&stale.to_string()),
        Some(&sign(&body, stale)),
    );
    assert_refused(&harness, request, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_request_signed_more_than_five_minutes_ahead_is_refused() {
    let harness = Harness::new();
    let body = bodies::mention("Ev4", ALICE, GENERAL, "<@UFAKEBOT01> hi", None);
    let future = now() + 301;
    let request = request(
        EVENTS_PATH,
        "application/json",
        &body,
        Some(&future.to_string()),
        Some(&sign(&body, future)),
    );
    assert_refused(&harness, request, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn requests_without_the_signature_headers_are_refused_on_every_route() {
    let body = "payload=%7B%7D";
    for path in [EVENTS_PATH, COMMANDS_PATH, INTERACTIVE_PATH] {
        let timestamp = now().to_string();
        let signature = sign(body, now());
        for (timestamp, signature) in [
            (None, Some(signature.as_str())),
            (Some(timestamp.as_str()), None),
            (None, None),
        ] {
            let harness = Harness::new();
            let request = request(
                path,
                "application/x-www-form-urlencoded",
                body,
                timestamp,
                signature,
            );
            assert_refused(&harness, request, StatusCode::UNAUTHORIZED).await;
        }
    }
}

#[tokio::test]
async fn a_signed_body_with_one_byte_changed_is_refused() {
    let body = bodies::mention("Ev5", ALICE, GENERAL, "<@UFAKEBOT01> hi", None);
    let timestamp = now();
    let signature = sign(&body, timestamp);
    for index in [0, body.len() / 2, body.len() - 1] {
        let mut tampered = body.clone().into_bytes();
        tampered[index] ^= 0x01;
        let tampered = String::from_utf8(tampered).expect("ASCII stays text");
        let harness = Harness::new();
        let request = request(
            EVENTS_PATH,
            "application/json",
            &tampered,
            Some(&timestamp.to_string()),
            Some(&signature),
        );
        assert_refused(&harness, request, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn the_verifier_says_why_without_the_signature() {
    let body = "x";
    let result = verifier().verify(
        &headers(&now().to_string(), &format!("v0={}", "0".repeat(64))),
        body.as_bytes(),
    );
    assert_eq!(result, Err(VerifyError::Mismatch));
    let message = VerifyError::Mismatch.to_string();
    assert!(!message.contains(&sign(body, now())[3..]), "{message}");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
    let harness = Harness::with(|settings| settings.max_body_bytes = 1024);
    // The declared length is a lie and no body follows: reading it would hang.
    let (sender, body) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    let mut body = body;
    let stream = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx));
    let request = Request::post(EVENTS_PATH)
        .header("content-type", "application/json")
        .header("content-length", "2048")
        .body(Body::from_stream(stream))
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(2), harness.send(request)).await;
    drop(sender);
    let (status, json) = answer.expect("answered without reading the body");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"], "payload_too_large");
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_without_a_declared_length_is_refused() {
    let harness = Harness::with(|settings| settings.max_body_bytes = 1024);
    let big = format!(
        "{{\"type\":\"url_verification\",\"challenge\":\"{}\"}}",
        "x".repeat(4096)
    );
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = big
        .into_bytes()
        .chunks(512)
        .map(|chunk| Ok(axum::body::Bytes::copy_from_slice(chunk)))
        .collect();
    let request = Request::post(EVENTS_PATH)
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    assert_refused(&harness, request, StatusCode::PAYLOAD_TOO_LARGE).await;
}
