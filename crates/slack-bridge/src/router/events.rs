//! `POST /slack/events`: the `url_verification` handshake, and mentions
//! and direct messages handed to the inbox. Slack wants a 200 within 3 s
//! or delivers the event again (with `X-Slack-Retry-Num`); the work runs
//! in a task of its own, given `SLACK_ACK_TIMEOUT` before the 200 is sent
//! regardless. A failure within that time is answered 503, so Slack's
//! redelivery gets another chance; nothing was recorded for it.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{AppState, BridgeError, InFlight, Waited, require_media_type, wait_for};
use crate::blocks::OutgoingMessage;
use crate::identity::Lookup;
use crate::inbox::{Destination, SlackInbox, SlackMessage, SlackRetry, Submitted};
use crate::replies;
use crate::wire::events::{self, EventsBody, InboundEvent};

pub(super) async fn handle<I: SlackInbox>(
    State(state): State<AppState<I>>,
    request: Request,
) -> Response {
    match accept(state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn accept<I: SlackInbox>(
    state: AppState<I>,
    request: Request,
) -> Result<Response, BridgeError> {
    let (headers, body) = state.bridge.verified_body(request).await?;
    require_media_type(&headers, "application/json")?;
    let parsed = events::parse(&body).map_err(|error| {
        BridgeError::BadRequest(format!("the body is not an Events API payload: {error}"))
    })?;
    let callback = match parsed {
        EventsBody::UrlVerification { challenge } => {
            tracing::info!("Slack verified the events request URL");
            return Ok(Json(json!({ "challenge": challenge })).into_response());
        }
        EventsBody::RateLimited => {
            tracing::warn!("Slack reports app_rate_limited: it is dropping events for this app");
            return Ok(StatusCode::OK.into_response());
        }
        EventsBody::Other(kind) => {
            tracing::debug!(kind, "Events API envelope left alone");
            return Ok(StatusCode::OK.into_response());
        }
        EventsBody::Callback(callback) => callback,
    };
    let event = match callback.content {
        Ok(event) => event,
        Err(ignored) => {
            tracing::debug!(event_id = callback.event_id, ?ignored, "event ignored");
            return Ok(StatusCode::OK.into_response());
        }
    };
    if callback.event_id.is_empty() {
        return Err(BridgeError::BadRequest(
            "the event_callback has no event_id".into(),
        ));
    }
    let retry = retry_of(&headers);
    let Some(claim) = state.bridge.claim(&callback.event_id) else {
        tracing::info!(
            event_id = callback.event_id,
            "event already being handled here"
        );
        return Ok(StatusCode::OK.into_response());
    };
    let deadline = state.bridge.inner.ack_timeout;
    let event_id = callback.event_id.clone();
    let work = tokio::spawn(process(
        state,
        callback.event_id,
        callback.team_id,
        event,
        retry,
        claim,
    ));
    match wait_for(deadline, work).await {
        Waited::Done(Ok(())) => Ok(StatusCode::OK.into_response()),
        Waited::Done(Err(problem)) => Err(BridgeError::Unavailable(problem)),
        Waited::Failed => Err(BridgeError::Unavailable("handling the event failed".into())),
        Waited::Late(_) => {
            tracing::info!(
                event_id,
                "acknowledged before the inbox finished; it goes on"
            );
            Ok(StatusCode::OK.into_response())
        }
    }
}

fn retry_of(headers: &HeaderMap) -> Option<SlackRetry> {
    let number = headers
        .get("x-slack-retry-num")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse().ok())?;
    Some(SlackRetry {
        number,
        reason: headers
            .get("x-slack-retry-reason")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    })
}

/// Deduplicates, resolves the person, submits. `Err` says why it failed.
async fn process<I: SlackInbox>(
    state: AppState<I>,
    event_id: String,
    team_id: Option<String>,
    event: InboundEvent,
    retry: Option<SlackRetry>,
    _claim: InFlight,
) -> Result<(), String> {
    let outcome = submit(&state, &event_id, team_id, event, retry).await;
    match &outcome {
        Ok(what) => tracing::info!(event_id, outcome = what, "event handled"),
        Err(problem) => tracing::error!(event_id, problem, "event not handled"),
    }
    outcome.map(drop)
}

async fn submit<I: SlackInbox>(
    state: &AppState<I>,
    event_id: &str,
    team_id: Option<String>,
    event: InboundEvent,
    retry: Option<SlackRetry>,
) -> Result<&'static str, String> {
    match state.inbox.seen_event(event_id).await {
        Ok(true) => return Ok("duplicate"),
        Ok(false) => {}
        Err(error) => return Err(format!("the inbox could not look the event up: {error}")),
    }
    let team = event.team.clone().or(team_id);
    let destination = event.destination();
    let lookup = state
        .bridge
        .directory()
        .resolve(team.as_deref(), &event.user)
        .await
        .map_err(|error| error.to_string())?;
    let identity = match lookup {
        Lookup::Person(identity) => identity,
        Lookup::NoEmail | Lookup::NotFound => {
            let told = state
                .bridge
                .client()
                .deliver(&destination, &OutgoingMessage::text(replies::NO_EMAIL))
                .await;
            if let Err(error) = told {
                tracing::warn!(%error, "could not tell a user without an email why they get no answer");
            }
            return Ok("no email: told the user");
        }
    };
    let thread_ts = match &destination {
        Destination::Conversation { thread_ts, .. } => thread_ts.clone(),
        _ => None,
    };
    let message = SlackMessage {
        identity,
        text: event.text,
        origin: event.origin,
        destination,
        channel_id: event.channel,
        thread_ts,
        message_ts: Some(event.ts),
        event_id: Some(event_id.to_owned()),
        retry,
        trigger_id: None,
    };
    match state.inbox.submit(message).await {
        Ok(Submitted::Accepted) => Ok("submitted"),
        Ok(Submitted::Duplicate) => Ok("duplicate"),
        Err(error) => Err(format!("the inbox did not take the message: {error}")),
    }
}
