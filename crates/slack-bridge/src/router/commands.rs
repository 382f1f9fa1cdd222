//! `POST /slack/commands`: the slash command. It is answered at once with
//! an ephemeral message (Slack shows a failure after 3 s); the agent's
//! answer comes later through the command's `response_url`.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, BridgeError, Waited, require_media_type, wait_for};
use crate::blocks::OutgoingMessage;
use crate::identity::Lookup;
use crate::inbox::{Destination, Origin, ResponseUrl, SlackInbox, SlackMessage};
use crate::replies;
use crate::wire::commands::{self, CommandText, SlashCommand};

pub(super) async fn handle<I: SlackInbox>(
    State(state): State<AppState<I>>,
    request: Request,
) -> Response {
    match accept(state, request).await {
        Ok(text) => ephemeral(&text),
        Err(error) => error.into_response(),
    }
}

fn ephemeral(text: &str) -> Response {
    Json(json!({"response_type": "ephemeral", "text": text})).into_response()
}

/// A reply for the employee; `acknowledges` when it only says the
/// message was taken (so a late outcome need not be sent again).
struct Reply {
    text: String,
    acknowledges: bool,
}

impl Reply {
    fn final_(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            acknowledges: false,
        }
    }
}

async fn accept<I: SlackInbox>(
    state: AppState<I>,
    request: Request,
) -> Result<String, BridgeError> {
    let (headers, body) = state.bridge.verified_body(request).await?;
    require_media_type(&headers, "application/x-www-form-urlencoded")?;
    let command = commands::parse(&body).map_err(|error| {
        BridgeError::BadRequest(format!("the body is not a slash command: {error}"))
    })?;
    let expected = &state.bridge.inner.command;
    if command.command != *expected {
        return Ok(replies::unknown_command(expected, &command.command));
    }
    if command.intent() == CommandText::Help {
        return Ok(replies::help(expected));
    }
    let deadline = state.bridge.inner.ack_timeout;
    let client = state.bridge.client().clone();
    let response_url = ResponseUrl(command.response_url.clone());
    let work = tokio::spawn(process(state, command));
    Ok(match wait_for(deadline, work).await {
        Waited::Done(reply) => reply.text,
        Waited::Failed => replies::UNAVAILABLE.to_owned(),
        Waited::Late(work) => {
            // What the work ends with still reaches the employee.
            tokio::spawn(async move {
                let Ok(reply) = work.await else { return };
                if reply.acknowledges {
                    return;
                }
                if let Err(error) = client
                    .respond(&response_url, &OutgoingMessage::text(reply.text))
                    .await
                {
                    tracing::warn!(%error, "could not send a slash command's late reply");
                }
            });
            replies::working_late()
        }
    })
}

async fn process<I: SlackInbox>(state: AppState<I>, command: SlashCommand) -> Reply {
    let lookup = state
        .bridge
        .directory()
        .resolve(command.team_id.as_deref(), &command.user_id)
        .await;
    let identity = match lookup {
        Ok(Lookup::Person(identity)) => identity,
        Ok(Lookup::NoEmail | Lookup::NotFound) => return Reply::final_(replies::NO_EMAIL),
        Err(error) => {
            tracing::error!(%error, "slash command: could not resolve the user");
            return Reply::final_(replies::UNAVAILABLE);
        }
    };
    match command.intent() {
        CommandText::Help => Reply::final_(replies::help(&state.bridge.inner.command)),
        CommandText::Reset => match state.inbox.reset(&identity).await {
            Ok(()) => {
                tracing::info!(
                    user = identity.slack_user_id,
                    "session reset by slash command"
                );
                Reply::final_(replies::RESET)
            }
            Err(error) => {
                tracing::error!(%error, "slash command: the inbox could not reset the session");
                Reply::final_(replies::UNAVAILABLE)
            }
        },
        CommandText::Message(text) => {
            let message = SlackMessage {
                identity,
                text: text.clone(),
                origin: Origin::SlashCommand,
                destination: Destination::ResponseUrl {
                    url: ResponseUrl(command.response_url),
                    user: command.user_id,
                },
                channel_id: command.channel_id,
                thread_ts: None,
                message_ts: None,
                event_id: None,
                retry: None,
                trigger_id: command.trigger_id,
            };
            match state.inbox.submit(message).await {
                Ok(_) => {
                    tracing::info!("slash command submitted");
                    Reply {
                        text: replies::working(&text),
                        acknowledges: true,
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "slash command: the inbox did not take the message");
                    Reply::final_(replies::UNAVAILABLE)
                }
            }
        }
    }
}
