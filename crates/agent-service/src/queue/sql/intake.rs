//! Requests in and outcomes out: queueing a request in its session, and
//! storing its outcome with the session's queue moved on.

use std::sync::LazyLock;

use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement,
};
use serde_json::Value;
use shared_db::entities::{IntegrationType, request_sessions};

use crate::store::Session;

use super::CTX;

/// A request as received, before any agent has seen it.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub request_id: &'a str,
    pub request_type: &'a str,
    pub content: &'a str,
    pub normalized: Value,
    /// The inbound event it answers (a Slack `event_id`, say): recorded in
    /// `processed_events` in the same statement, and the request is queued
    /// only if the event was new.
    pub event: Option<Event<'a>>,
}

/// An inbound event, for deduplication.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Unique across sources: `<source>:<their id>`.
    pub id: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
}

/// A request in the queue of the user's active session.
#[derive(Debug, Clone)]
pub struct Enqueued {
    /// The session as it was before this request.
    pub session: Session,
    /// The request this statement claimed for the worker, when it claimed
    /// one (this one, or an older one of the session that was waiting);
    /// `None` when the session was already run, by anyone.
    pub claimed: Option<String>,
    /// The request's event had been seen before: nothing was queued.
    pub duplicate: bool,
}

fn columns(prefix: &str) -> String {
    [
        "id",
        "session_id",
        "user_id",
        "integration_type::text AS integration_type",
        "status::text AS status",
        "channel_id",
        "thread_id",
        "integration_metadata",
        "total_requests",
        "last_request_at",
        "expires_at",
        "created_at",
        "updated_at",
        "external_session_id",
        "current_agent_id",
        "llama_stack_session_id",
        "user_context",
        "conversation_context",
        "last_request_id",
    ]
    .iter()
    .map(|column| format!("{prefix}{column}"))
    .collect::<Vec<_>>()
    .join(", ")
}

static ENQUEUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH session AS ( \
           SELECT * FROM request_sessions \
           WHERE user_id = $1 AND integration_type = CAST($2 AS integrationtype) \
             AND status = 'ACTIVE' \
           ORDER BY created_at DESC LIMIT 1 \
           FOR UPDATE \
         ), recorded AS ( \
           INSERT INTO processed_events (event_id, event_type, event_source, request_id, \
             session_id, processed_by, processing_result, created_at, updated_at) \
           SELECT $8, $9, $10, $3, session_id, 'self-service-agent', 'accepted', now(), now() \
           FROM session WHERE $8::text IS NOT NULL \
           ON CONFLICT (event_id) DO NOTHING \
           RETURNING 1 \
         ), fresh AS ( \
           SELECT 1 WHERE $8::text IS NULL OR EXISTS (SELECT 1 FROM recorded) \
         ), logged AS ( \
           INSERT INTO request_logs (request_id, session_id, request_type, request_content, \
                                     normalized_request, created_at, updated_at) \
           SELECT $3, session_id, $4, $5, $6::json, now(), now() FROM session \
           WHERE EXISTS (SELECT 1 FROM fresh) \
         ), queued AS ( \
           UPDATE request_sessions SET total_requests = request_sessions.total_requests + 1, \
             last_request_id = $3, last_request_at = now(), updated_at = now(), \
             conversation_context = (jsonb_set({CTX}, '{{queue}}', \
                 COALESCE({CTX} -> 'queue', '[]'::jsonb) || to_jsonb($3::text)) \
               || CASE WHEN $7::text IS NOT NULL \
                        AND jsonb_typeof({CTX} -> 'running') IS DISTINCT FROM 'object' \
                  THEN jsonb_build_object('running', jsonb_build_object( \
                    'request_id', (COALESCE({CTX} -> 'queue', '[]'::jsonb) || to_jsonb($3::text)) ->> 0, \
                    'worker', $7::text, 'since', now())) \
                  ELSE '{{}}'::jsonb END)::json \
           FROM session WHERE request_sessions.id = session.id AND EXISTS (SELECT 1 FROM fresh) \
           RETURNING {CTX} -> 'running' ->> 'request_id' AS running, \
                     {CTX} -> 'running' ->> 'worker' AS worker, true AS queued \
         ) \
         SELECT {}, \
           CASE WHEN jsonb_typeof(COALESCE(session.conversation_context::jsonb, '{{}}'::jsonb) \
                                  -> 'running') IS DISTINCT FROM 'object' \
                THEN queued.running END AS running, \
           queued.worker, queued.queued IS NULL AS duplicate \
         FROM session LEFT JOIN queued ON true",
        columns("session.")
    )
});

