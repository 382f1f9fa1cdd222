//! What can go wrong talking to LlamaStack, with enough context to act on:
//! the method and path (never the full URL, which may carry credentials),
//! the HTTP status and the start of the answer's body.

use std::time::Duration;

use app_support::{ConfigError, ExitStatus, HasExitStatus};

/// How much of an error body is kept.
pub(crate) const BODY_SNIPPET_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LlamaStackError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// No answer at all: connection refused, reset, timed out.
    #[error("LlamaStack {method} {path}: no answer ({reason})")]
    Connect {
        method: String,
        path: String,
        reason: String,
    },

    /// An answer with a non-success status.
    #[error("LlamaStack {method} {path}: HTTP {status}: {body}")]
    Status {
        method: String,
        path: String,
        status: u16,
        body: String,
    },

    /// A success status whose body is not what the API promises.
    #[error("LlamaStack {method} {path}: unexpected answer: {reason}")]
    Decode {
        method: String,
        path: String,
        reason: String,
    },

    /// The turn's event stream reported an error (LlamaStack sends it with HTTP 200).
    #[error("LlamaStack turn on agent {agent_id} failed: {message}")]
    TurnFailed { agent_id: String, message: String },

    /// The event stream ended (or broke) before `turn_complete`.
    #[error("LlamaStack turn on agent {agent_id} ended without an answer: {reason}")]
    TurnIncomplete { agent_id: String, reason: String },

    #[error("LlamaStack at {target} not ready after {}s: {reason}", waited.as_secs())]
    Unavailable {
        target: String,
        waited: Duration,
        reason: String,
    },
}

impl LlamaStackError {
    /// Worth another attempt: no answer, or a 5xx answer. Never a 4xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlamaStackError::Connect { .. } => true,
            LlamaStackError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            LlamaStackError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The status LlamaStack reported: the answer's, or the one that
    /// starts a turn's error event (`"400: Invalid value: Could not find
    /// agent info for ..."`: the stream itself answered 200).
    pub fn reported_status(&self) -> Option<u16> {
        match self {
            LlamaStackError::TurnFailed { message, .. } => message
                .split_once(':')
                .and_then(|(code, _)| code.trim().parse::<u16>().ok())
                .filter(|code| (400..600).contains(code)),
            error => error.status(),
        }
    }

    /// The server answered that the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// LlamaStack itself could not be reached (as opposed to refusing a request).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            LlamaStackError::Connect { .. } | LlamaStackError::Unavailable { .. }
        ) || self.status().is_some_and(|status| status >= 500)
    }
}

impl HasExitStatus for LlamaStackError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            LlamaStackError::Config(_) => ExitStatus::Config,
            error if error.is_unavailable() => ExitStatus::Unavailable,
            _ => ExitStatus::Failure,
        }
    }
}

/// The first [`BODY_SNIPPET_CHARS`] characters of a body, on one line.
/// The start of a body or message, on one line, with every URL replaced by
/// `<url>`: what a server says may name internal endpoints (an MCP server's
/// address, a URL with credentials), and errors never echo a URL.
pub(crate) fn snippet(body: &str) -> String {
    let body = without_urls(body);
    let mut text: String = body
        .chars()
        .take(BODY_SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.chars().nth(BODY_SNIPPET_CHARS).is_some() {
        text.push('…');
    }
    text
}

/// `text` with each `scheme://…` run (up to white space or a quote)
/// replaced by `<url>`.
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '<' | '>'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str("<url>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_error_event_reports_the_status_that_starts_its_message() {
        let failed = |message: &str| LlamaStackError::TurnFailed {
            agent_id: "a".into(),
            message: message.into(),
        };
        assert_eq!(
            failed("400: Invalid value: Could not find agent info for a").reported_status(),
            Some(400)
        );
        assert_eq!(failed("404: Not Found").reported_status(), Some(404));
        assert_eq!(failed("the model is overloaded").reported_status(), None);
        assert_eq!(failed("12: something").reported_status(), None);
        assert_eq!(failed("400: x").status(), None);
    }

    #[test]
    fn urls_never_reach_a_message() {
        let said = "401: Client error '401 Unauthorized' for url 'http://10.0.0.7:8000/mcp?token=x' ok https://u:p@h/a b";
        assert_eq!(
            snippet(said),
            "401: Client error '401 Unauthorized' for url '<url>' ok <url> b"
        );
    }

    fn status(code: u16) -> LlamaStackError {
        LlamaStackError::Status {
            method: "GET".into(),
            path: "/v1/models".into(),
            status: code,
            body: String::new(),
        }
    }

    #[test]
    fn only_connection_errors_and_5xx_are_retried() {
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(404).is_retryable());
        let connect = LlamaStackError::Connect {
            method: "GET".into(),
            path: "/v1/health".into(),
            reason: "refused".into(),
        };
        assert!(connect.is_retryable());
    }

    #[test]
    fn long_bodies_are_cut_to_a_one_line_snippet() {
        let body = format!("line one\nline two {}", "x".repeat(500));
        let cut = snippet(&body);
        assert!(!cut.contains('\n'));
        assert_eq!(cut.chars().count(), BODY_SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(snippet("short"), "short");
    }

    #[test]
    fn unavailable_and_refused_map_to_different_exit_codes() {
        assert_eq!(status(503).exit_status(), ExitStatus::Unavailable);
        assert_eq!(status(400).exit_status(), ExitStatus::Failure);
    }
}
