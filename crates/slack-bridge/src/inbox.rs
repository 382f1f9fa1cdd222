//! What the bridge hands to the service, and the trait the service
//! implements to take it: [`SlackInbox`].

use std::future::Future;

use serde::{Deserialize, Serialize};

/// The person behind a Slack user, as resolved by `users.info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// The email of the user's Slack profile, trimmed and lower-cased:
    /// the service's `user_id`.
    pub email: String,
    /// The Slack user id (`U…`/`W…`).
    pub slack_user_id: String,
    /// The workspace (`T…`) the request came from, when Slack said.
    pub team_id: Option<String>,
}

/// How the employee wrote to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// An `app_mention` in a channel.
    Mention,
    /// A message in the app's direct-message conversation.
    DirectMessage,
    /// The slash command.
    SlashCommand,
}

/// A slash command's or a button's `response_url`: for about 30 minutes
/// and up to five times, it takes messages shown to the user. It is a
/// bearer credential for that conversation, so `Debug` shows its host only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponseUrl(pub String);

impl std::fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = url::Url::parse(&self.0)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        write!(f, "ResponseUrl({host}/…)")
    }
}

/// Where an answer goes. Serializable, so the service can keep it with
/// the request until its dispatcher delivers the answer
/// ([`SlackClient::deliver`](crate::SlackClient::deliver)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// A channel or direct-message conversation; in the thread `thread_ts`
    /// when set.
    Conversation {
        channel: String,
        thread_ts: Option<String>,
    },
    /// The slash command's `response_url` (the answer is shown to the user
    /// alone); once that URL takes no more messages, a direct message to
    /// `user` instead.
    ResponseUrl { url: ResponseUrl, user: String },
    /// A direct message to the user, opened with `conversations.open`.
    DirectMessage { user: String },
}

/// Slack's retry headers on an Events API delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackRetry {
    /// `X-Slack-Retry-Num`: 1 for the first retry.
    pub number: u32,
    /// `X-Slack-Retry-Reason`, e.g. `http_timeout`.
    pub reason: Option<String>,
}

/// One message of an employee to the agent, ready for the request queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackMessage {
    pub identity: Identity,
    /// What the employee wrote (the bot's mention taken out); not empty.
    pub text: String,
    pub origin: Origin,
    /// Where the answer goes.
    pub destination: Destination,
    /// The conversation it was written in.
    pub channel_id: String,
    /// The thread it belongs to: the thread it was written in, or for a
    /// mention the thread its answer starts. `None` for a direct message
    /// outside a thread and for the slash command.
    pub thread_ts: Option<String>,
    /// The message's own `ts` (events).
    pub message_ts: Option<String>,
    /// The Events API `event_id`: the deduplication key. `None` for the
    /// slash command, which Slack does not redeliver.
    pub event_id: Option<String>,
    /// Set when Slack redelivers an event.
    pub retry: Option<SlackRetry>,
    /// The slash command's `trigger_id` (opens a modal for 3 s).
    pub trigger_id: Option<String>,
}

/// What [`SlackInbox::submit`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Queued; the answer will be delivered to its destination.
    Accepted,
    /// Its `event_id` had been queued before; nothing was done.
    Duplicate,
}

/// What "View session" shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSummary {
    pub session_id: String,
    /// `ACTIVE`, `INACTIVE`, …
    pub status: String,
    /// The agent answering in this session.
    pub current_agent: Option<String>,
    pub total_requests: u64,
    /// When it started and when it last changed, as the service words them.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// The service could not do what the bridge asked. The message is logged,
/// never shown to the employee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InboxError(pub String);

impl InboxError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The service's side of the bridge: the router calls it only for
/// requests whose signature checked out, with the person resolved.
///
/// Every method should answer within a second or so: the router waits at
/// most `SLACK_ACK_TIMEOUT` before acknowledging Slack, and what is still
/// running then goes on in the background (events and commands are never
/// cancelled half-way).
pub trait SlackInbox: Clone + Send + Sync + 'static {
    /// Whether `event_id` was already submitted (a redelivery): a cheap
    /// look-up done before the user is resolved. Read-only; the recording
    /// happens in [`submit`](Self::submit).
    fn seen_event(&self, event_id: &str) -> impl Future<Output = Result<bool, InboxError>> + Send;

    /// Hands `message` to the asynchronous request queue and returns as
    /// soon as it is accepted, not answered. When `message.event_id` is
    /// set, recording it and queueing the message must be one atomic step
    /// (e.g. one transaction inserting into `processed_events` with
    /// `ON CONFLICT DO NOTHING`): a concurrent delivery of the same event
    /// gets [`Submitted::Duplicate`], and a failure records nothing, so
    /// Slack's retry can succeed.
    fn submit(
        &self,
        message: SlackMessage,
    ) -> impl Future<Output = Result<Submitted, InboxError>> + Send;

    /// Ends the person's current Slack session: their next message opens
    /// a new one. Nothing to end is not an error.
    fn reset(&self, identity: &Identity) -> impl Future<Output = Result<(), InboxError>> + Send;

    /// The session `session_id`, if it exists and belongs to `identity`
    /// (another person's session is `None`, as an unknown one is).
    fn describe_session(
        &self,
        identity: &Identity,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<SessionSummary>, InboxError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_url_shows_only_its_host_in_debug_output() {
        let url = ResponseUrl("https://hooks.slack.com/commands/T1/42/s3cr3t".into());
        assert_eq!(format!("{url:?}"), "ResponseUrl(hooks.slack.com/…)");
    }

    #[test]
    fn destinations_round_trip_through_json() {
        let destination = Destination::Conversation {
            channel: "C1".into(),
            thread_ts: Some("1700000000.000100".into()),
        };
        let json = serde_json::to_value(&destination).unwrap();
        assert_eq!(json["kind"], "conversation");
        assert_eq!(
            serde_json::from_value::<Destination>(json).unwrap(),
            destination
        );
    }
}