/// The two statements of a request's hot path, as sent: [`enqueue`]'s and
/// [`finish`]'s. For benchmarks that run the same SQL without the service
/// (`bench/service.sh`).
pub fn hot_path_statements() -> [&'static str; 2] {
    [ENQUEUE.as_str(), FINISH.as_str()]
}

#[derive(Debug, FromQueryResult)]
pub(super) struct Claim {
    pub(super) running: Option<String>,
    pub(super) worker: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct Fresh {
    duplicate: Option<bool>,
}

/// Logs the request in the user's ACTIVE session on the channel and
/// appends it to the session's queue, in one statement. With `claim_as`,
/// the worker also takes the session's head when nobody runs it. `None`
/// when the user has no active session.
pub async fn enqueue(
    db: &DatabaseConnection,
    user_id: &str,
    integration: IntegrationType,
    request: &NewRequest<'_>,
    claim_as: Option<&str>,
) -> Result<Option<Enqueued>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            ENQUEUE.as_str(),
            [
                user_id.into(),
                integration.to_value().into(),
                request.request_id.into(),
                request.request_type.into(),
                request.content.into(),
                request.normalized.clone().into(),
                claim_as.map(str::to_owned).into(),
                request.event.map(|event| event.id.to_owned()).into(),
                request.event.map(|event| event.kind.to_owned()).into(),
                request.event.map(|event| event.source.to_owned()).into(),
            ],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let session = request_sessions::Model::from_query_result(&row, "")?;
    let claim = Claim::from_query_result(&row, "")?;
    let duplicate = Fresh::from_query_result(&row, "")?
        .duplicate
        .unwrap_or(false);
    let claimed = match (claim.running, claim.worker, claim_as) {
        (Some(running), Some(worker), Some(me)) if worker == me => Some(running),
        _ => None,
    };
    Ok(Some(Enqueued {
        session,
        claimed,
        duplicate,
    }))
}

/// How a request ended, as stored.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub request_id: &'a str,
    pub session_id: &'a str,
    /// The answer; `None` when the request failed.
    pub content: Option<&'a str>,
    /// The agent that answered, or the one that failed.
    pub agent: Option<&'a str>,
    pub processing_time_ms: i32,
    pub metadata: Value,
    /// The response that answered (answers only), kept in the session's
    /// `llama_stack_session_id` column.
    pub response_id: Option<&'a str>,
    /// The response chains this request moved, by agent name (merged into
    /// `conversation_context.responses`).
    pub chains: Value,
}

/// What [`finish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Stored; the session's next request, when the worker took it, and
    /// how many deliveries of the answer were queued.
    Stored {
        next: Option<String>,
        deliveries: u64,
    },
    /// The request is no longer this worker's (taken over, or released):
    /// nothing was written.
    NotOurs,
}

