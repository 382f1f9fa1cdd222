//! Request bodies as Slack sends them to an app, for tests (shapes from Slack's Events API,
//! slash command and block_actions references).

use super::{BOT_USER_ID, TEAM_ID};
use serde_json::{Value, json};

fn callback(event_id: &str, event: Value) -> String {
    json!({
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "AFAKEAPP01",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "authorizations": [{"enterprise_id": null, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false,
    })
    .to_string()
}

pub fn url_verification(challenge: &str) -> String {
    json!({"token": "deprecated", "challenge": challenge, "type": "url_verification"}).to_string()
}

/// An `app_mention` of the bot by `user` in `channel`.
pub fn mention(
    event_id: &str,
    user: &str,
    channel: &str,
    text: &str,
    thread_ts: Option<&str>,
) -> String {
    let mut event = json!({
        "type": "app_mention", "user": user, "text": text, "ts": "1700000100.000200",
        "channel": channel, "event_ts": "1700000100.000200", "team": TEAM_ID,
        "client_msg_id": "5b1a0c5e-0000-4000-8000-000000000001",
    });
    if let Some(thread_ts) = thread_ts {
        event["thread_ts"] = thread_ts.into();
    }
    callback(event_id, event)
}

/// A `message` in a direct-message conversation.
pub fn direct_message(
    event_id: &str,
    user: &str,
    channel: &str,
    text: &str,
    thread_ts: Option<&str>,
) -> String {
    let mut event = json!({
        "type": "message", "channel": channel, "user": user, "text": text,
        "ts": "1700000200.000300", "event_ts": "1700000200.000300", "channel_type": "im",
        "team": TEAM_ID,
    });
    if let Some(thread_ts) = thread_ts {
        event["thread_ts"] = thread_ts.into();
    }
    callback(event_id, event)
}

/// A direct message with `extra` fields merged into the event.
pub fn direct_message_with(event_id: &str, user: &str, channel: &str, extra: Value) -> String {
    let mut event = json!({
        "type": "message", "channel": channel, "user": user, "text": "hello",
        "ts": "1700000300.000400", "event_ts": "1700000300.000400", "channel_type": "im",
    });
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    callback(event_id, event)
}

/// A slash command form.
pub fn command(command: &str, text: &str, user: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "deprecated"),
        ("team_id", TEAM_ID),
        ("team_domain", "fake"),
        ("channel_id", "CGENERAL01"),
        ("channel_name", "general"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", command),
        ("text", text),
        ("api_app_id", "AFAKEAPP01"),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .expect("form")
}

/// A `block_actions` interaction of `action_id` with `value`, by `user`.
pub fn button(action_id: &str, value: &str, user: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": TEAM_ID},
        "api_app_id": "AFAKEAPP01",
        "token": "deprecated",
        "container": {"type": "message", "message_ts": "1700000400.000500", "channel_id": "CGENERAL01", "is_ephemeral": false},
        "trigger_id": "12466734323.1395872398.abc",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": "CGENERAL01", "name": "general"},
        "message": {"type": "message", "ts": "1700000400.000500", "text": "answer"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "ssa_session_actions", "text": {"type": "plain_text", "text": "Button"}, "value": value, "type": "button", "action_ts": "1700000401.000000"}],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form")
}
