//! Requests: `POST /api/v1/requests/{generic,cli,web}` answered when the
//! agents have answered (and their older `/sync` aliases), or, with
//! `Prefer: respond-async` (RFC 7240), accepted at once and answered
//! through the queue and the user's channels; `GET /api/v1/requests/{id}`.
//! As the Python request manager's clients expect them. Both kinds run
//! through the same queue (`crate::queue`), so a synchronous caller that
//! goes away loses nothing: the request completes, is stored and delivered.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agent_runtime::TurnEvent;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::{mpsc, oneshot};

use axum::extract::State;
use axum::http::header::{ACCEPT, LOCATION, VARY};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use shared_clients::request_api::{
    AcceptedResponse, AgentResponse, RequestState, RequestStatus, StreamDelta, StreamHandoff,
    StreamToolCall, SyncResponse, stream_event,
};
use shared_db::entities::IntegrationType;

use crate::auth::Identity;
use crate::conversation::{Listeners, Message};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::queue::{self, Outcome, Workers};
use crate::state::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for channel in [Channel::Generic, Channel::Cli, Channel::Web] {
        router = router
            .route(
                &format!("/api/v1/requests/{}/sync", channel.path()),
                post(move |state, caller, headers: HeaderMap, body| async move {
                    if wants_stream(&headers) {
                        stream(state, caller, channel, body).await
                    } else {
                        Ok(sync(state, caller, channel, body).await?.into_response())
                    }
                }),
            )
            .route(
                &format!("/api/v1/requests/{}", channel.path()),
                post(move |state, caller, headers, body| {
                    respond(state, caller, headers, channel, body)
                }),
            );
    }
    router.route("/api/v1/requests/{request_id}", get(get_request))
}

/// The body existing clients send. Fields this service does not use (such
/// as `use_responses`) are accepted and ignored, so older and newer
/// clients keep working.
#[derive(Debug, Deserialize)]
pub struct RequestBody {
    pub user_id: Option<String>,
    pub content: String,
    pub integration_type: Option<IntegrationType>,
    #[serde(default = "default_request_type")]
    pub request_type: String,
    #[serde(default)]
    pub metadata: Option<Value>,
}

fn default_request_type() -> String {
    "message".into()
}

/// The longest `request_type` the schema stores (`varchar(50)`), in characters.
const MAX_REQUEST_TYPE_LEN: usize = 50;

/// How much longer than the request timeout a synchronous caller waits, so
/// that the worker's own timeout (stored as failed) arrives first.
const WAIT_MARGIN: Duration = Duration::from_secs(2);

/// The route a request came by: `generic` (the body names the channel),
/// `cli` or `web`.
#[derive(Debug, Clone, Copy)]
enum Channel {
    Generic,
    Cli,
    Web,
}

impl Channel {
    fn path(self) -> &'static str {
        match self {
            Channel::Generic => "generic",
            Channel::Cli => "cli",
            Channel::Web => "web",
        }
    }
}

/// The message the caller sends by `channel`.
fn message(caller: &Identity, channel: Channel, body: RequestBody) -> Result<Message, ApiError> {
    let integration = match channel {
        Channel::Generic => body.integration_type.ok_or_else(|| {
            ApiError::Unprocessable(
                "integration_type: missing field (e.g. \"CLI\", \"WEB\")".into(),
            )
        })?,
        Channel::Cli => IntegrationType::Cli,
        Channel::Web => IntegrationType::Web,
    };
    caller.check_claimed(body.user_id.as_deref())?;
    if body.content.trim().is_empty() {
        return Err(ApiError::Unprocessable("content: must not be empty".into()));
    }
    let request_type_len = body.request_type.chars().count();
    if request_type_len == 0 || request_type_len > MAX_REQUEST_TYPE_LEN {
        return Err(ApiError::Unprocessable(format!(
            "request_type: must be 1 to {MAX_REQUEST_TYPE_LEN} characters"
        )));
    }
    let metadata = match body.metadata {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(object @ Value::Object(_)) => object,
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "metadata: must be a JSON object".into(),
            ));
        }
    };
    Ok(Message {
        user_id: caller.as_str().to_owned(),
        integration,
        request_type: body.request_type,
        content: body.content,
        metadata,
        event: None,
    })
}

/// `Prefer` (RFC 7240), the request header that asks for the asynchronous
/// answer.
pub const PREFER: HeaderName = HeaderName::from_static("prefer");
/// `Preference-Applied` (RFC 7240), the answer's header saying it was.
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");
/// The preference for the asynchronous answer.
pub const RESPOND_ASYNC: &str = "respond-async";