static FINISH: LazyLock<String> = LazyLock::new(|| {
    let rest = format!(
        "(SELECT COALESCE(jsonb_agg(item ORDER BY position), '[]'::jsonb) \
          FROM jsonb_array_elements(COALESCE({CTX} -> 'queue', '[]'::jsonb)) \
               WITH ORDINALITY AS queue(item, position) \
          WHERE item <> to_jsonb($1::text))"
    );
    format!(
        "WITH moved AS ( \
           UPDATE request_sessions SET \
             current_agent_id = CASE WHEN $3::text IS NULL THEN current_agent_id ELSE $4 END, \
             llama_stack_session_id = COALESCE($7, llama_stack_session_id), \
             updated_at = now(), \
             conversation_context = (({CTX} - 'running') \
               || jsonb_build_object('queue', {rest}, 'responses', \
                    COALESCE({CTX} -> 'responses', '{{}}'::jsonb) || $8::jsonb) \
               || CASE WHEN $10 AND jsonb_array_length({rest}) > 0 \
                  THEN jsonb_build_object('running', jsonb_build_object( \
                    'request_id', {rest} ->> 0, 'worker', $9::text, 'since', now())) \
                  ELSE '{{}}'::jsonb END)::json \
           WHERE session_id = $2 \
             AND {CTX} -> 'running' ->> 'request_id' = $1 \
             AND {CTX} -> 'running' ->> 'worker' = $9 \
           RETURNING {CTX} -> 'running' ->> 'request_id' AS next \
         ), answered AS ( \
           UPDATE request_logs SET response_content = $3, agent_id = $4, \
             processing_time_ms = $5, response_metadata = $6::json, \
             completed_at = now(), updated_at = now() \
           WHERE request_id = $1 AND completed_at IS NULL AND EXISTS (SELECT 1 FROM moved) \
           RETURNING session_id, normalized_request \
         ), recorded AS ( \
           INSERT INTO processed_events (event_id, event_type, event_source, request_id, \
             session_id, processed_by, processing_result, error_message, created_at, updated_at) \
           SELECT 'request.finished:' || $1, 'request.finished', 'self-service-agent', $1, \
             $2, left($9, 100), CASE WHEN $3::text IS NULL THEN 'failed' ELSE 'completed' END, \
             $6::jsonb ->> 'error', now(), now() \
           FROM answered \
           ON CONFLICT (event_id) DO NOTHING \
           RETURNING 1 \
         ), delivered AS ( \
           INSERT INTO delivery_logs (request_id, session_id, user_id, integration_config_id, \
             integration_type, content, status, attempts, max_attempts, expires_at, \
             integration_metadata, created_at, updated_at) \
           SELECT $1, $2, config.user_id, config.id, config.integration_type, $3, 'PENDING', 0, \
             GREATEST(config.retry_count, 0) + 1, now() + make_interval(secs => $11), \
             jsonb_strip_nulls(jsonb_build_object('priority', config.priority, \
               'agent_id', $4::text, \
               'reply_to', CASE WHEN config.integration_type = session.integration_type \
                 THEN answered.normalized_request::jsonb -> 'metadata' -> 'reply_to' END))::json, \
             now(), now() \
           FROM answered \
           JOIN request_sessions AS session ON session.session_id = answered.session_id \
           JOIN user_integration_configs AS config ON config.user_id = session.user_id \
           WHERE $3::text IS NOT NULL AND EXISTS (SELECT 1 FROM recorded) \
             AND ((config.enabled AND config.integration_type <> session.integration_type) \
                  OR (config.integration_type = session.integration_type \
                      AND answered.normalized_request::jsonb -> 'metadata' -> 'reply_to' IS NOT NULL)) \
           RETURNING 1 \
         ) \
         SELECT (SELECT count(*) FROM answered) AS stored, (SELECT next FROM moved) AS next, \
           (SELECT count(*) FROM delivered) AS deliveries"
    )
});

#[derive(Debug, FromQueryResult)]
struct FinishRow {
    stored: i64,
    next: Option<String>,
    deliveries: i64,
}

/// Stores how the request ended and moves its session's queue on, in one
/// statement, if the request is still `worker`'s. With `take_next`, the
/// worker takes the session's next request. The same statement records the
/// `request.finished:<id>` event in `processed_events` and, for an answer,
/// queues one delivery per enabled integration of the user but the one the
/// request came in on, and, when the request asks for a reply where it was
/// written (`metadata.reply_to`: a Slack thread, say), one through the
/// integration of that channel (enabled or not: that reply is the answer),
/// each expiring after `delivery_ttl`. The event's unique
/// id makes the deliveries happen once, whatever runs twice.
pub async fn finish(
    db: &DatabaseConnection,
    outcome: &Outcome<'_>,
    worker: &str,
    take_next: bool,
    delivery_ttl: std::time::Duration,
) -> Result<Finished, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            FINISH.as_str(),
            [
                outcome.request_id.into(),
                outcome.session_id.into(),
                outcome.content.map(str::to_owned).into(),
                outcome.agent.map(str::to_owned).into(),
                outcome.processing_time_ms.into(),
                outcome.metadata.clone().into(),
                outcome.response_id.map(str::to_owned).into(),
                outcome.chains.clone().into(),
                worker.into(),
                take_next.into(),
                delivery_ttl.as_secs_f64().into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("finish answered no row".into()))?;
    let row = FinishRow::from_query_result(&row, "")?;
    Ok(if row.stored > 0 {
        Finished::Stored {
            next: row.next.filter(|_| take_next),
            deliveries: u64::try_from(row.deliveries).unwrap_or(0),
        }
    } else {
        Finished::NotOurs
    })
}
