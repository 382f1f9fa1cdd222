//! Slack's errors, sorted for a dispatcher: permanent (retrying cannot
//! help; the reason is kept), rate limited (retry after the time Slack
//! gave), temporary (retry later). The lists are `docs/slack.md`'s.

use std::time::Duration;

/// Slack answers most errors with HTTP 200 and `{"ok": false, "error": …}`.
/// Errors documented as transient on Slack's side.
const TEMPORARY_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

/// Codes meaning "too many requests" (the first is the Web API's, the
/// second older method pages').
const RATE_LIMIT_ERRORS: &[&str] = &["ratelimited", "rate_limited"];

/// When Slack says "rate limited" without a `Retry-After`.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A Web API call that did not succeed. The messages name the method and
/// Slack's reason; never the token, never a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Retrying the same call cannot succeed: `invalid_auth`,
    /// `channel_not_found`, `msg_too_long`, … and any code Slack adds later.
    #[error("Slack {method} failed: {reason} (permanent)")]
    Permanent { method: String, reason: String },
    /// HTTP 429 (or `ratelimited`): retry after `retry_after`.
    #[error("Slack {method} is rate limited: retry after {} s", retry_after.as_secs())]
    RateLimited {
        method: String,
        retry_after: Duration,
    },
    /// A 5xx, a connection failure, a timeout, `internal_error`, …
    #[error("Slack {method} failed: {reason} (temporary)")]
    Temporary { method: String, reason: String },
}

impl SlackError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SlackError::Permanent { .. })
    }

    /// When a retry may succeed: `Retry-After` for a rate limit, `None`
    /// for a temporary failure (the dispatcher's own backoff applies) and
    /// for a permanent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Slack's error code, or what went wrong (`HTTP 503`, `timed out`, …).
    pub fn reason(&self) -> String {
        match self {
            SlackError::Permanent { reason, .. } | SlackError::Temporary { reason, .. } => {
                reason.clone()
            }
            SlackError::RateLimited { .. } => "ratelimited".to_owned(),
        }
    }

    pub fn method(&self) -> &str {
        match self {
            SlackError::Permanent { method, .. }
            | SlackError::RateLimited { method, .. }
            | SlackError::Temporary { method, .. } => method,
        }
    }
}

/// The error for `{"ok": false, "error": code}` from `method`.
pub(crate) fn from_code(method: &str, code: &str, retry_after: Option<Duration>) -> SlackError {
    let method = method.to_owned();
    if RATE_LIMIT_ERRORS.contains(&code) {
        SlackError::RateLimited {
            method,
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        }
    } else if TEMPORARY_ERRORS.contains(&code) {
        SlackError::Temporary {
            method,
            reason: code.to_owned(),
        }
    } else {
        SlackError::Permanent {
            method,
            reason: code.to_owned(),
        }
    }
}

/// A transport failure: the URL is stripped (a `response_url` is a credential).
pub(crate) fn from_transport(method: &str, error: &reqwest::Error) -> SlackError {
    let reason = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else if error.is_decode() || error.is_body() {
        "the answer could not be read".to_owned()
    } else {
        // reqwest's message without the URL it would otherwise include.
        let mut stripped = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(current) = source {
            if stripped.is_empty() {
                stripped = "request failed".to_owned();
            } else {
                stripped = format!("{stripped}: {current}");
            }
            source = current.source();
        }
        stripped
    };
    SlackError::Temporary {
        method: method.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_and_channel_errors_are_permanent_with_their_reason() {
        for code in [
            "invalid_auth",
            "not_authed",
            "account_inactive",
            "token_revoked",
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "msg_too_long",
        ] {
            let error = from_code("chat.postMessage", code, None);
            assert!(error.is_permanent(), "{code}");
            assert_eq!(error.reason(), code);
        }
    }

    #[test]
    fn transient_codes_are_temporary() {
        for code in ["internal_error", "fatal_error", "service_unavailable"] {
            assert!(matches!(
                from_code("users.info", code, None),
                SlackError::Temporary { .. }
            ));
        }
    }

    #[test]
    fn ratelimited_keeps_retry_after_or_takes_the_default() {
        let given = from_code(
            "chat.postMessage",
            "ratelimited",
            Some(Duration::from_secs(7)),
        );
        assert_eq!(given.retry_after(), Some(Duration::from_secs(7)));
        let missing = from_code("chat.postMessage", "ratelimited", None);
        assert_eq!(missing.retry_after(), Some(DEFAULT_RETRY_AFTER));
    }

    #[test]
    fn an_unknown_code_is_permanent() {
        assert!(from_code("chat.postMessage", "brand_new_error", None).is_permanent());
    }
}
