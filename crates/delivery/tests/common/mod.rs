//! What the delivery tests share: one attempt's data, and settings that
//! point the channels at the test peers.
#![allow(dead_code)]

use app_support::Seconds;
use chrono::{TimeZone, Utc};
use delivery::{Delivery, DeliverySettings, IntegrationType, Message, SmtpSecurity};
use serde_json::Value;

/// A signing secret the receivers and channels share in tests.
pub const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// Another valid one (a receiver holding it rejects our signatures).
pub const OTHER_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==";

pub const REQUEST_ID: &str = "3f1c9a52-6f1e-4a8b-9d3c-0a7e5b2c1d40";
pub const SESSION_ID: &str = "b7e2d1c0-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

/// The data of one attempt, owned; [`Attempt::delivery`] borrows it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: i64,
    pub attempt: u32,
    pub channel: IntegrationType,
    pub message: Message,
    pub config: Value,
}

impl Attempt {
    pub fn new(channel: IntegrationType, config: Value) -> Self {
        Self {
            id: 4242,
            attempt: 1,
            channel,
            message: Message::new(
                "Your laptop refresh",
                "Your **new laptop** is ordered.\n\nSee [the portal](https://it.example.com/r/1).",
            ),
            config,
        }
    }

    pub fn retry(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }

    pub fn delivery(&self) -> Delivery<'_> {
        Delivery {
            id: self.id,
            attempt: self.attempt,
            channel: self.channel,
            request_id: REQUEST_ID,
            session_id: SESSION_ID,
            user_id: "alice",
            agent_id: Some("laptop-refresh"),
            message: &self.message,
            created_at: Utc
                .with_ymd_and_hms(2025, 8, 1, 12, 30, 0)
                .single()
                .expect("a valid date"),
            config: &self.config,
        }
    }
}

/// Settings for a plain (no TLS) SMTP server on 127.0.0.1:`port`.
pub fn smtp_settings(port: u16) -> DeliverySettings {
    DeliverySettings {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: port,
        smtp_security: SmtpSecurity::None,
        smtp_timeout: Seconds::new(5),
        from_email: "agent@it.example.com".into(),
        from_name: "IT Self-Service".into(),
        ..DeliverySettings::default()
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A WEBHOOK channel, with `WEBHOOK_SIGNING_SECRET` set to `service_secret`.
pub fn webhook_channel(service_secret: Option<&str>) -> delivery::WebhookChannel {
    let settings = DeliverySettings {
        webhook_signing_secret: service_secret.map(|s| secrecy::SecretString::from(s.to_owned())),
        ..DeliverySettings::default()
    };
    delivery::WebhookChannel::new(&settings).expect("valid settings")
}

/// A WEBHOOK attempt to `url`, signed with [`SECRET`], plus `extra` fields.
pub fn webhook_attempt(url: &str, extra: Value) -> Attempt {
    let mut config = serde_json::json!({"url": url, "signing_secret": SECRET});
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    Attempt::new(IntegrationType::Webhook, config)
}
