//! A fake Slack Web API for the Slack bridge's tests, built from Slack's
//! method documentation (what is relied on is listed in `docs/slack.md`):
//!
//! - `POST /api/chat.postMessage` (JSON or form): `{"ok": true, "channel",
//!   "ts", "message"}` for a known channel (added with
//!   [`FakeSlack::add_channel`], or opened by `conversations.open`),
//!   `channel_not_found` otherwise; `no_text` without text and blocks;
//!   `invalid_blocks` past 50 blocks or a section text past 3000
//!   characters; `msg_too_long` for text past 40 000 (Slack truncates
//!   instead: the fake is stricter);
//! - `POST /api/conversations.open` (`users`): `{"ok": true, "channel":
//!   {"id": "D…"}}`, the same channel for the same user; `user_not_found`;
//! - `POST /api/users.info` (`user`, form or query): the scripted user with
//!   its profile email, `user_not_found` otherwise;
//! - a `response_url` endpoint ([`FakeSlack::response_url`]) recording what
//!   is posted; past five posts, or once expired, it answers 404 with
//!   `used_url`/`expired_url` (Slack documents the limits, not the answer).
//!
//! The bearer token [`BOT_TOKEN`] is required (`not_authed` without one,
//! `invalid_auth` for another). Errors are answered as Slack does: HTTP 200
//! with `{"ok": false, "error": …}`; a rate limit is HTTP 429 with
//! `Retry-After`. Every call is recorded (headers without `Authorization`),
//! and the next calls of a method can be made to fail ([`Fault`]).

pub mod bodies;
mod methods;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::routing::post;
use serde_json::Value;

use crate::thread_server::ThreadServer;

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "xoxb-000000000001-000000000002-fakeSlackBotToken";
/// The bot's user and bot ids, and the workspace.
pub const BOT_USER_ID: &str = "UFAKEBOT01";
pub const BOT_ID: &str = "BFAKEBOT01";
pub const TEAM_ID: &str = "TFAKE0001";

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The Web API method (`chat.postMessage`), or `response_url`.
    pub method: String,
    /// Request headers, lower-cased names, `Authorization` left out.
    pub headers: BTreeMap<String, String>,
    /// Whether `Authorization: Bearer` carried [`BOT_TOKEN`].
    pub bearer_token_valid: bool,
    /// The JSON body, or the form (and query) fields as an object.
    pub body: Value,
}

/// What the next calls of a method answer instead of their result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, `Retry-After: <seconds>`, `{"ok": false, "error": "ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200, `{"ok": false, "error": <code>}`.
    Error(String),
    /// This HTTP status with an empty body.
    Status(u16),
    /// The real answer, after this delay.
    Delay(Duration),
}

/// A user `users.info` knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: String,
    pub email: Option<String>,
    pub is_bot: bool,
    pub deleted: bool,
}

impl FakeUser {
    pub fn with_email(id: &str, email: &str) -> Self {
        Self {
            id: id.to_owned(),
            email: Some(email.to_owned()),
            is_bot: false,
            deleted: false,
        }
    }

    pub fn without_email(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            email: None,
            is_bot: false,
            deleted: false,
        }
    }
}

/// A message posted with `chat.postMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: Option<String>,
    pub blocks: Vec<Value>,
}

/// A post to a `response_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub url: String,
    pub body: Value,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) base: String,
    pub(crate) calls: Vec<Call>,
    pub(crate) users: HashMap<String, FakeUser>,
    pub(crate) channels: HashSet<String>,
    pub(crate) direct_messages: HashMap<String, String>,
    pub(crate) messages: Vec<PostedMessage>,
    pub(crate) responses: Vec<Response>,
    pub(crate) response_uses: HashMap<String, u32>,
    pub(crate) expired: HashSet<String>,
    pub(crate) faults: HashMap<String, VecDeque<Fault>>,
    pub(crate) clock: u64,
    pub(crate) next_response_url: u64,
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fake, on a free port of 127.0.0.1, serving on a thread of its own
/// (usable from synchronous and asynchronous tests alike).
pub struct FakeSlack {
    server: ThreadServer,
    state: Shared,
}

impl FakeSlack {
    pub fn start() -> Result<Self> {
        let state = Shared::default();
        let server = ThreadServer::start("fake-slack", |addr| {
            lock(&state).base = format!("http://{addr}");
            Router::new()
                .route(
                    "/api/{method}",
                    post(methods::web_api).get(methods::web_api),
                )
                .route("/response/{id}", post(methods::response_url))
                .with_state(Arc::clone(&state))
        })?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>/api/`, the `SLACK_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/", self.server.addr())
    }

    /// A new `response_url`, as Slack puts in a slash command or an interaction.
    pub fn response_url(&self) -> String {
        let mut state = lock(&self.state);
        state.next_response_url += 1;
        format!(
            "http://{}/response/T{}-{}",
            self.server.addr(),
            state.next_response_url,
            state.clock
        )
    }

    /// Makes `url` answer `expired_url` from now on.
    pub fn expire_response_url(&self, url: &str) {
        lock(&self.state).expired.insert(url.to_owned());
    }

    pub fn add_user(&self, user: FakeUser) {
        lock(&self.state).users.insert(user.id.clone(), user);
    }

    /// A channel `chat.postMessage` may post to.
    pub fn add_channel(&self, channel: &str) {
        lock(&self.state).channels.insert(channel.to_owned());
    }

    /// The next `times` calls of `method` answer `fault`.
    pub fn fail_next(&self, method: &str, times: usize, fault: Fault) {
        lock(&self.state)
            .faults
            .entry(method.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    /// The calls of `method` so far.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        lock(&self.state)
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// The messages posted with `chat.postMessage`.
    pub fn messages(&self) -> Vec<PostedMessage> {
        lock(&self.state).messages.clone()
    }

    /// What was posted to response URLs.
    pub fn responses(&self) -> Vec<Response> {
        lock(&self.state).responses.clone()
    }

    /// Waits up to `timeout` for `count` posts to response URLs (without
    /// blocking the caller's runtime).
    pub async fn wait_for_responses(&self, count: usize, timeout: Duration) -> Vec<Response> {
        self.wait_until(timeout, |state| state.responses.len() >= count)
            .await;
        self.responses()
    }

    /// Waits up to `timeout` for `count` posted messages.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<PostedMessage> {
        self.wait_until(timeout, |state| state.messages.len() >= count)
            .await;
        self.messages()
    }

    async fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&lock(&self.state)) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
