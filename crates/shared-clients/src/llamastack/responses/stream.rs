//! `POST <base>/responses`, streamed: the request, its retries (only while
//! nothing was received), and the events read by their `type` whatever
//! their order or number (0.2.18 sends fewer; 0.7.3 and OGX send an MCP
//! call's arguments before the call's item).

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::Value;

use super::super::client::{LlamaStackClient, connect_error, json_bytes, read_error_body};
use super::super::error::{LlamaStackError, snippet};
use super::failure::{McpListing, ResponsesFailure, classify, unusable_chain};
use super::object::{OutputItem, ResponseObject, ToolCall};
use super::request::{CreateResponse, Tool};
use super::sse::SseReader;

/// What a caller hears while a response streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// More text of the answer.
    TextDelta(String),
    /// A tool call is done: an MCP tool (with its server's label), a file
    /// search (`file_search`), or a caller-run function (no label).
    ToolCall {
        server_label: Option<String>,
        name: String,
    },
    /// `response.completed` arrived; the response is returned next.
    Completed,
}

impl LlamaStackClient {
    /// Creates a response, streamed (`stream: true` on the wire whatever
    /// `request.stream` says), telling `on_event` as it goes, and returns
    /// the `response` of `response.completed`.
    ///
    /// A failed, incomplete or unfinished response is an error
    /// ([`LlamaStackError::responses_failure`] tells which kind). A turn is
    /// not idempotent: the request is sent again only when no answer at all
    /// came back (connection refused, or reset before the answer began:
    /// after answering 502, 0.7.3 and OGX reset the kept-alive connection),
    /// never after a status or once the stream began. The whole call is
    /// bounded by the configured timeout, each event and the stream by
    /// [`MAX_EVENT_BYTES`](super::MAX_EVENT_BYTES) and
    /// [`MAX_STREAM_BYTES`](super::MAX_STREAM_BYTES).
    pub async fn create_response(
        &self,
        request: &CreateResponse,
        on_event: impl FnMut(StreamEvent) + Send,
    ) -> Result<ResponseObject, LlamaStackError> {
        let timeout = self.config().timeout;
        let path = self.api_base().await?.join("responses").to_string();
        match tokio::time::timeout(timeout, self.stream_response(request, &path, on_event)).await {
            Ok(result) => result,
            Err(_) => Err(LlamaStackError::Connect {
                method: "POST".into(),
                path,
                reason: format!("timed out after {}s", timeout.as_secs_f64()),
            }),
        }
    }

    async fn stream_response(
        &self,
        request: &CreateResponse,
        path: &str,
        mut on_event: impl FnMut(StreamEvent) + Send,
    ) -> Result<ResponseObject, LlamaStackError> {
        let mut body = request.clone();
        body.stream = true;
        let bytes = json_bytes(path, &body)?;
        let response = self.post_turn(path, bytes).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let text = read_error_body(response).await;
            let message = server_message(&text);
            let failure = classify(request, Some(status), &message, None);
            return Err(failed(request, path, Some(status), None, &message, failure));
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json {
            // A server ignoring `stream` answers the object itself.
            let answer: ResponseObject =
                super::super::client::read_json(&Method::POST, path, response).await?;
            let mut state = StreamState::new(request, path);
            return state.finish_with(answer, &mut on_event);
        }
        let mut state = StreamState::new(request, path);
        read_events(response, &mut state, &mut on_event).await
    }

