//! Neither the signing secret nor the bot token reaches a log line, at
//! any level: every path of the bridge runs here under a `trace`
//! subscriber (the `log` records of reqwest and hyper included) whose
//! output is searched. One test in its own binary: the subscriber is global.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    ALICE, ALICE_DM, GENERAL, Harness, NO_EMAIL_USER, SETTLE, SIGNING_SECRET, bodies, request,
    signed_event, signed_form,
};
use slack_bridge::{
    COMMANDS_PATH, EVENTS_PATH, INTERACTIVE_PATH, OutgoingMessage, PostMessage, SlackClient,
};
use test_support::captured_log::CapturedLog;
use test_support::fake_slack::{BOT_TOKEN, Fault};

#[tokio::test]
async fn no_secret_reaches_the_log_even_at_trace() {
    let captured = CapturedLog::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");

    let harness = Harness::new();
    harness.fake.fail_next(
        "users.info",
        1,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    harness
        .send(signed_event(&bodies::mention(
            "EvL1",
            ALICE,
            GENERAL,
            "<@UFAKEBOT01> hi",
            None,
        )))
        .await;
    harness
        .send(signed_event(&bodies::direct_message(
            "EvL2",
            NO_EMAIL_USER,
            ALICE_DM,
            "hi",
            None,
        )))
        .await;
    let body = bodies::direct_message("EvL3", ALICE, ALICE_DM, "hi", None);
    harness
        .send(request(
            EVENTS_PATH,
            "application/json",
            &body,
            Some("1"),
            Some("v0=00"),
        ))
        .await;
    let url = harness.fake.response_url();
    harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "vpn", ALICE, &url),
        ))
        .await;
    harness
        .send(signed_form(
            COMMANDS_PATH,
            &bodies::command("/it-help", "reset", ALICE, &url),
        ))
        .await;
    harness
        .send(signed_form(
            INTERACTIVE_PATH,
            &bodies::button("ssa_new_session", "s", ALICE, &url),
        ))
        .await;
    harness.fake.wait_for_responses(1, SETTLE).await;
    let mut wrong = common::settings(&harness.fake);
    wrong.bot_token = "xoxb-wrong-token-for-the-log-test".to_owned().into();
    let post = PostMessage {
        channel: GENERAL.into(),
        thread_ts: None,
        message: OutgoingMessage::text("x"),
    };
    let _ = SlackClient::new(&wrong).unwrap().post_message(&post).await;
    harness
        .fake
        .fail_next("chat.postMessage", 1, Fault::Status(500));
    let _ = harness.bridge.client().post_message(&post).await;
    tracing::debug!(settings = ?common::settings(&harness.fake), bridge = ?harness.bridge, "debug output of the settings and the bridge");

    let log = captured.text();
    assert!(log.lines().count() > 30, "trace logging is on:\n{log}");
    assert!(log.contains("TRACE"), "trace lines are captured:\n{log}");
    for secret in [
        SIGNING_SECRET,
        BOT_TOKEN,
        "xoxb-wrong-token-for-the-log-test",
    ] {
        assert!(!log.contains(secret), "{secret} appears in the log");
    }
    // Nor a part long enough to matter.
    assert!(!log.contains(&BOT_TOKEN[5..25]));
    assert!(!log.contains(&SIGNING_SECRET[..20]));
}
