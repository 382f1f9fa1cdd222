//! Slack, wired into the service: the inbox `slack_bridge`'s routes hand
//! verified messages to (the request queue, deduplicated on Slack's
//! `event_id` through `processed_events`), and the `SLACK` delivery
//! channel that posts the answers back where they were asked
//! (`docs/slack.md`).

use delivery::{Channel, Delivered, Delivery, DeliveryError, IntegrationType};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use shared_db::entities::request_sessions;
use slack_bridge::{
    Answer, Destination, Identity, InboxError, SessionSummary, SlackClient, SlackError, SlackInbox,
    SlackMessage, Submitted,
};

use crate::conversation::{InboundEvent, Message};
use crate::queue;
use crate::state::AppState;
use crate::store;

/// The service as Slack's inbox.
#[derive(Clone)]
pub struct Inbox {
    state: AppState,
}

impl Inbox {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn inbox_error(error: impl std::fmt::Display) -> InboxError {
    InboxError::new(error.to_string())
}

/// The key of a Slack event in `processed_events`.
fn event_key(event_id: &str) -> String {
    format!("slack:{event_id}")
}

impl SlackInbox for Inbox {
    async fn seen_event(&self, event_id: &str) -> Result<bool, InboxError> {
        let row = self
            .state
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT 1 AS seen FROM processed_events WHERE event_id = $1",
                [event_key(event_id).into()],
            ))
            .await
            .map_err(inbox_error)?;
        Ok(row.is_some())
    }

    async fn submit(&self, message: SlackMessage) -> Result<Submitted, InboxError> {
        ensure_slack_integration(&self.state, &message.identity)
            .await
            .map_err(inbox_error)?;
        let reply_to = serde_json::to_value(&message.destination).map_err(inbox_error)?;
        let submitted = queue::submit(
            &self.state,
            uuid::Uuid::new_v4().to_string(),
            Message {
                user_id: message.identity.email.clone(),
                integration: IntegrationType::Slack,
                request_type: "message".into(),
                content: message.text.clone(),
                metadata: json!({
                    "reply_to": reply_to,
                    "slack": {
                        "user_id": message.identity.slack_user_id,
                        "team_id": message.identity.team_id,
                        "channel_id": message.channel_id,
                        "thread_ts": message.thread_ts,
                        "message_ts": message.message_ts,
                        "origin": message.origin,
                        "retry": message.retry,
                    },
                }),
                event: message.event_id.as_deref().map(|id| InboundEvent {
                    id: event_key(id),
                    kind: "slack.message".into(),
                    source: "slack".into(),
                }),
            },
        )
        .await
        .map_err(inbox_error)?;
        Ok(if submitted.duplicate {
            Submitted::Duplicate
        } else {
            Submitted::Accepted
        })
    }

    async fn reset(&self, identity: &Identity) -> Result<(), InboxError> {
        store::end_active_session(&self.state.db, &identity.email, IntegrationType::Slack)
            .await
            .map_err(inbox_error)
    }

    async fn describe_session(
        &self,
        identity: &Identity,
        session_id: &str,
    ) -> Result<Option<SessionSummary>, InboxError> {
        let session = store::get_session(&self.state.db, session_id)
            .await
            .map_err(inbox_error)?;
        Ok(session
            .filter(|session| session.user_id == identity.email)
            .map(summary))
    }
}

fn summary(session: request_sessions::Model) -> SessionSummary {
    SessionSummary {
        session_id: session.session_id,
        status: format!("{:?}", session.status).to_uppercase(),
        current_agent: session.current_agent_id,
        total_requests: u64::try_from(session.total_requests).unwrap_or(0),
        created_at: Some(session.created_at.to_rfc3339()),
        updated_at: Some(session.updated_at.to_rfc3339()),
    }
}

/// A Slack user gets a SLACK integration on first contact, so that the
/// answers of their Slack messages have a channel to be delivered through.
async fn ensure_slack_integration(
    state: &AppState,
    identity: &Identity,
) -> Result<(), sea_orm::DbErr> {
    state
        .db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO user_integration_configs (user_id, integration_type, enabled, config, \
               priority, retry_count, retry_delay_seconds, created_by, created_at, updated_at) \
             VALUES ($1, 'SLACK', true, $2::json, 0, 5, 5, 'slack', now(), now()) \
             ON CONFLICT (user_id, integration_type) DO NOTHING",
            [
                identity.email.clone().into(),
                json!({"slack_user_id": identity.slack_user_id, "team_id": identity.team_id})
                    .into(),
            ],
        ))
        .await
        .map(drop)
}

/// The `SLACK` delivery channel: into the conversation the request came
/// from (`reply_to`), else the config's `channel_id`, else a direct message
/// to its `slack_user_id`.
pub struct SlackChannel {
    client: SlackClient,
}

impl SlackChannel {
    pub fn new(client: SlackClient) -> Self {
        Self { client }
    }
}

fn destination(config: &Value) -> Result<Destination, DeliveryError> {
    if let Some(reply_to) = config.get("reply_to") {
        return serde_json::from_value(reply_to.clone()).map_err(|error| {
            DeliveryError::permanent(format!("config.reply_to: {error}"), json!({}))
        });
    }
    if let Some(channel) = config.get("channel_id").and_then(Value::as_str) {
        return Ok(Destination::Conversation {
            channel: channel.to_owned(),
            thread_ts: None,
        });
    }
    match config.get("slack_user_id").and_then(Value::as_str) {
        Some(user) => Ok(Destination::DirectMessage {
            user: user.to_owned(),
        }),
        None => Err(DeliveryError::permanent(
            "config.slack_user_id: required (or channel_id)",
            json!({}),
        )),
    }
}

fn delivery_error(error: SlackError) -> DeliveryError {
    let details = json!({"method": error.method(), "slack_error": error.reason()});
    if error.is_permanent() {
        DeliveryError::permanent(error.to_string(), details)
    } else {
        DeliveryError::temporary(error.to_string(), details).retry_after(error.retry_after())
    }
}

#[async_trait::async_trait]
impl Channel for SlackChannel {
    fn kind(&self) -> IntegrationType {
        IntegrationType::Slack
    }

    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let destination = destination(delivery.config)?;
        let started = std::time::Instant::now();
        let message = slack_bridge::answer_message(&Answer {
            content: &delivery.message.text,
            agent: delivery.agent_id,
            session_id: delivery.session_id,
        });
        let delivered = self
            .client
            .deliver(&destination, &message)
            .await
            .map_err(delivery_error)?;
        Ok(Delivered::new(IntegrationType::Slack, started.elapsed())
            .with("slack", format!("{delivered:?}")))
    }
}
