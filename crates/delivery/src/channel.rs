//! The interface every channel implements, and what one attempt carries.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::{DeliveryError, IntegrationType};

/// One way of delivering answers (EMAIL, WEBHOOK, TEST; SLACK from another
/// crate). Registered in [`crate::Channels`] under its [`Channel::kind`].
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    fn kind(&self) -> IntegrationType;

    /// One attempt. The config is the raw `user_integration_configs.config`:
    /// a channel validates it itself (rows may predate validation), and an
    /// invalid one is a permanent failure naming the field.
    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError>;

    /// Problems with `config` that depend on this channel's settings (e.g.
    /// no signing secret anywhere); [`crate::validate`] covers the rest.
    fn check(&self, _config: &Value) -> Result<(), crate::ConfigProblem> {
        Ok(())
    }
}

/// The rendered message: subject, text body, and the HTML made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Message {
    /// From a subject and a text body (e.g. `delivery_logs.subject` and
    /// `content`); the HTML part is made from the text (`docs/delivery.md`).
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let html = crate::html::to_html(&text);
        Self {
            subject: crate::template::single_line(&subject.into()),
            text,
            html,
        }
    }
}

/// One attempt at one delivery (`delivery_logs` row).
#[derive(Clone)]
pub struct Delivery<'a> {
    /// `delivery_logs.id`: the Standard Webhooks `webhook-id` (`msg_<id>`)
    /// and the email `Message-ID` derive from it, so retries keep them.
    pub id: i64,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub channel: IntegrationType,
    pub request_id: &'a str,
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub agent_id: Option<&'a str>,
    pub message: &'a Message,
    /// When the answer was created (`request_logs.completed_at`, else the
    /// delivery's `created_at`).
    pub created_at: DateTime<Utc>,
    /// `user_integration_configs.config`, as stored.
    pub config: &'a Value,
}

impl fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("attempt", &self.attempt)
            .field("channel", &self.channel)
            .field("request_id", &self.request_id)
            .field("session_id", &self.session_id)
            .field("user_id", &self.user_id)
            .field("agent_id", &self.agent_id)
            .field("subject", &self.message.subject)
            .field("created_at", &self.created_at)
            .field("config", &crate::redact(self.channel, self.config))
            .finish_non_exhaustive()
    }
}

/// A successful attempt: what to store in `delivery_logs.integration_metadata`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub channel: IntegrationType,
    /// How long the attempt took.
    pub elapsed: Duration,
    /// Channel-specific facts (SMTP message id and reply, HTTP status, …).
    pub details: Map<String, Value>,
}

impl Delivered {
    pub fn new(channel: IntegrationType, elapsed: Duration) -> Self {
        Self {
            channel,
            elapsed,
            details: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The JSON object for `delivery_logs.integration_metadata`: the details
    /// plus `channel` and `response_time_ms`.
    pub fn metadata(&self) -> Value {
        let mut metadata = self.details.clone();
        metadata.insert(
            "channel".into(),
            serde_json::to_value(self.channel).unwrap_or(Value::Null),
        );
        metadata.insert(
            "response_time_ms".into(),
            Value::from(u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX)),
        );
        Value::Object(metadata)
    }
}
