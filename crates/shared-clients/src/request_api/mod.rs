//! The request API as its clients speak it (the Python `shared_clients`
//! request-manager client, and `self-service-agent chat`): send a message,
//! read a request's status, reset a session; plus a readiness probe.

mod chat;
mod wire;

use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

pub use chat::{ChatOutcome, chat_loop};
pub use wire::{
    AcceptedResponse, AgentResponse, Conversation, ConversationMessage, ConversationsPage,
    RequestState, RequestStatus, StreamDelta, StreamHandoff, StreamToolCall, SyncResponse,
    stream_event,
};

/// What went wrong talking to the request API.
#[derive(Debug, thiserror::Error)]
pub enum RequestApiError {
    #[error("invalid request API URL '{url}': {reason}")]
    Url { url: String, reason: String },
    #[error("{method} {path}: no answer ({reason})")]
    Connect {
        method: String,
        path: String,
        reason: String,
    },
    #[error("{method} {path}: HTTP {status}: {detail}")]
    Status {
        method: String,
        path: String,
        status: u16,
        detail: String,
    },
    #[error("{method} {path}: unexpected answer: {reason}")]
    Decode {
        method: String,
        path: String,
        reason: String,
    },
}

impl app_support::HasExitStatus for RequestApiError {
    fn exit_status(&self) -> app_support::ExitStatus {
        match self {
            RequestApiError::Url { .. } => app_support::ExitStatus::Config,
            RequestApiError::Connect { .. } => app_support::ExitStatus::Unavailable,
            RequestApiError::Status { .. } | RequestApiError::Decode { .. } => {
                app_support::ExitStatus::Failure
            }
        }
    }
}

/// A client of the request API acting for one user.
#[derive(Clone)]
pub struct RequestApiClient {
    http: reqwest::Client,
    base_url: Url,
    user_id: String,
    api_key: Option<SecretString>,
}

