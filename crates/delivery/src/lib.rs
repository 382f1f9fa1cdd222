//! Delivering a completed request's answer to one of a user's channels
//! (a `user_integration_configs` row): email over SMTP, a signed webhook
//! (Standard Webhooks), and TEST, which only logs.
//!
//! The service's durable queue (the `delivery_logs` rows) calls
//! [`Channels::deliver`] once per attempt and decides from the result what
//! to do next: a [`DeliveryError::Permanent`] fails the delivery now, a
//! [`DeliveryError::Temporary`] is retried later (not before its
//! `retry_after`, when the peer gave one). This crate keeps no state across
//! attempts: everything that must stay the same across retries (the
//! Standard Webhooks `webhook-id`, the email `Message-ID`) is derived from
//! the delivery's id.
//!
//! Also here: [`validate`] (a config refused names its field) and
//! [`redact`] (a config with every secret replaced, for answers and logs),
//! and [`render`] (subject and body from an `integration_templates` row or
//! the built-in defaults). The contract is in `docs/delivery.md`.

mod channel;
mod config;
mod email;
mod error;
mod html;
mod redact;
mod registry;
mod secrets;
mod settings;
mod template;
mod test_channel;
mod webhook;

pub use channel::{Channel, Delivered, Delivery, Message};
pub use config::{
    ConfigProblem, EmailConfig, ValidConfig, WebhookAuth, WebhookConfig, WebhookMethod, validate,
};
pub use email::EmailChannel;
pub use error::DeliveryError;
pub use redact::redact;
pub use registry::Channels;
pub use settings::{DeliverySettings, SmtpSecurity};
pub use shared_db::entities::IntegrationType;
pub use template::{RenderContext, Rendered, TemplateSource, render};
pub use test_channel::TestChannel;
pub use webhook::{
    BODY_EXCERPT_CHARS, EVENT_TYPE, MAX_RETRY_AFTER, SigningSecret, WebhookChannel, WebhookPayload,
    sign as sign_webhook, webhook_id,
};
