//! The registry: which types are offered, settings from the environment.
// figment::Jail's closures return figment's (large) error type.
#![allow(clippy::result_large_err)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Attempt, SECRET, closed_port, smtp_settings};
use delivery::{
    Channel, Channels, Delivered, Delivery, DeliveryError, DeliverySettings, IntegrationType,
};
use serde_json::json;

fn defaults() -> Channels {
    Channels::from_settings(&DeliverySettings::default()).expect("the defaults are valid")
}

#[tokio::test]
async fn without_smtp_host_email_deliveries_fail_permanently_saying_why() {
    let channels = defaults();
    assert!(!channels.is_available(IntegrationType::Email));
    let attempt = Attempt::new(
        IntegrationType::Email,
        json!({"email_address": "bob@example.com"}),
    );
    let error = channels.deliver(&attempt.delivery()).await.unwrap_err();
    assert!(error.is_permanent());
    assert_eq!(
        error.reason(),
        "EMAIL deliveries are unavailable: SMTP_HOST is not set"
    );
}

#[test]
fn webhook_and_test_are_always_available_and_email_with_smtp_host() {
    assert_eq!(
        defaults().available(),
        [IntegrationType::Test, IntegrationType::Webhook]
    );
    let with_smtp = Channels::from_settings(&smtp_settings(closed_port())).unwrap();
    assert!(with_smtp.is_available(IntegrationType::Email));
}

#[tokio::test]
async fn a_type_without_a_channel_fails_permanently() {
    let attempt = Attempt::new(IntegrationType::Sms, json!({}));
    let error = defaults().deliver(&attempt.delivery()).await.unwrap_err();
    assert!(error.is_permanent());
    assert_eq!(
        error.reason(),
        "SMS deliveries are unavailable: no channel of this type is built in"
    );
}

/// A SLACK channel as another crate would add it.
struct RecordingSlack;

#[async_trait::async_trait]
impl Channel for RecordingSlack {
    fn kind(&self) -> IntegrationType {
        IntegrationType::Slack
    }

    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        Err(DeliveryError::temporary(
            format!("slack saw {}", delivery.id),
            json!({}),
        ))
    }
}

#[tokio::test]
async fn a_channel_added_later_receives_its_type() {
    let channels = defaults().with(Arc::new(RecordingSlack));
    assert!(channels.is_available(IntegrationType::Slack));
    let attempt = Attempt::new(IntegrationType::Slack, json!({}));
    let error = channels.deliver(&attempt.delivery()).await.unwrap_err();
    assert_eq!(error.reason(), "slack saw 4242");
}

#[tokio::test]
async fn test_deliveries_are_delivered() {
    let attempt = Attempt::new(IntegrationType::Test, json!({"anything": 1}));
    let delivered = defaults().deliver(&attempt.delivery()).await.unwrap();
    assert_eq!(delivered.channel, IntegrationType::Test);
    assert!(delivered.elapsed < Duration::from_secs(1));
}

#[test]
fn check_asks_for_a_signing_secret_where_the_service_has_none() {
    let config = json!({"url": "https://hooks.example.com/x"});
    let problem = defaults()
        .check(IntegrationType::Webhook, &config)
        .unwrap_err();
    assert_eq!(problem.field, "signing_secret");
    let settings = DeliverySettings {
        webhook_signing_secret: Some(SECRET.to_owned().into()),
        ..DeliverySettings::default()
    };
    let with_secret = Channels::from_settings(&settings).unwrap();
    assert!(with_secret.check(IntegrationType::Webhook, &config).is_ok());
}

fn from_env_error(vars: &[(&str, &str)]) -> String {
    let mut message = String::new();
    figment::Jail::expect_with(|jail| {
        for (name, value) in vars {
            jail.set_env(name, value);
        }
        message = Channels::from_env().expect_err("refused").to_string();
        Ok(())
    });
    message
}

#[test]
fn a_bad_smtp_port_is_named() {
    let message = from_env_error(&[("SMTP_PORT", "smtp")]);
    assert!(message.contains("SMTP_PORT: expected u16"), "{message}");
}

#[test]
fn an_unknown_smtp_security_is_named() {
    let message = from_env_error(&[("SMTP_SECURITY", "ssl")]);
    assert!(message.contains("SMTP_SECURITY"), "{message}");
    assert!(message.contains("starttls"), "{message}");
}

#[test]
fn a_bad_signing_secret_is_named_not_echoed() {
    let message = from_env_error(&[("WEBHOOK_SIGNING_SECRET", "whsec_c2hvcnQ=")]);
    assert!(
        message.contains("WEBHOOK_SIGNING_SECRET: must be whsec_"),
        "{message}"
    );
    assert!(!message.contains("c2hvcnQ"), "{message}");
}

#[test]
fn a_bad_from_email_is_named() {
    let message = from_env_error(&[("FROM_EMAIL", "noreply")]);
    assert!(
        message.contains("FROM_EMAIL: not an email address"),
        "{message}"
    );
}

#[test]
fn a_username_without_a_password_is_refused() {
    let message = from_env_error(&[("SMTP_USERNAME", "mailer")]);
    assert!(message.contains("SMTP_PASSWORD"), "{message}");
}

#[test]
fn settings_come_from_their_variables() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("SMTP_HOST", "mail.example.com");
        jail.set_env("SMTP_PORT", "465");
        jail.set_env("SMTP_SECURITY", "tls");
        jail.set_env("SMTP_USERNAME", "");
        jail.set_env("WEBHOOK_TIMEOUT", "2.5");
        let settings = DeliverySettings::from_env().map_err(|e| e.to_string())?;
        assert_eq!(settings.smtp_host.as_deref(), Some("mail.example.com"));
        assert_eq!(settings.smtp_port, 465);
        assert_eq!(settings.smtp_security, delivery::SmtpSecurity::Tls);
        assert_eq!(settings.smtp_username, None);
        assert_eq!(
            settings.webhook_timeout.duration(),
            Duration::from_millis(2500)
        );
        Ok(())
    });
}

#[test]
fn every_variable_is_documented() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/delivery.md"),
    )
    .unwrap();
    for variable in app_support::env_vars::<DeliverySettings>() {
        assert!(
            doc.contains(&format!("`{variable}`")),
            "{variable} is not in docs/delivery.md"
        );
    }
}
