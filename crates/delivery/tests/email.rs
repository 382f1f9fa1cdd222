//! EMAIL against a real SMTP server (aiosmtpd, `test_support::smtp`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Attempt, REQUEST_ID, SESSION_ID, closed_port, smtp_settings};
use delivery::{
    Channel, Delivered, DeliveryError, DeliverySettings, EmailChannel, IntegrationType,
    SmtpSecurity,
};
use secrecy::SecretString;
use serde_json::json;
use test_support::smtp::{SmtpServer, python_or_skip};

fn channel(settings: &DeliverySettings) -> EmailChannel {
    EmailChannel::new(settings)
        .expect("valid settings")
        .expect("SMTP_HOST is set")
}

fn to_bob() -> Attempt {
    Attempt::new(
        IntegrationType::Email,
        json!({"email_address": "bob@example.com"}),
    )
}

/// One attempt of [`to_bob`] through a channel of `settings`.
async fn deliver_to_bob(settings: &DeliverySettings) -> Result<Delivered, DeliveryError> {
    channel(settings).deliver(&to_bob().delivery()).await
}

/// A server that answers the DATA of the next messages with `codes`.
fn rejecting(python: &Path, codes: &[u16]) -> SmtpServer {
    let mut server = SmtpServer::start(python).expect("the SMTP server starts");
    server
        .reject_next(codes)
        .expect("the SMTP server takes the codes");
    server
}

/// [`smtp_settings`] logging in as `username` with `password`.
fn logging_in(port: u16, username: &str, password: &str) -> DeliverySettings {
    let mut settings = smtp_settings(port);
    settings.smtp_username = Some(username.into());
    settings.smtp_password = Some(SecretString::from(password));
    settings
}

#[tokio::test]
async fn an_email_arrives_with_subject_both_parts_and_the_three_headers() {
    let Some(python) =
        python_or_skip("an_email_arrives_with_subject_both_parts_and_the_three_headers")
    else {
        return;
    };
    let server = SmtpServer::start(&python).unwrap();
    let delivered = deliver_to_bob(&smtp_settings(server.port())).await.unwrap();
    let email = &server.wait_for(1, Duration::from_secs(5)).unwrap()[0];
    assert_eq!(email.rcpt_tos, ["bob@example.com"]);
    assert_eq!(email.mail_from, "agent@it.example.com");
    assert_eq!(email.header("Subject"), Some("Your laptop refresh"));
    assert_eq!(
        email.header("From"),
        Some("IT Self-Service <agent@it.example.com>")
    );
    assert_eq!(email.content_type, "multipart/alternative");
    assert_eq!(email.parts, ["text/plain", "text/html"]);
    assert!(
        email
            .text
            .as_deref()
            .unwrap()
            .contains("Your **new laptop** is ordered.")
    );
    assert!(
        email
            .html
            .as_deref()
            .unwrap()
            .contains("<strong>new laptop</strong>")
    );
    assert_eq!(email.header("X-Request-ID"), Some(REQUEST_ID));
    assert_eq!(email.header("X-Session-ID"), Some(SESSION_ID));
    assert_eq!(email.header("X-Agent-ID"), Some("laptop-refresh"));
    assert_eq!(delivered.details["smtp_code"], "250");
}

#[tokio::test]
async fn a_retried_email_keeps_its_message_id() {
    let Some(python) = python_or_skip("a_retried_email_keeps_its_message_id") else {
        return;
    };
    let server = SmtpServer::start(&python).unwrap();
    let email = channel(&smtp_settings(server.port()));
    let first = to_bob();
    email.deliver(&first.delivery()).await.unwrap();
    email.deliver(&first.retry().delivery()).await.unwrap();
    let messages = server.wait_for(2, Duration::from_secs(5)).unwrap();
    let ids: Vec<_> = messages.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids, [Some("<delivery-4242@it.example.com>"); 2]);
}

#[tokio::test]
async fn a_451_reply_is_temporary() {
    let Some(python) = python_or_skip("a_451_reply_is_temporary") else {
        return;
    };
    let server = rejecting(&python, &[451]);
    let error = deliver_to_bob(&smtp_settings(server.port()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Temporary { .. }),
        "{error:?}"
    );
    assert_eq!(error.details()["smtp_code"], "451");
    assert!(server.messages().unwrap().is_empty());
}

#[tokio::test]
async fn a_550_reply_is_permanent() {
    let Some(python) = python_or_skip("a_550_reply_is_permanent") else {
        return;
    };
    let server = rejecting(&python, &[550]);
    let error = deliver_to_bob(&smtp_settings(server.port()))
        .await
        .unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(error.reason().contains("550"), "{}", error.reason());
}

#[tokio::test]
async fn the_attempt_after_a_451_is_delivered() {
    let Some(python) = python_or_skip("the_attempt_after_a_451_is_delivered") else {
        return;
    };
    let server = rejecting(&python, &[451]);
    let email = channel(&smtp_settings(server.port()));
    let first = to_bob();
    assert!(email.deliver(&first.delivery()).await.is_err());
    email.deliver(&first.retry().delivery()).await.unwrap();
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).unwrap().len(), 1);
}

#[tokio::test]
async fn a_server_that_is_down_is_temporary() {
    let error = deliver_to_bob(&smtp_settings(closed_port()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::Temporary { .. }),
        "{error:?}"
    );
    assert!(
        error.reason().to_lowercase().contains("refused"),
        "{}",
        error.reason()
    );
}

#[tokio::test]
async fn credentials_are_sent_with_auth() {
    let Some(python) = python_or_skip("credentials_are_sent_with_auth") else {
        return;
    };
    let server = SmtpServer::start_with_auth(&python, "mailer", "s3cr3t-pass").unwrap();
    deliver_to_bob(&logging_in(server.port(), "mailer", "s3cr3t-pass"))
        .await
        .unwrap();
    let email = &server.wait_for(1, Duration::from_secs(5)).unwrap()[0];
    assert_eq!(email.authenticated_as.as_deref(), Some("mailer"));
}

#[tokio::test]
async fn a_refused_password_is_permanent_and_not_repeated() {
    let Some(python) = python_or_skip("a_refused_password_is_permanent_and_not_repeated") else {
        return;
    };
    let server = SmtpServer::start_with_auth(&python, "mailer", "right-pass").unwrap();
    let error = deliver_to_bob(&logging_in(server.port(), "mailer", "wrong-pass-123"))
        .await
        .unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(
        !format!("{error:?}").contains("wrong-pass-123"),
        "{error:?}"
    );
}

#[tokio::test]
async fn starttls_required_by_a_server_without_it_fails_saying_so() {
    let Some(python) = python_or_skip("starttls_required_by_a_server_without_it_fails_saying_so")
    else {
        return;
    };
    let server = SmtpServer::start(&python).unwrap();
    let mut settings = smtp_settings(server.port());
    settings.smtp_security = SmtpSecurity::Starttls;
    let error = deliver_to_bob(&settings).await.unwrap_err();
    assert!(error.reason().contains("STARTTLS"), "{}", error.reason());
    assert!(server.messages().unwrap().is_empty());
}

#[tokio::test]
async fn a_config_without_an_address_fails_permanently_naming_the_field() {
    let attempt = Attempt::new(IntegrationType::Email, json!({"include_agent_info": true}));
    let error = channel(&smtp_settings(closed_port()))
        .deliver(&attempt.delivery())
        .await
        .unwrap_err();
    assert!(error.is_permanent());
    assert_eq!(error.reason(), "invalid config: email_address: required");
}
