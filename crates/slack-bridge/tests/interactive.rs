//! `POST /slack/interactive`: the answer's two buttons, answered through
//! the payload's `response_url`.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_EMAIL, Harness, NO_EMAIL_USER, SETTLE, bodies, signed_form};
use http::StatusCode;
use slack_bridge::{INTERACTIVE_PATH, NEW_SESSION_ACTION, SessionSummary, VIEW_SESSION_ACTION};

fn summary(session_id: &str) -> SessionSummary {
    SessionSummary {
        session_id: session_id.into(),
        status: "ACTIVE".into(),
        current_agent: Some("laptop-refresh".into()),
        total_requests: 3,
        created_at: Some("2025-01-02 09:00 UTC".into()),
        updated_at: None,
    }
}

#[tokio::test]
async fn new_session_resets_and_answers_through_the_response_url() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (status, _) = harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button(NEW_SESSION_ACTION, "s-1", ALICE, &url),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let responses = harness.fake.wait_for_responses(1, SETTLE).await;
    assert_eq!(responses[0].url, url);
    assert_eq!(responses[0].body["response_type"], "ephemeral");
    assert_eq!(responses[0].body["replace_original"], false);
    assert!(
        responses[0].body["text"]
            .as_str()
            .unwrap()
            .contains("new session")
    );
    assert_eq!(harness.inbox.resets()[0].email, ALICE_EMAIL);
}

#[tokio::test]
async fn view_session_describes_the_users_own_session() {
    let harness = Harness::new();
    harness.inbox.add_session(ALICE_EMAIL, summary("s-42"));
    let url = harness.fake.response_url();
    harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button(VIEW_SESSION_ACTION, "s-42", ALICE, &url),
        ))
        .await;
    let responses = harness.fake.wait_for_responses(1, SETTLE).await;
    let text = responses[0].body["text"].as_str().unwrap().to_owned();
    for expected in ["s-42", "ACTIVE", "laptop-refresh", "Requests: 3"] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
}

#[tokio::test]
async fn view_session_of_someone_elses_session_finds_nothing() {
    let harness = Harness::new();
    harness
        .inbox
        .add_session("bob@example.com", summary("s-bob"));
    let url = harness.fake.response_url();
    harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button(VIEW_SESSION_ACTION, "s-bob", ALICE, &url),
        ))
        .await;
    let responses = harness.fake.wait_for_responses(1, SETTLE).await;
    let text = responses[0].body["text"].as_str().unwrap();
    assert!(text.contains("No session"), "{text}");
    assert!(!text.contains("ACTIVE"), "{text}");
}

#[tokio::test]
async fn a_button_pressed_by_a_user_without_an_email_changes_nothing() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button(NEW_SESSION_ACTION, "s-1", NO_EMAIL_USER, &url),
        ))
        .await;
    let responses = harness.fake.wait_for_responses(1, SETTLE).await;
    assert!(
        responses[0].body["text"]
            .as_str()
            .unwrap()
            .contains("email")
    );
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn another_apps_action_is_acknowledged_and_left_alone() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (status, _) = harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button("approve_deploy", "1", ALICE, &url),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(harness.inbox.calls().is_empty());
    assert!(harness.fake.calls().is_empty());
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_a_400() {
    let harness = Harness::new();
    let (status, body) = harness
        .send(signed_form(INTERACTIVE_PATH, "payload=%7Bnot"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(harness.inbox.calls().is_empty());
}