/// Whether the caller prefers the asynchronous answer: a `respond-async`
/// preference in any `Prefer` header (names are case-insensitive; values
/// that are not text are ignored, as preferences a server does not know).
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all(PREFER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| preference.split([';', '=']).next())
        .any(|name| name.trim().eq_ignore_ascii_case(RESPOND_ASYNC))
}

/// Whether the caller asks for the answer streamed (`Accept:
/// text/event-stream`).
fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|range| range.split(';').next())
        .any(|range| range.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Forgets a synchronous caller's interest in its request (its outcome, its
/// turn's events) when the caller goes away before the answer (the request
/// goes on all the same).
struct Watching {
    workers: Arc<Workers>,
    listeners: Arc<Listeners>,
    request_id: String,
}

impl Watching {
    fn new(state: &AppState, request_id: &str) -> Self {
        Self {
            workers: state.workers.clone(),
            listeners: state.listeners.clone(),
            request_id: request_id.to_owned(),
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.workers.unwatch(&self.request_id);
        self.listeners.forget(&self.request_id);
    }
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST /api/v1/requests/{channel}`: the answer, unless the caller
/// prefers it asynchronous.
async fn respond(
    state: State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    channel: Channel,
    body: ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    let answer = if prefers_async(&headers) {
        accept(state, caller, channel, body).await?
    } else if wants_stream(&headers) {
        stream(state, caller, channel, body).await?
    } else {
        sync(state, caller, channel, body).await?.into_response()
    };
    Ok(([(VARY, "prefer, accept")], answer).into_response())
}

/// `POST /api/v1/requests/{channel}/sync`, and the default of
/// `POST /api/v1/requests/{channel}`: waits for the answer.
async fn sync(
    State(state): State<AppState>,
    Caller(caller): Caller,
    channel: Channel,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Json<SyncResponse>, ApiError> {
    let message = message(&caller, channel, body)?;
    let request_id = new_request_id();
    let told = state.workers.watch(&request_id);
    let _watching = Watching::new(&state, &request_id);
    let submitted = queue::submit(&state, request_id.clone(), message).await?;
    let deadline = state.config.request_timeout + WAIT_MARGIN;
    let outcome = queue::wait(&state, &request_id, told, deadline).await?;
    answer(outcome, request_id, submitted.session_id, deadline).map(Json)
}

/// The answer of a synchronous request, from how it ended (`None`: not
/// within `deadline`).
fn answer(
    outcome: Option<Outcome>,
    request_id: String,
    session_id: String,
    deadline: Duration,
) -> Result<SyncResponse, ApiError> {
    match outcome {
        Some(Outcome::Completed(completed)) => Ok(SyncResponse {
            request_id: completed.request_id,
            session_id: completed.session_id,
            status: RequestState::Completed,
            response: AgentResponse::new(
                completed.content,
                completed.agent,
                completed.metadata,
                i64::from(completed.processing_time_ms),
            ),
        }),
        Some(Outcome::Failed {
            timed_out: false,
            reason,
            ..
        }) => Err(ApiError::AgentFailed {
            message: format!("the agent could not answer: {reason}"),
            request_id,
            session_id,
        }),
        Some(Outcome::Failed { reason, .. }) => Err(ApiError::AgentTimeout {
            message: reason,
            request_id,
            session_id,
        }),
        Some(Outcome::Released) => Err(ApiError::Requeued {
            message: format!(
                "this replica is shutting down; the request goes on elsewhere: GET /api/v1/requests/{request_id}"
            ),
            request_id,
            session_id,
        }),
        None => Err(ApiError::AgentTimeout {
            message: format!(
                "no answer within {}s; the request is still queued or running: GET /api/v1/requests/{request_id}",
                deadline.as_secs()
            ),
            request_id,
            session_id,
        }),
    }
}

/// `Accept: text/event-stream`: the answer streamed as the turn makes it
/// (`docs/request-api.md`, "Streamed answers").
async fn stream(
    State(state): State<AppState>,
    Caller(caller): Caller,
    channel: Channel,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    let message = message(&caller, channel, body)?;
    let request_id = new_request_id();
    let told = state.workers.watch(&request_id);
    let events = state.listeners.listen(&request_id);
    let watching = Watching::new(&state, &request_id);
    let submitted = queue::submit(&state, request_id.clone(), message).await?;
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(relay(
        state,
        watching,
        submitted.session_id,
        told,
        events,
        sender,
    ));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// SSE events held for a slow reader before the relay waits for it.
const STREAM_BUFFER: usize = 64;

/// Relays the turn's events to the caller, then the answer; ends early
/// when the caller goes away (the request goes on).
async fn relay(
    state: AppState,
    watching: Watching,
    session_id: String,
    told: oneshot::Receiver<Outcome>,
    mut events: mpsc::UnboundedReceiver<TurnEvent>,
    out: mpsc::Sender<Event>,
) {
    let request_id = watching.request_id.clone();
    let deadline = state.config.request_timeout + WAIT_MARGIN;
    let wait = queue::wait(&state, &request_id, told, deadline);
    tokio::pin!(wait);
    let outcome = loop {
        tokio::select! {
            biased;
            Some(event) = events.recv() => {
                if out.send(turn_event(event)).await.is_err() {
                    return;
                }
            }
            outcome = &mut wait => break outcome,
        }
    };
    // The worker tells its events before the outcome: what is left is here.
    while let Ok(event) = events.try_recv() {
        if out.send(turn_event(event)).await.is_err() {
            return;
        }
    }
    drop(watching);
    let request_id = request_id.clone();
    let last = match outcome.and_then(|outcome| answer(outcome, request_id, session_id, deadline)) {
        Ok(answer) => json_event(stream_event::DONE, &answer),
        Err(error) => {
            let response = error.into_response();
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            Event::default()
                .event(stream_event::ERROR)
                .data(String::from_utf8_lossy(&body))
        }
    };
    let _ = out.send(last).await;
}

fn turn_event(event: TurnEvent) -> Event {
    match event {
        TurnEvent::Delta(text) => json_event(stream_event::DELTA, &StreamDelta { text }),
        TurnEvent::Handoff { from, to } => {
            json_event(stream_event::HANDOFF, &StreamHandoff { from, to })
        }
        TurnEvent::ToolCall { server, name } => {
            json_event(stream_event::TOOL_CALL, &StreamToolCall { server, name })
        }
    }
}

fn json_event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_default())
}

/// `Prefer: respond-async`: stored and queued, `202` at once.
async fn accept(
    State(state): State<AppState>,
    Caller(caller): Caller,
    channel: Channel,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    let message = message(&caller, channel, body)?;
    let submitted = queue::submit(&state, new_request_id(), message).await?;
    let location = format!("/api/v1/requests/{}", submitted.request_id);
    Ok((
        StatusCode::ACCEPTED,
        [
            (LOCATION, location),
            (PREFERENCE_APPLIED, RESPOND_ASYNC.to_owned()),
        ],
        Json(AcceptedResponse {
            request_id: submitted.request_id,
            session_id: submitted.session_id,
            status: RequestState::Accepted,
        }),
    )
        .into_response())
}

async fn get_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(request_id): ApiPath<String>,
) -> Result<Json<RequestStatus>, ApiError> {
    let not_found = || ApiError::NotFound(format!("request {request_id} not found"));
    let (log, session) = store::get_request(&state.db, &request_id)
        .await?
        .ok_or_else(not_found)?;
    // Another user's request answers as an unknown one: ids cannot be probed.
    if session.as_ref().map(|session| session.user_id.as_str()) != Some(caller.as_str()) {
        return Err(not_found());
    }
    let failed_reason = log
        .response_metadata
        .as_ref()
        .filter(|meta| meta.get("status").and_then(Value::as_str) == Some("failed"))
        .map(|meta| {
            meta.get("error")
                .and_then(Value::as_str)
                .unwrap_or("failed")
                .to_owned()
        });
    let running = session
        .as_ref()
        .and_then(|session| session.conversation_context.as_ref())
        .and_then(|context| context.pointer("/running/request_id"))
        .and_then(Value::as_str)
        == Some(log.request_id.as_str());
    let status = match (&failed_reason, &log.response_content, log.completed_at) {
        (Some(_), _, _) => RequestState::Failed,
        (None, Some(_), _) => RequestState::Completed,
        (None, None, Some(_)) => RequestState::Failed,
        (None, None, None) if running => RequestState::Processing,
        (None, None, None) => RequestState::Accepted,
    };
    let response = log.response_content.map(|content| {
        AgentResponse::new(
            content,
            log.agent_id.clone().unwrap_or_default(),
            log.response_metadata.clone().unwrap_or(Value::Null),
            i64::from(log.processing_time_ms.unwrap_or_default()),
        )
    });
    Ok(Json(RequestStatus {
        request_id: log.request_id,
        session_id: log.session_id,
        status,
        request_type: log.request_type,
        created_at: log.created_at,
        completed_at: log.completed_at,
        response,
        error: failed_reason,
    }))
}
