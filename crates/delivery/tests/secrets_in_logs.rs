//! No secret in any log line, at `trace`, of this crate or of the libraries
//! under it (lettre, rustls, reqwest, hyper), nor in error reasons and
//! details. Every test of this file shares one subscriber that records
//! everything.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::{Attempt, SECRET, smtp_settings, webhook_attempt, webhook_channel};
use delivery::{Channel, Channels, DeliverySettings, EmailChannel, IntegrationType};
use secrecy::SecretString;
use serde_json::json;
use test_support::captured_log::CapturedLog;
use test_support::webhook_receiver::{Answer, WebhookReceiver, python_or_skip};

/// Everything logged in this process so far.
fn logs() -> String {
    static CAPTURED: OnceLock<CapturedLog> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = CapturedLog::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            captured
        })
        .text()
}

fn assert_absent(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} appears in:\n{text}");
    }
}

#[tokio::test]
async fn webhook_secrets_stay_out_of_logs_errors_and_details() {
    let Some(python) = python_or_skip("webhook_secrets_stay_out_of_logs_errors_and_details") else {
        return;
    };
    logs();
    let secrets = ["tok-4e1f0c9a", "hdr-6b2d7e", "qtok-83a1f5", "urlpw-5c0e"];
    let mut receiver = WebhookReceiver::start(&python, SECRET).unwrap();
    // A peer that echoes what it got, credentials included.
    receiver
        .script(&[
            Answer::status(401).body("bad token tok-4e1f0c9a for hdr-6b2d7e"),
            Answer::status(204),
        ])
        .unwrap();
    let url = receiver
        .url("/hook?token=qtok-83a1f5")
        .replace("http://", "http://ssa:urlpw-5c0e@");
    let attempt = webhook_attempt(
        &url,
        json!({"auth": {"type": "bearer", "token": "tok-4e1f0c9a"},
               "headers": {"X-Auth-Token": "hdr-6b2d7e"}}),
    );
    let channel = webhook_channel(None);
    let error = channel.deliver(&attempt.delivery()).await.unwrap_err();
    assert!(
        error.reason().contains("bad token *** for ***"),
        "{}",
        error.reason()
    );
    assert_absent(&format!("{error:?} {}", error.details()), &secrets);
    channel.deliver(&attempt.retry().delivery()).await.unwrap();
    assert_eq!(receiver.requests().unwrap().len(), 2);
    assert_absent(&logs(), &secrets);
    assert_absent(&logs(), &[SECRET, "C2FVsBQIhrscChlQIMV"]);
}

#[tokio::test]
async fn a_webhook_connection_failure_names_no_url_secret() {
    logs();
    let url = format!(
        "http://ssa:urlpw-0d9c@127.0.0.1:{}/hook?key=qk-7a2b90",
        common::closed_port()
    );
    let error = webhook_channel(None)
        .deliver(&webhook_attempt(&url, json!({})).delivery())
        .await
        .unwrap_err();
    assert_absent(&format!("{error:?}"), &["urlpw-0d9c", "qk-7a2b90", "/hook"]);
    assert_absent(&logs(), &["urlpw-0d9c", "qk-7a2b90"]);
}

#[tokio::test]
async fn the_smtp_password_stays_out_of_logs() {
    let Some(python) = python_or_skip("the_smtp_password_stays_out_of_logs") else {
        return;
    };
    logs();
    let server =
        test_support::smtp::SmtpServer::start_with_auth(&python, "mailer", "smtp-pw-31e8a7")
            .unwrap();
    let mut settings = smtp_settings(server.port());
    settings.smtp_username = Some("mailer".into());
    settings.smtp_password = Some(SecretString::from("smtp-pw-31e8a7"));
    let email = EmailChannel::new(&settings).unwrap().unwrap();
    let attempt = Attempt::new(
        IntegrationType::Email,
        json!({"email_address": "bob@example.com"}),
    );
    email.deliver(&attempt.delivery()).await.unwrap();
    server.wait_for(1, Duration::from_secs(5)).unwrap();
    // AUTH PLAIN sends base64("\0mailer\0smtp-pw-31e8a7").
    assert_absent(
        &format!("{}{email:?}{settings:?}", logs()),
        &["smtp-pw-31e8a7", "AG1haWxlcgBzbXRwLXB3LTMxZThhNw"],
    );
}

#[tokio::test]
async fn test_deliveries_log_the_message_but_not_the_secrets() {
    logs();
    let channels = Channels::from_settings(&DeliverySettings::default()).unwrap();
    let attempt = Attempt::new(
        IntegrationType::Test,
        json!({"api_token": "test-tok-9f8e7d", "signing_secret": SECRET, "note": "kept-note"}),
    );
    channels.deliver(&attempt.delivery()).await.unwrap();
    let logged = logs();
    assert!(logged.contains("TEST delivery"), "{logged}");
    assert!(
        logged.contains("Your **new laptop** is ordered."),
        "{logged}"
    );
    assert!(logged.contains("kept-note"), "{logged}");
    assert_absent(&logged, &["test-tok-9f8e7d", SECRET]);
}
