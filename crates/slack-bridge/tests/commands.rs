//! `POST /slack/commands`: an immediate ephemeral acknowledgement, the
//! answer later through the command's `response_url`.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ALICE, ALICE_EMAIL, Harness, NO_EMAIL_USER, bodies, signed_form};
use http::StatusCode;
use slack_bridge::{COMMANDS_PATH, Destination, Origin, ResponseUrl};

#[tokio::test]
async fn a_question_is_acknowledged_ephemerally_and_submitted_for_its_response_url() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (status, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "I need a new laptop", ALICE, &url),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response_type"], "ephemeral");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("I need a new laptop"),
        "{body}"
    );
    let message = &harness.inbox.submitted()[0];
    assert_eq!(message.origin, Origin::SlashCommand);
    assert_eq!(message.identity.email, ALICE_EMAIL);
    assert_eq!(message.event_id, None);
    assert_eq!(
        message.destination,
        Destination::ResponseUrl {
            url: ResponseUrl(url),
            user: ALICE.into()
        }
    );
}

#[tokio::test]
async fn reset_starts_a_new_session_and_submits_nothing() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (status, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "reset", ALICE, &url),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response_type"], "ephemeral");
    assert!(
        body["text"].as_str().unwrap().contains("new session"),
        "{body}"
    );
    assert_eq!(harness.inbox.resets()[0].email, ALICE_EMAIL);
    assert!(harness.inbox.submitted().is_empty());
}

#[tokio::test]
async fn an_empty_command_shows_its_usage_without_calling_the_inbox() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (_, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "  ", ALICE, &url),
        ))
        .await;
    assert!(
        body["text"].as_str().unwrap().contains("/it-help reset"),
        "{body}"
    );
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn a_user_without_an_email_is_told_so_ephemerally_and_nothing_is_submitted() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (_, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "help me", NO_EMAIL_USER, &url),
        ))
        .await;
    assert_eq!(body["response_type"], "ephemeral");
    assert!(body["text"].as_str().unwrap().contains("email"), "{body}");
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn another_command_is_answered_with_the_one_this_app_serves() {
    let harness = Harness::new();
    let url = harness.fake.response_url();
    let (_, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/deploy", "prod", ALICE, &url),
        ))
        .await;
    assert!(
        body["text"].as_str().unwrap().contains("/it-help"),
        "{body}"
    );
    assert!(harness.inbox.calls().is_empty());
}

#[tokio::test]
async fn the_configured_command_name_is_the_one_served() {
    let harness = Harness::with(|settings| settings.command = "/helpdesk".into());
    let url = harness.fake.response_url();
    harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/helpdesk", "vpn", ALICE, &url),
        ))
        .await;
    assert_eq!(harness.inbox.submitted().len(), 1);
}

#[tokio::test]
async fn an_inbox_failure_is_answered_with_a_message_to_try_again() {
    let harness = Harness::new();
    harness.inbox.fail_next_submits(1);
    let url = harness.fake.response_url();
    let (status, body) = harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "vpn", ALICE, &url),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["text"].as_str().unwrap().contains("try again"),
        "{body}"
    );
}

#[tokio::test]
async fn a_form_without_the_command_fields_is_a_400() {
    let harness = Harness::new();
    let (status, body) = harness.send(signed_form(COMMANDS_PATH, "text=hello")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    assert!(harness.inbox.calls().is_empty());
}
