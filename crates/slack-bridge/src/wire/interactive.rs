//! Interactivity bodies (`POST /slack/interactive`): a form whose
//! `payload` field is JSON. The bridge reads `block_actions` of its own
//! two buttons.

use serde::Deserialize;

use crate::blocks::{NEW_SESSION_ACTION, VIEW_SESSION_ACTION};

#[derive(Debug, Deserialize)]
struct Form {
    payload: String,
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    team: Option<Team>,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    team_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Team {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Channel {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

/// One of the bridge's buttons, pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ButtonPress {
    pub button: Pressed,
    pub user: String,
    pub team_id: Option<String>,
    pub channel: Option<String>,
    pub message_ts: Option<String>,
    pub response_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pressed {
    NewSession { session_id: Option<String> },
    ViewSession { session_id: String },
}

/// A parsed interactivity body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Interaction {
    Button(ButtonPress),
    /// Another payload type, or another app's action: acknowledged only.
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum InteractionError {
    #[error("the body is not a form with a payload field: {0}")]
    Form(#[from] serde_urlencoded::de::Error),
    #[error("the payload field is not an interaction payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("the {0} action has no {1}")]
    Missing(&'static str, &'static str),
}

pub(crate) fn parse(body: &[u8]) -> Result<Interaction, InteractionError> {
    let form: Form = serde_urlencoded::from_bytes(body)?;
    let payload: Payload = serde_json::from_str(&form.payload)?;
    if payload.kind != "block_actions" {
        return Ok(Interaction::Other(payload.kind));
    }
    let Some(action) = payload.actions.iter().find(|action| {
        action.action_id == NEW_SESSION_ACTION || action.action_id == VIEW_SESSION_ACTION
    }) else {
        return Ok(Interaction::Other("block_actions of another action".into()));
    };
    let button = if action.action_id == NEW_SESSION_ACTION {
        Pressed::NewSession {
            session_id: action.value.clone(),
        }
    } else {
        Pressed::ViewSession {
            session_id: action
                .value
                .clone()
                .filter(|value| !value.trim().is_empty())
                .ok_or(InteractionError::Missing(
                    VIEW_SESSION_ACTION,
                    "session id value",
                ))?,
        }
    };
    let user = payload
        .user
        .ok_or(InteractionError::Missing("block_actions", "user"))?;
    let response_url = payload
        .response_url
        .ok_or(InteractionError::Missing("block_actions", "response_url"))?;
    let container = payload.container;
    Ok(Interaction::Button(ButtonPress {
        button,
        team_id: user.team_id.or(payload.team.map(|team| team.id)),
        user: user.id,
        channel: payload
            .channel
            .map(|channel| channel.id)
            .or_else(|| container.as_ref().and_then(|c| c.channel_id.clone())),
        message_ts: payload
            .message
            .and_then(|message| message.ts)
            .or_else(|| container.and_then(|c| c.message_ts)),
        response_url,
    }))
}