    /// Sends the turn; only an attempt that received nothing is repeated:
    /// a refused connection within the configured retries (with backoff),
    /// a connection reset before the answer once (on a fresh connection).
    async fn post_turn(&self, path: &str, bytes: Vec<u8>) -> Result<Response, LlamaStackError> {
        let api_path = super::super::client::ApiPath::new(path);
        let url = self.url(&api_path, &[]);
        let mut pauses = backon::BackoffBuilder::build(self.backoff());
        let mut reset_retried = false;
        loop {
            let sent = self
                .http
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .body(bytes.clone())
                .send()
                .await;
            let error = match sent {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            let refused = error.is_connect() && !error.is_timeout();
            let reset = !refused && nothing_received(&error) && !reset_retried;
            let pause = if refused {
                pauses.next()
            } else if reset {
                reset_retried = true;
                Some(Duration::ZERO)
            } else {
                None
            };
            let Some(pause) = pause else {
                return Err(connect_error(&Method::POST, path, &error));
            };
            tracing::warn!(
                error = %connect_error(&Method::POST, path, &error),
                retry_in_ms = pause.as_millis() as u64,
                "LlamaStack received no turn, sending it again"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

/// The request failed before any answer began: not a timeout (the server
/// may be working on it), not an error reading an answer.
fn nothing_received(error: &reqwest::Error) -> bool {
    !error.is_timeout()
        && !error.is_body()
        && !error.is_decode()
        && !error.is_status()
        && (error.is_connect() || error.is_request())
}

async fn read_events(
    mut response: Response,
    state: &mut StreamState<'_>,
    on_event: &mut (impl FnMut(StreamEvent) + Send),
) -> Result<ResponseObject, LlamaStackError> {
    let mut reader = SseReader::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(error) => {
                return Err(state.ended(&format!(
                    "reading the stream failed ({})",
                    super::super::client::describe(&error)
                )));
            }
        };
        let events = reader
            .feed(&chunk)
            .map_err(|reason| state.decode_error(reason))?;
        for data in events {
            if let Some(done) = state.handle(&data, on_event)? {
                read_to_the_end(&mut response).await;
                return Ok(done);
            }
        }
    }
    if let Some(data) = reader
        .finish()
        .map_err(|reason| state.decode_error(reason))?
        && serde_json::from_str::<Value>(&data).is_ok()
        && let Some(done) = state.handle(&data, on_event)?
    {
        return Ok(done);
    }
    Err(state.ended("the server closed it"))
}

/// How long the end of a stream is waited for after `response.completed`.
const AFTER_COMPLETED: Duration = Duration::from_secs(5);

/// Reads what follows `response.completed` until the server ends the
/// stream (bounded in time and size, and ignored). LlamaStack 0.2.18 stores
/// a streamed response only after it sent `response.completed`: a client
/// that hangs up at once cancels the store, and the next turn's
/// `previous_response_id` is unknown (`docs/llamastack.md`, "The stream";
/// the chains of `bins/self-service-agent/tests/mcp_end_to_end.rs`).
async fn read_to_the_end(response: &mut Response) {
    let rest = async {
        let mut read = 0;
        while let Ok(Some(chunk)) = response.chunk().await {
            read += chunk.len();
            if read > super::MAX_EVENT_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(AFTER_COMPLETED, rest).await;
}

/// What the stream has told so far.
struct StreamState<'r> {
    request: &'r CreateResponse,
    path: &'r str,
    listing: McpListing,
    /// Keys of the tool items already told to the caller.
    reported: HashSet<String>,
    response_id: Option<String>,
}

impl<'r> StreamState<'r> {
    fn new(request: &'r CreateResponse, path: &'r str) -> Self {
        Self {
            request,
            path,
            listing: McpListing::default(),
            reported: HashSet::new(),
            response_id: None,
        }
    }

    /// Handles one event: `Some` when it completed the response.
    fn handle(
        &mut self,
        data: &str,
        on_event: &mut (impl FnMut(StreamEvent) + Send),
    ) -> Result<Option<ResponseObject>, LlamaStackError> {
        let event: Value = serde_json::from_str(data).map_err(|error| {
            self.decode_error(format!("an event is not JSON ({error}): {}", snippet(data)))
        })?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match kind {
            "response.created" | "response.in_progress" => {
                self.response_id = event["response"]["id"].as_str().map(str::to_owned);
            }
            "response.output_text.delta" => {
                if let Some(delta) = event.get("delta").and_then(Value::as_str)
                    && !delta.is_empty()
                {
                    on_event(StreamEvent::TextDelta(delta.to_owned()));
                }
            }
            "response.mcp_list_tools.in_progress" => self.listing.started += 1,
            "response.mcp_list_tools.completed" | "response.mcp_list_tools.failed" => {
                self.listing.finished += 1;
            }
            "response.output_item.added" | "response.output_item.done" => {
                // An item of an unexpected shape is not worth failing the turn.
                if let Ok(item) = serde_json::from_value::<OutputItem>(event["item"].clone()) {
                    self.item(&item, kind.ends_with("done"), on_event);
                }
            }
            "response.completed" => {
                let response = self.response_of(&event)?;
                return self.finish_with(response, on_event).map(Some);
            }
            "response.failed" | "response.incomplete" => {
                let response = self.response_of(&event)?;
                return Err(self.unsuccessful(&response));
            }
            "error" => {
                let message = text(&event["message"]);
                let code = event.get("code").map(text);
                return Err(self.stream_error(code, &message));
            }
            "" if event.get("error").is_some() => {
                // 0.2.18 and 0.7.3: `{"error": {"message", "code"?}}`.
                let error = &event["error"];
                let message = match error.get("message") {
                    Some(message) => text(message),
                    None => text(error),
                };
                let code = error.get("code").map(text);
                return Err(self.stream_error(code, &message));
            }
            _ => {}
        }
        Ok(None)
    }

    fn item(
        &mut self,
        item: &OutputItem,
        done: bool,
        on_event: &mut (impl FnMut(StreamEvent) + Send),
    ) {
        if let OutputItem::McpListTools { server_label, .. } = item
            && !self.listing.listed.contains(server_label)
        {
            self.listing.listed.push(server_label.clone());
        }
        if done {
            self.report(item, on_event);
        }
    }

    /// Tells the caller of a finished tool item, once.
    fn report(&mut self, item: &OutputItem, on_event: &mut (impl FnMut(StreamEvent) + Send)) {
        let (key, call) = match item {
            OutputItem::McpCall(call) => (
                call.id
                    .clone()
                    .unwrap_or_else(|| format!("mcp:{}", call.name)),
                ToolCall {
                    server_label: Some(call.server_label.clone()),
                    name: call.name.clone(),
                },
            ),
            OutputItem::FunctionCall(call) => (
                call.id.clone().unwrap_or_else(|| call.call_id.clone()),
                ToolCall {
                    server_label: None,
                    name: call.name.clone(),
                },
            ),
            OutputItem::FileSearchCall(call) => (
                call.id.clone().unwrap_or_else(|| "file_search".to_owned()),
                ToolCall::file_search(),
            ),
            _ => return,
        };
        if self.reported.insert(key) {
            on_event(StreamEvent::ToolCall {
                server_label: call.server_label,
                name: call.name,
            });
        }
    }

    /// Ends with `response`: tool calls the stream did not tell, then
    /// `Completed`; an unsuccessful response is an error.
    fn finish_with(
        &mut self,
        response: ResponseObject,
        on_event: &mut (impl FnMut(StreamEvent) + Send),
    ) -> Result<ResponseObject, LlamaStackError> {
        use super::object::ResponseStatus;
        if matches!(
            response.status,
            ResponseStatus::Failed | ResponseStatus::Incomplete
        ) {
            return Err(self.unsuccessful(&response));
        }
        for item in &response.output {
            self.report(item, on_event);
        }
        on_event(StreamEvent::Completed);
        Ok(response)
    }

    fn response_of(&self, event: &Value) -> Result<ResponseObject, LlamaStackError> {
        serde_json::from_value(event["response"].clone()).map_err(|error| {
            self.decode_error(format!(
                "{} without a response object ({error})",
                event["type"].as_str().unwrap_or("event")
            ))
        })
    }

    fn unsuccessful(&self, response: &ResponseObject) -> LlamaStackError {
        let (code, message) = match (&response.error, &response.incomplete_details) {
            (Some(error), _) => (error.code.clone(), error.message.clone()),
            (None, Some(details)) => (
                Some("incomplete".to_owned()),
                format!("the response is incomplete ({})", details.reason),
            ),
            (None, None) => (None, format!("the response ended {:?}", response.status)),
        };
        let failure = classify(self.request, None, &message, Some(&self.listing));
        failed(self.request, self.path, None, code, &message, failure)
    }

    fn stream_error(&self, code: Option<String>, message: &str) -> LlamaStackError {
        let failure = match classify(self.request, None, message, Some(&self.listing)) {
            ResponsesFailure::Other if self.response_id.is_none() => {
                unusable_chain(self.request, message)
            }
            failure => failure,
        };
        failed(self.request, self.path, None, code, message, failure)
    }

    fn ended(&self, reason: &str) -> LlamaStackError {
        LlamaStackError::StreamEnded {
            path: self.path.to_owned(),
            reason: match &self.response_id {
                Some(id) => format!("{reason}; response {}", snippet(id)),
                None => reason.to_owned(),
            },
        }
    }

    fn decode_error(&self, reason: String) -> LlamaStackError {
        LlamaStackError::Decode {
            method: "POST".into(),
            path: self.path.to_owned(),
            reason,
        }
    }
}

/// The message of an error answer: `detail` (FastAPI) or `error.message`
/// (OpenAI), else the body.
fn server_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    if let Some(detail) = value.get("detail") {
        return text(detail);
    }
    if let Some(message) = value.get("error").and_then(|error| error.get("message")) {
        return text(message);
    }
    body.to_owned()
}

/// A string as is, anything else as its JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The error of a failed response, its message cut to a snippet without
/// URLs or any header value of the request's MCP tools.
fn failed(
    request: &CreateResponse,
    path: &str,
    status: Option<u16>,
    code: Option<String>,
    message: &str,
    failure: ResponsesFailure,
) -> LlamaStackError {
    let mut message = message.to_owned();
    for tool in &request.tools {
        if let Tool::Mcp { headers, .. } = tool {
            for value in headers.values().filter(|value| value.len() >= 3) {
                message = message.replace(value.as_str(), "<redacted>");
            }
        }
    }
    LlamaStackError::ResponseFailed {
        path: path.to_owned(),
        status,
        code: code.map(|code| snippet(&code)),
        message: snippet(&message),
        failure,
    }
}
