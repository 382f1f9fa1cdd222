//! What can go wrong talking to LlamaStack, with enough context to act on:
//! the method and path (never the full URL, which may carry credentials),
//! the HTTP status and the start of the answer's body.

use std::time::Duration;

use app_support::{ConfigError, ExitStatus, HasExitStatus};

use super::models::ModelResolutionError;
use super::responses::{ResponsesFailure, classify_answer};

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

    /// A response failed: an HTTP error answer to `POST /responses`
    /// (`status`), an error event in its stream, or a `response.failed` /
    /// `response.incomplete` (`code` as the server gave it).
    #[error("LlamaStack POST {path}: {}{message}", describe_failure(*status, code.as_deref()))]
    ResponseFailed {
        path: String,
        status: Option<u16>,
        code: Option<String>,
        message: String,
        failure: ResponsesFailure,
    },

    /// The stream of a response ended (or broke) before `response.completed`.
    #[error("LlamaStack POST {path}: the stream ended before response.completed: {reason}")]
    StreamEnded { path: String, reason: String },

    /// A configured model name names no model the server serves.
    #[error("LlamaStack: {0}")]
    Model(#[from] ModelResolutionError),

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
            LlamaStackError::ResponseFailed { status, .. } => *status,
            _ => None,
        }
    }

    /// Which failure of a response (or of a call naming a model or vector
    /// store) this is, for the caller to act on.
    pub fn responses_failure(&self) -> ResponsesFailure {
        match self {
            LlamaStackError::ResponseFailed { failure, .. } => failure.clone(),
            LlamaStackError::Model(_) => ResponsesFailure::UnknownModel,
            LlamaStackError::Status { status, body, .. } => classify_answer(*status, body),
            _ => ResponsesFailure::Other,
        }
    }

    /// The server answered that the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// LlamaStack itself could not be reached (as opposed to refusing a
    /// request): no answer, or a 5xx answer other than a response failing
    /// for a reason of its own (an unreachable MCP server).
    pub fn is_unavailable(&self) -> bool {
        match self {
            LlamaStackError::Connect { .. } | LlamaStackError::Unavailable { .. } => true,
            LlamaStackError::Status { status, .. } => *status >= 500,
            LlamaStackError::ResponseFailed {
                status: Some(status),
                failure: ResponsesFailure::Other,
                ..
            } => *status >= 500,
            _ => false,
        }
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

/// `HTTP 502: `, `error 404: ` or nothing, before a failure's message.
fn describe_failure(status: Option<u16>, code: Option<&str>) -> String {
    match (status, code) {
        (Some(status), _) => format!("HTTP {status}: "),
        (None, Some(code)) => format!("the response failed ({code}): "),
        (None, None) => "the response failed: ".to_owned(),
    }
}

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
    fn a_response_failing_for_its_mcp_server_is_not_llamastack_unavailable() {
        let failed = |status: u16, failure: ResponsesFailure| LlamaStackError::ResponseFailed {
            path: "/v1/responses".into(),
            status: Some(status),
            code: None,
            message: "x".into(),
            failure,
        };
        let mcp = failed(502, ResponsesFailure::McpUnreachable { server_url: None });
        assert!(!mcp.is_unavailable());
        assert_eq!(mcp.status(), Some(502));
        assert!(failed(503, ResponsesFailure::Other).is_unavailable());
        assert_eq!(
            mcp.to_string(),
            "LlamaStack POST /v1/responses: HTTP 502: x"
        );
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
