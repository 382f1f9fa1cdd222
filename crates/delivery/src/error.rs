//! What a failed attempt tells the queue: fail now, or try again later.

use std::time::Duration;

use serde_json::{Value, json};

/// A failed delivery attempt. `reason` is one line for
/// `delivery_logs.error_message`, `details` a JSON object for
/// `delivery_logs.error_details`; neither ever holds a secret (a token, a
/// password, a signing secret, a URL's credentials or query).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// Trying again cannot help (a rejected recipient, 410 Gone, a bad
    /// config, a broken template, a channel this service does not offer).
    #[error("{reason}")]
    Permanent { reason: String, details: Value },
    /// It may work later (a 5xx, 429, a 4xx SMTP reply, a refused
    /// connection, a timeout). `retry_after` is the wait the peer asked for.
    #[error("{reason}")]
    Temporary {
        reason: String,
        details: Value,
        retry_after: Option<Duration>,
    },
}

impl DeliveryError {
    pub fn permanent(reason: impl Into<String>, details: Value) -> Self {
        Self::Permanent {
            reason: one_line(reason.into()),
            details: object(details),
        }
    }

    pub fn temporary(reason: impl Into<String>, details: Value) -> Self {
        Self::Temporary {
            reason: one_line(reason.into()),
            details: object(details),
            retry_after: None,
        }
    }

    /// The same failure, with the wait the peer asked for.
    pub fn retry_after(self, wait: Option<Duration>) -> Self {
        match self {
            Self::Temporary {
                reason, details, ..
            } => Self::Temporary {
                reason,
                details,
                retry_after: wait,
            },
            permanent => permanent,
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Permanent { reason, .. } | Self::Temporary { reason, .. } => reason,
        }
    }

    pub fn details(&self) -> &Value {
        match self {
            Self::Permanent { details, .. } | Self::Temporary { details, .. } => details,
        }
    }

    /// The wait the peer asked for before the next attempt, if any.
    pub fn wait(&self) -> Option<Duration> {
        match self {
            Self::Temporary { retry_after, .. } => *retry_after,
            Self::Permanent { .. } => None,
        }
    }
}

/// `delivery_logs.error_message` is shown as one line.
fn one_line(reason: String) -> String {
    if reason.contains(['\r', '\n']) {
        reason.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        reason
    }
}

fn object(details: Value) -> Value {
    match details {
        Value::Object(_) => details,
        Value::Null => json!({}),
        other => json!({ "detail": other }),
    }
}

/// The error and its causes, `: `-separated, each cause left out when the
/// text already says it: the peers' libraries say little at the top
/// (lettre's "Connection error", reqwest's "error sending request").
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
