//! `user_integration_configs.config` per channel type: what is accepted,
//! and the problem (naming the field) when it is not. Fields this crate
//! does not use are left alone: rows written by the Python system carry
//! some (e.g. `include_agent_info`).

mod email;
mod fields;
mod webhook;

use std::fmt;

use serde_json::Value;

pub use email::EmailConfig;
pub use webhook::{WebhookAuth, WebhookConfig, WebhookMethod};

use crate::IntegrationType;

/// Why a config is refused: the field (a path such as `auth.token` or
/// `headers.X-Team`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigProblem {
    pub field: String,
    pub problem: String,
}

impl ConfigProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn required(field: &str) -> Self {
        Self::new(field, "required")
    }
}

/// A config that passed [`validate`].
#[derive(Clone)]
pub enum ValidConfig {
    Email(EmailConfig),
    Webhook(WebhookConfig),
    /// TEST takes anything.
    Test(Value),
    /// A type this crate has no rules for (e.g. SLACK): a JSON object,
    /// checked by its channel ([`crate::Channel::check`]).
    Other(Value),
}

impl fmt::Debug for ValidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(config) => f.debug_tuple("Email").field(config).finish(),
            Self::Webhook(config) => f.debug_tuple("Webhook").field(config).finish(),
            Self::Test(value) => f
                .debug_tuple("Test")
                .field(&crate::redact(IntegrationType::Test, value))
                .finish(),
            Self::Other(value) => f
                .debug_tuple("Other")
                .field(&crate::redact(IntegrationType::Slack, value))
                .finish(),
        }
    }
}

/// Checks `config` for a channel of type `kind`.
pub fn validate(kind: IntegrationType, config: &Value) -> Result<ValidConfig, ConfigProblem> {
    match kind {
        IntegrationType::Email => EmailConfig::from_json(config).map(ValidConfig::Email),
        IntegrationType::Webhook => WebhookConfig::from_json(config).map(ValidConfig::Webhook),
        IntegrationType::Test => Ok(ValidConfig::Test(config.clone())),
        _ => match config {
            Value::Object(_) => Ok(ValidConfig::Other(config.clone())),
            _ => Err(ConfigProblem::new("config", "must be a JSON object")),
        },
    }
}
