//! Who runs a session's head: claiming, handing back, the sweep's view of
//! unfinished requests, and what a worker records while it runs.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use shared_db::entities::{request_logs, request_sessions};

use crate::store::{RequestLog, Session};

use super::CTX;
use super::intake::Claim;

static CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE request_sessions SET conversation_context = ({CTX} \
           || jsonb_build_object('running', jsonb_build_object( \
                'request_id', {CTX} -> 'queue' ->> 0, 'worker', $2::text, 'since', now())))::json \
         WHERE session_id = $1 \
           AND jsonb_array_length(COALESCE({CTX} -> 'queue', '[]'::jsonb)) > 0 \
           AND (jsonb_typeof({CTX} -> 'running') IS DISTINCT FROM 'object' \
                OR {CTX} -> 'running' ->> 'worker' = $3) \
         RETURNING {CTX} -> 'running' ->> 'request_id' AS running, $2::text AS worker"
    )
});

/// Takes the head of the session's queue for `worker`: when nobody runs it,
/// or when `replacing` (a dead worker's lease id) does.
pub async fn claim_head(
    db: &DatabaseConnection,
    session_id: &str,
    worker: &str,
    replacing: Option<&str>,
) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            CLAIM.as_str(),
            [
                session_id.into(),
                worker.into(),
                replacing.map(str::to_owned).into(),
            ],
        ))
        .await?;
    match row {
        Some(row) => Ok(Claim::from_query_result(&row, "")?.running),
        None => Ok(None),
    }
}

static RELEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE request_sessions SET conversation_context = ({CTX} - 'running')::json \
         WHERE session_id = $1 AND {CTX} -> 'running' ->> 'request_id' = $2 \
           AND {CTX} -> 'running' ->> 'worker' = $3"
    )
});

/// Hands the request back to its session's queue: the next worker to look
/// takes it from the start.
pub async fn release(
    db: &DatabaseConnection,
    session_id: &str,
    request_id: &str,
    worker: &str,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            RELEASE.as_str(),
            [session_id.into(), request_id.into(), worker.into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// A request with its session, by id (one indexed lookup each).
pub async fn load(
    db: &DatabaseConnection,
    request_id: &str,
) -> Result<Option<(RequestLog, Session)>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let found = request_logs::Entity::find()
        .filter(request_logs::Column::RequestId.eq(request_id))
        .find_also_related(request_sessions::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(log, session)| Some((log, session?))))
}

/// An unfinished request, as the sweep sees it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Pending {
    pub id: i32,
    pub request_id: String,
    pub session_id: String,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    /// The request its session runs, and who runs it.
    pub running: Option<String>,
    pub worker: Option<String>,
    /// Whether the request is in its session's queue.
    pub queued: bool,
}

static PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT request_logs.id, request_logs.request_id, request_logs.session_id, \
           request_logs.created_at, \
           {CTX} -> 'running' ->> 'request_id' AS running, \
           {CTX} -> 'running' ->> 'worker' AS worker, \
           COALESCE({CTX} -> 'queue', '[]'::jsonb) ? request_logs.request_id AS queued \
         FROM request_logs JOIN request_sessions \
           ON request_sessions.session_id = request_logs.session_id \
         WHERE request_logs.id >= $1 AND request_logs.completed_at IS NULL \
         ORDER BY request_logs.id LIMIT $2"
    )
});

/// Unfinished requests from row id `from` on, oldest first. The schema has
/// no index on `completed_at` (and gets none: it stays alembic's), so the
/// scan walks the primary key from a low-water mark that the sweep moves up
/// as requests finish.
pub async fn pending(
    db: &DatabaseConnection,
    from: i32,
    limit: i64,
) -> Result<Vec<Pending>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            PENDING.as_str(),
            [from.into(), limit.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Pending::from_query_result(row, ""))
        .collect()
}

/// The highest request row id (the primary key index answers it).
pub async fn last_id(db: &DatabaseConnection) -> Result<i32, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COALESCE(max(id), 0) AS id FROM request_logs",
        ))
        .await?;
    match row {
        Some(row) => row.try_get::<i32>("", "id"),
        None => Ok(0),
    }
}

/// Ends a request that is in no queue (left by a crash of an earlier
/// version, or written by another program) as failed with `reason`.
pub async fn fail_unqueued(
    db: &DatabaseConnection,
    request_id: &str,
    reason: &str,
) -> Result<bool, DbErr> {
    let metadata = serde_json::json!({"status": "failed", "error": reason});
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "UPDATE request_logs SET response_metadata = $2::json, completed_at = now(), \
                   updated_at = now() \
                 WHERE request_id = $1 AND completed_at IS NULL \
                   AND NOT EXISTS (SELECT 1 FROM request_sessions \
                     WHERE request_sessions.session_id = request_logs.session_id \
                       AND COALESCE({CTX} -> 'queue', '[]'::jsonb) ? $1)"
            ),
            [request_id.into(), metadata.into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}
