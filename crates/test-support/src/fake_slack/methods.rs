//! The fake's handlers: the Web API methods and the `response_url`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{Map, Value, json};

use super::{BOT_ID, BOT_TOKEN, BOT_USER_ID, Call, Fault, PostedMessage, Response, Shared, lock};

const SECTION_TEXT_LIMIT: usize = 3000;
const MESSAGE_BLOCK_LIMIT: usize = 50;
const TEXT_LIMIT: usize = 40_000;
const RESPONSE_URL_USES: u32 = 5;

/// JSON bodies as they are; forms (and the query) as an object of strings.
fn fields(uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let mut object = Map::new();
    if is_json {
        if let Ok(Value::Object(parsed)) = serde_json::from_slice::<Value>(body) {
            object = parsed;
        }
    } else {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        object.extend(form.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    for (key, value) in query {
        object.entry(key).or_insert(Value::String(value));
    }
    Value::Object(object)
}

fn recorded_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter(|(name, _)| *name != header::AUTHORIZATION)
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("<not text>").to_owned(),
            )
        })
        .collect()
}

fn slack_error(code: &str) -> HttpResponse {
    axum::Json(json!({"ok": false, "error": code})).into_response()
}

pub(super) async fn web_api(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let body = fields(&uri, &headers, &body);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| body["token"].as_str().map(str::to_owned));
    let bearer_token_valid = bearer.as_deref() == Some(BOT_TOKEN);
    let fault = {
        let mut state = lock(&shared);
        state.calls.push(Call {
            method: method.clone(),
            headers: recorded_headers(&headers),
            bearer_token_valid,
            body: body.clone(),
        });
        state
            .faults
            .get_mut(&method)
            .and_then(std::collections::VecDeque::pop_front)
    };
    match fault {
        Some(Fault::RateLimited { retry_after_secs }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                axum::Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        Some(Fault::Error(code)) => return slack_error(&code),
        Some(Fault::Status(status)) => {
            return StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    match bearer {
        None => return slack_error("not_authed"),
        Some(_) if !bearer_token_valid => return slack_error("invalid_auth"),
        Some(_) => {}
    }
    match method.as_str() {
        "chat.postMessage" => post_message(&shared, &body),
        "conversations.open" => open_conversation(&shared, &body),
        "users.info" => user_info(&shared, &body),
        "auth.test" => axum::Json(json!({
            "ok": true, "team_id": super::TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
        }))
        .into_response(),
        _ => slack_error("unknown_method"),
    }
}

fn post_message(shared: &Shared, body: &Value) -> HttpResponse {
    let Some(channel) = body["channel"].as_str().filter(|c| !c.is_empty()) else {
        return slack_error("channel_not_found");
    };
    let text = body["text"].as_str().map(str::to_owned);
    // A form sends blocks as a JSON string.
    let blocks = match &body["blocks"] {
        Value::String(encoded) => serde_json::from_str(encoded).unwrap_or(Value::Null),
        other => other.clone(),
    };
    let blocks: Vec<Value> = match blocks {
        Value::Array(blocks) => blocks,
        Value::Null => Vec::new(),
        _ => return slack_error("invalid_blocks"),
    };
    if text.as_deref().is_none_or(str::is_empty) && blocks.is_empty() {
        return slack_error("no_text");
    }
    if text
        .as_deref()
        .is_some_and(|t| t.encode_utf16().count() > TEXT_LIMIT)
    {
        return slack_error("msg_too_long");
    }
    if blocks.len() > MESSAGE_BLOCK_LIMIT || blocks.iter().any(invalid_block) {
        return slack_error("invalid_blocks");
    }
    let mut state = lock(shared);
    let known =
        state.channels.contains(channel) || state.direct_messages.values().any(|dm| dm == channel);
    if !known {
        return slack_error("channel_not_found");
    }
    state.clock += 1;
    let ts = format!("1700000000.{:06}", state.clock);
    let thread_ts = body["thread_ts"].as_str().map(str::to_owned);
    state.messages.push(PostedMessage {
        channel: channel.to_owned(),
        ts: ts.clone(),
        thread_ts: thread_ts.clone(),
        text: text.clone(),
        blocks: blocks.clone(),
    });
    let mut message = json!({
        "type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
        "text": text.unwrap_or_default(), "blocks": blocks,
    });
    if let Some(thread_ts) = thread_ts {
        message["thread_ts"] = thread_ts.into();
    }
    axum::Json(json!({"ok": true, "channel": channel, "ts": ts, "message": message}))
        .into_response()
}

/// A section needs a text object of at most 3000 characters.
fn invalid_block(block: &Value) -> bool {
    match block["type"].as_str() {
        Some("section") => block["text"]["text"]
            .as_str()
            .is_none_or(|text| text.is_empty() || text.encode_utf16().count() > SECTION_TEXT_LIMIT),
        Some("context" | "actions" | "divider" | "header") => false,
        _ => true,
    }
}

fn open_conversation(shared: &Shared, body: &Value) -> HttpResponse {
    let Some(user) = body["users"].as_str().filter(|u| !u.is_empty()) else {
        return slack_error("users_list_not_supplied");
    };
    if user.contains(',') {
        return slack_error("not_enough_users");
    }
    let mut state = lock(shared);
    if !state.users.contains_key(user) {
        return slack_error("user_not_found");
    }
    let already_open = state.direct_messages.contains_key(user);
    let next = state.direct_messages.len() + 1;
    let channel = state
        .direct_messages
        .entry(user.to_owned())
        .or_insert_with(|| format!("DFAKE{next:05}"))
        .clone();
    axum::Json(json!({"ok": true, "already_open": already_open, "channel": {"id": channel}}))
        .into_response()
}

fn user_info(shared: &Shared, body: &Value) -> HttpResponse {
    let Some(id) = body["user"].as_str() else {
        return slack_error("user_not_found");
    };
    let state = lock(shared);
    let Some(user) = state.users.get(id) else {
        return slack_error("user_not_found");
    };
    let mut profile = json!({"real_name": id, "display_name": id});
    if let Some(email) = &user.email {
        profile["email"] = email.clone().into();
    }
    axum::Json(json!({"ok": true, "user": {
        "id": user.id, "team_id": super::TEAM_ID, "name": id.to_lowercase(),
        "deleted": user.deleted, "is_bot": user.is_bot, "profile": profile,
    }}))
    .into_response()
}

pub(super) async fn response_url(
    State(shared): State<Shared>,
    Path(_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let mut state = lock(&shared);
    let url = format!("{}{}", state.base, uri.path());
    let fields = fields(&uri, &headers, &body);
    state.calls.push(Call {
        method: "response_url".into(),
        headers: recorded_headers(&headers),
        bearer_token_valid: false,
        body: fields.clone(),
    });
    if let Some(fault) = state
        .faults
        .get_mut("response_url")
        .and_then(std::collections::VecDeque::pop_front)
    {
        return match fault {
            Fault::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
            )
                .into_response(),
            Fault::Error(code) => slack_error(&code),
            Fault::Status(status) => StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response(),
            Fault::Delay(_) => StatusCode::OK.into_response(),
        };
    }
    if state.expired.contains(&url) {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "expired_url"})),
        )
            .into_response();
    }
    let uses = state.response_uses.entry(url.clone()).or_default();
    *uses += 1;
    if *uses > RESPONSE_URL_USES {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "used_url"})),
        )
            .into_response();
    }
    if fields["text"].as_str().is_none_or(str::is_empty) && fields["blocks"].is_null() {
        return slack_error("no_text");
    }
    state.responses.push(Response { url, body: fields });
    axum::Json(json!({"ok": true})).into_response()
}
