//! `POST /slack/interactive`: the "New session" and "View session"
//! buttons of an answer. Slack gets its 200 at once; the outcome is posted
//! to the payload's `response_url`, shown to the one who pressed.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::{AppState, BridgeError, require_media_type};
use crate::blocks::OutgoingMessage;
use crate::identity::Lookup;
use crate::inbox::{ResponseUrl, SlackInbox};
use crate::replies;
use crate::wire::interactive::{self, ButtonPress, Interaction, Pressed};

pub(super) async fn handle<I: SlackInbox>(
    State(state): State<AppState<I>>,
    request: Request,
) -> Response {
    match accept(state, request).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn accept<I: SlackInbox>(state: AppState<I>, request: Request) -> Result<(), BridgeError> {
    let (headers, body) = state.bridge.verified_body(request).await?;
    require_media_type(&headers, "application/x-www-form-urlencoded")?;
    let interaction = interactive::parse(&body).map_err(|error| {
        BridgeError::BadRequest(format!("the body is not an interaction payload: {error}"))
    })?;
    match interaction {
        Interaction::Other(kind) => {
            tracing::debug!(kind, "interaction left alone");
        }
        Interaction::Button(press) => {
            tokio::spawn(process(state, press));
        }
    }
    Ok(())
}

async fn process<I: SlackInbox>(state: AppState<I>, press: ButtonPress) {
    let text = outcome(&state, &press).await;
    let url = ResponseUrl(press.response_url);
    if let Err(error) = state
        .bridge
        .client()
        .respond(&url, &OutgoingMessage::text(text))
        .await
    {
        tracing::warn!(%error, "could not answer a button through its response_url");
    }
}

async fn outcome<I: SlackInbox>(state: &AppState<I>, press: &ButtonPress) -> String {
    let lookup = state
        .bridge
        .directory()
        .resolve(press.team_id.as_deref(), &press.user)
        .await;
    let identity = match lookup {
        Ok(Lookup::Person(identity)) => identity,
        Ok(Lookup::NoEmail | Lookup::NotFound) => return replies::NO_EMAIL.to_owned(),
        Err(error) => {
            tracing::error!(%error, "button: could not resolve the user");
            return replies::UNAVAILABLE.to_owned();
        }
    };
    match &press.button {
        Pressed::NewSession { .. } => match state.inbox.reset(&identity).await {
            Ok(()) => {
                tracing::info!(user = identity.slack_user_id, "session reset by button");
                replies::RESET.to_owned()
            }
            Err(error) => {
                tracing::error!(%error, "button: the inbox could not reset the session");
                replies::UNAVAILABLE.to_owned()
            }
        },
        Pressed::ViewSession { session_id } => {
            match state.inbox.describe_session(&identity, session_id).await {
                Ok(Some(summary)) => replies::session(&summary),
                Ok(None) => replies::no_such_session(session_id),
                Err(error) => {
                    tracing::error!(%error, "button: the inbox could not describe the session");
                    replies::UNAVAILABLE.to_owned()
                }
            }
        }
    }
}
