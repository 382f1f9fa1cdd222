//! The Slack Web API methods the bridge calls, over reqwest: the method
//! name is appended to `SLACK_API_URL`, the bot token goes in
//! `Authorization: Bearer` (marked sensitive, so no debug output shows
//! it). A 429 whose `Retry-After` is at most `SLACK_INLINE_RETRY_MAX` is
//! retried once in place; otherwise the error says when to retry.

mod error;

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub use error::SlackError;
pub(crate) use error::{from_code, from_transport};

use crate::blocks::OutgoingMessage;
use crate::inbox::{Destination, ResponseUrl};
use crate::settings::SlackSettings;

/// A Web API client; cheap to clone.
#[derive(Clone)]
pub struct SlackClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    inline_retry_max: Duration,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// `chat.postMessage`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostMessage {
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    #[serde(flatten)]
    pub message: OutgoingMessage,
}

/// A posted message: where it went and its `ts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// What [`SlackClient::deliver`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Posted with `chat.postMessage`.
    Posted(Posted),
    /// Taken by the `response_url`.
    Responded,
}

/// `users.info`'s answer, as far as the bridge reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserProfile {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub profile: Profile,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub email: Option<String>,
}

enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Json(&'a Value),
}

impl SlackClient {
    pub fn new(settings: &SlackSettings) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(settings.api_timeout)
            .connect_timeout(settings.api_timeout)
            .build()
            .map_err(|error| from_transport("client", &error))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base: settings.api_url.clone(),
                token: settings.bot_token.clone(),
                inline_retry_max: settings.inline_retry_max,
            }),
        })
    }

    /// `chat.postMessage` (JSON).
    pub async fn post_message(&self, message: &PostMessage) -> Result<Posted, SlackError> {
        let body = serde_json::to_value(message).unwrap_or_default();
        let answer = self.call("chat.postMessage", Body::Json(&body)).await?;
        serde_json::from_value(answer).map_err(|_| SlackError::Temporary {
            method: "chat.postMessage".into(),
            reason: "the answer has no channel and ts".into(),
        })
    }

    /// `conversations.open` for one user: the direct-message channel id.
    pub async fn open_direct_message(&self, user: &str) -> Result<String, SlackError> {
        let answer = self
            .call("conversations.open", Body::Form(&[("users", user)]))
            .await?;
        answer["channel"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SlackError::Temporary {
                method: "conversations.open".into(),
                reason: "the answer has no channel id".into(),
            })
    }

    /// `users.info` (a form: the method takes no JSON).
    pub async fn user_info(&self, user: &str) -> Result<UserProfile, SlackError> {
        let mut answer = self
            .call("users.info", Body::Form(&[("user", user)]))
            .await?;
        serde_json::from_value(answer["user"].take()).map_err(|_| SlackError::Temporary {
            method: "users.info".into(),
            reason: "the answer has no user".into(),
        })
    }

    /// Posts `message` to a `response_url` (shown to the user alone), with
    /// `replace_original: false` so the message a button sits on stays.
    pub async fn respond(
        &self,
        url: &ResponseUrl,
        message: &OutgoingMessage,
    ) -> Result<(), SlackError> {
        let mut body = serde_json::to_value(message).unwrap_or_default();
        body["response_type"] = "ephemeral".into();
        body["replace_original"] = false.into();
        let target = Url::parse(&url.0).map_err(|_| SlackError::Permanent {
            method: "response_url".into(),
            reason: "not a URL".into(),
        })?;
        self.send("response_url", target, Body::Json(&body), false)
            .await
            .map(drop)
    }

    /// Delivers `message` to `destination`: into a conversation (in its
    /// thread), through a `response_url` (falling back to a direct message
    /// once the URL takes no more), or as a direct message.
    pub async fn deliver(
        &self,
        destination: &Destination,
        message: &OutgoingMessage,
    ) -> Result<Delivered, SlackError> {
        match destination {
            Destination::Conversation { channel, thread_ts } => self
                .post_message(&PostMessage {
                    channel: channel.clone(),
                    thread_ts: thread_ts.clone(),
                    message: message.clone(),
                })
                .await
                .map(Delivered::Posted),
            Destination::ResponseUrl { url, user } => match self.respond(url, message).await {
                Ok(()) => Ok(Delivered::Responded),
                Err(error) if error.is_permanent() => {
                    tracing::info!(%error, "response_url refused the answer; sending it as a direct message");
                    self.direct_message(user, message).await
                }
                Err(error) => Err(error),
            },
            Destination::DirectMessage { user } => self.direct_message(user, message).await,
        }
    }

    async fn direct_message(
        &self,
        user: &str,
        message: &OutgoingMessage,
    ) -> Result<Delivered, SlackError> {
        let channel = self.open_direct_message(user).await?;
        self.post_message(&PostMessage {
            channel,
            thread_ts: None,
            message: message.clone(),
        })
        .await
        .map(Delivered::Posted)
    }

    async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, SlackError> {
        let url = self
            .inner
            .base
            .join(method)
            .map_err(|_| SlackError::Permanent {
                method: method.to_owned(),
                reason: "SLACK_API_URL and the method make no URL".into(),
            })?;
        self.send(method, url, body, true).await
    }

    /// One request, and one inline retry after a short `Retry-After`.
    async fn send(
        &self,
        method: &str,
        url: Url,
        body: Body<'_>,
        authorized: bool,
    ) -> Result<Value, SlackError> {
        let mut retried = false;
        loop {
            let mut request = self.inner.http.post(url.clone());
            if authorized {
                request = request.bearer_auth(self.inner.token.expose_secret());
            }
            request = match &body {
                Body::Form(fields) => request.form(fields),
                Body::Json(value) => request.json(value),
            };
            let response = request
                .send()
                .await
                .map_err(|error| from_transport(method, &error))?;
            let status = response.status();
            let retry_after = retry_after(&response);
            tracing::debug!(method, status = status.as_u16(), "Slack answered");
            let text = response
                .text()
                .await
                .map_err(|error| from_transport(method, &error))?;
            let outcome = judge(method, status, retry_after, &text, authorized);
            match outcome {
                Err(SlackError::RateLimited { retry_after, .. })
                    if !retried && retry_after <= self.inner.inline_retry_max =>
                {
                    tracing::info!(
                        method,
                        retry_after_s = retry_after.as_secs_f64(),
                        "Slack rate limited the call; retrying once"
                    );
                    retried = true;
                    tokio::time::sleep(retry_after).await;
                }
                outcome => return outcome,
            }
        }
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The outcome of one answer. `web_api`: a Web API method (its body must
/// be JSON with `ok`), else a `response_url` (any 2xx is taken).
fn judge(
    method: &str,
    status: StatusCode,
    retry_after: Option<Duration>,
    text: &str,
    web_api: bool,
) -> Result<Value, SlackError> {
    let json: Option<Value> = serde_json::from_str(text).ok();
    let code = json
        .as_ref()
        .and_then(|value| value["error"].as_str())
        .map(str::to_owned);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(from_code(method, "ratelimited", retry_after));
    }
    if status.is_server_error() {
        return Err(SlackError::Temporary {
            method: method.to_owned(),
            reason: format!("HTTP {}", status.as_u16()),
        });
    }
    let ok = json.as_ref().and_then(|value| value["ok"].as_bool());
    match (ok, code) {
        (Some(false), Some(code)) => Err(from_code(method, &code, retry_after)),
        _ if status.is_client_error() => Err(SlackError::Permanent {
            method: method.to_owned(),
            reason: format!("HTTP {}", status.as_u16()),
        }),
        (Some(true), _) => Ok(json.unwrap_or_default()),
        _ if !web_api && status.is_success() => Ok(json.unwrap_or_default()),
        _ => Err(SlackError::Temporary {
            method: method.to_owned(),
            reason: format!("HTTP {} without a Web API answer", status.as_u16()),
        }),
    }
}