impl std::fmt::Debug for RequestApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestApiClient")
            .field("base_url", &self.base_url.as_str())
            .field("user_id", &self.user_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl RequestApiClient {
    pub fn new(
        base_url: &str,
        user_id: impl Into<String>,
        api_key: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, RequestApiError> {
        let url_error = |reason: String| RequestApiError::Url {
            url: base_url.to_owned(),
            reason,
        };
        let base_url = Url::parse(base_url).map_err(|error| url_error(error.to_string()))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(url_error("expected http:// or https://".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|error| url_error(error.to_string()))?;
        Ok(Self {
            http,
            base_url,
            user_id: user_id.into(),
            api_key,
        })
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Sends one message; the answer says which session holds the conversation.
    pub async fn send(
        &self,
        content: &str,
        integration_type: &str,
    ) -> Result<SyncResponse, RequestApiError> {
        let body = self.message(content, integration_type);
        self.call(Method::POST, "/api/v1/requests/generic/sync", Some(&body))
            .await
    }

    fn message(&self, content: &str, integration_type: &str) -> Value {
        json!({
            "user_id": self.user_id,
            "content": content,
            "integration_type": integration_type,
            "request_type": "message",
            "metadata": {"command_context": {"command": "chat", "args": []}},
        })
    }

    /// A request to `path` with the caller's identity.
    fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, RequestApiError> {
        let url = self
            .base_url
            .join(path)
            .map_err(|error| RequestApiError::Url {
                url: path.to_owned(),
                reason: error.to_string(),
            })?;
        let mut request = self
            .http
            .request(method, url)
            .header("x-user-id", &self.user_id);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        Ok(request)
    }

    /// Sends one message and streams the answer: `on_text` gets its text as
    /// the model writes it; the whole answer is returned at the end. A
    /// server that does not stream answers at once, and `on_text` gets
    /// nothing.
    pub async fn send_streaming(
        &self,
        content: &str,
        integration_type: &str,
        mut on_text: impl FnMut(&str),
    ) -> Result<SyncResponse, RequestApiError> {
        let path = "/api/v1/requests/generic";
        let method = Method::POST;
        let body = self.message(content, integration_type);
        let response = self
            .request(method.clone(), path)?
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body)
            .send()
            .await
            .map_err(|error| connect_error(&method, path, &error))?;
        let status = response.status();
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if !status.is_success() || !is_stream {
            let text = response.text().await.unwrap_or_default();
            return decode(&method, path, status, &text);
        }
        let decode_error = |reason: String| RequestApiError::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            reason,
        };
        let mut bytes = response.bytes_stream();
        let mut buffer: Vec<u8> = Vec::new();
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk.map_err(|error| decode_error(error.to_string()))?;
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|pair| pair == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                let (name, data) = sse_block(&String::from_utf8_lossy(&block));
                match name.as_deref() {
                    Some(stream_event::DELTA) => {
                        let delta: StreamDelta = serde_json::from_str(&data)
                            .map_err(|error| decode_error(error.to_string()))?;
                        on_text(&delta.text);
                    }
                    Some(stream_event::DONE) => {
                        return serde_json::from_str(&data)
                            .map_err(|error| decode_error(error.to_string()));
                    }
                    Some(stream_event::ERROR) => {
                        return Err(RequestApiError::Status {
                            method: method.to_string(),
                            path: path.to_owned(),
                            status: status.as_u16(),
                            detail: error_detail(&data),
                        });
                    }
                    _ => {}
                }
            }
            if buffer.len() > MAX_EVENT_BYTES {
                return Err(decode_error(format!(
                    "an event longer than {MAX_EVENT_BYTES} bytes"
                )));
            }
        }
        Err(decode_error("the stream ended before the answer".into()))
    }

    /// `GET /api/v1/requests/{id}`.
    pub async fn request_status(&self, request_id: &str) -> Result<RequestStatus, RequestApiError> {
        self.call(Method::GET, &format!("/api/v1/requests/{request_id}"), None)
            .await
    }

    /// Ends the session: the next message starts a new one.
    pub async fn reset_session(&self, session_id: &str) -> Result<(), RequestApiError> {
        let _: Value = self
            .call(
                Method::PUT,
                &format!("/api/v1/sessions/{session_id}"),
                Some(&json!({"status": "INACTIVE"})),
            )
            .await?;
        Ok(())
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, RequestApiError> {
        let mut request = self.request(method.clone(), path)?;
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| connect_error(&method, path, &error))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        decode(&method, path, status, &text)
    }
}

/// The longest SSE event a streamed answer may send.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

fn connect_error(method: &Method, path: &str, error: &reqwest::Error) -> RequestApiError {
    RequestApiError::Connect {
        method: method.to_string(),
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

/// A JSON answer, or the error its status and body say.
fn decode<T: for<'de> Deserialize<'de>>(
    method: &Method,
    path: &str,
    status: StatusCode,
    text: &str,
) -> Result<T, RequestApiError> {
    if !status.is_success() {
        return Err(RequestApiError::Status {
            method: method.to_string(),
            path: path.to_owned(),
            status: status.as_u16(),
            detail: error_detail(text),
        });
    }
    serde_json::from_str(text).map_err(|error| RequestApiError::Decode {
        method: method.to_string(),
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

/// An SSE event block's name and data (its `data:` lines joined).
fn sse_block(block: &str) -> (Option<String>, String) {
    let mut name = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    (name, data.join("\n"))
}

/// The `detail` of an error body, else its start.
fn error_detail(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("detail")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// Why a [`probe`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("GET {url}: cannot build the HTTP client ({reason})")]
    Client { url: String, reason: String },
    #[error("GET {url}: no answer ({reason})")]
    NoAnswer { url: String, reason: String },
    #[error("GET {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

impl app_support::HasExitStatus for ProbeError {
    fn exit_status(&self) -> app_support::ExitStatus {
        app_support::ExitStatus::Unavailable
    }
}

/// One GET of `url`: `Ok(status)` for a 2xx answer, else why not. For exec
/// probes in an image without a shell or curl.
pub async fn probe(url: &str, timeout: Duration) -> Result<StatusCode, ProbeError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|error| ProbeError::Client {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|error| ProbeError::NoAnswer {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(status);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ProbeError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        body: body.chars().take(300).collect(),
    })
}
