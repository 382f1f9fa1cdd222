//! The statements of the delivery queue: the `delivery_logs` rows are the
//! queue itself. A row is due when it is PENDING or RETRYING, its
//! `integration_metadata.next_attempt_at` has come and no live dispatcher
//! holds it (`integration_metadata.worker`, a lease id). Dispatchers claim
//! due rows with `FOR UPDATE SKIP LOCKED`, so N replicas share the work;
//! every write after the attempt names the claimer, so a row taken over
//! from a dead dispatcher cannot be finished by it.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use serde_json::Value;

/// `integration_metadata` as jsonb.
const META: &str = "COALESCE(delivery_logs.integration_metadata::jsonb, '{}'::jsonb)";

/// A claimed delivery, with what an attempt needs.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Claimed {
    pub id: i32,
    pub request_id: String,
    pub session_id: String,
    pub user_id: String,
    pub integration_type: String,
    pub content: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub integration_metadata: Option<Value>,
    /// The user's config of the channel, and its backoff base.
    pub config: Value,
    pub retry_delay_seconds: i32,
    pub priority: i32,
}

/// Claims up to `limit` due deliveries for `worker` (highest priority
/// first, then oldest) and counts the attempt. Rows past `expires_at` are
/// EXPIRED instead, in the same statement.
pub async fn claim(
    db: &DatabaseConnection,
    from_id: i32,
    worker: &str,
    limit: i64,
) -> Result<Vec<Claimed>, DbErr> {
    let sql = format!(
        "WITH expired AS ( \
           UPDATE delivery_logs SET status = 'EXPIRED', updated_at = now(), \
             error_message = COALESCE(error_message, 'not delivered before it expired') \
           WHERE id >= $1 AND status IN ('PENDING', 'RETRYING') AND expires_at < now() \
             AND {META} ->> 'worker' IS NULL \
         ), due AS ( \
           SELECT delivery_logs.id FROM delivery_logs \
           WHERE delivery_logs.id >= $1 AND status IN ('PENDING', 'RETRYING') \
             AND (expires_at IS NULL OR expires_at >= now()) \
             AND {META} ->> 'worker' IS NULL \
             AND COALESCE(({META} ->> 'next_attempt_at')::timestamptz, created_at) <= now() \
           ORDER BY COALESCE(({META} ->> 'priority')::int, 0) DESC, delivery_logs.id \
           LIMIT $3 \
           FOR UPDATE SKIP LOCKED \
         ) \
         UPDATE delivery_logs SET attempts = delivery_logs.attempts + 1, \
           first_attempt_at = COALESCE(first_attempt_at, now()), last_attempt_at = now(), \
           updated_at = now(), \
           integration_metadata = ({META} || jsonb_build_object('worker', $2::text, \
             'claimed_at', now()))::json \
         FROM due, user_integration_configs AS config \
         WHERE delivery_logs.id = due.id AND config.id = delivery_logs.integration_config_id \
         RETURNING delivery_logs.id, delivery_logs.request_id, delivery_logs.session_id, \
           delivery_logs.user_id, delivery_logs.integration_type::text AS integration_type, \
           delivery_logs.content, delivery_logs.attempts, delivery_logs.max_attempts, \
           delivery_logs.created_at, delivery_logs.integration_metadata, \
           config.config, config.retry_delay_seconds, config.priority"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [from_id.into(), worker.into(), limit.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Claimed::from_query_result(row, ""))
        .collect()
}

/// How an attempt ended, as stored.
#[derive(Debug, Clone)]
pub enum Attempted<'a> {
    Delivered {
        metadata: Value,
        subject: Option<&'a str>,
        template: Option<&'a str>,
    },
    /// Retry at `next_attempt_at` (seconds from now).
    Retry {
        reason: &'a str,
        details: Value,
        after_secs: f64,
        subject: Option<&'a str>,
        template: Option<&'a str>,
    },
    Failed {
        reason: &'a str,
        details: Value,
        subject: Option<&'a str>,
        template: Option<&'a str>,
    },
}

/// Stores the attempt's outcome if the delivery is still `worker`'s;
/// `false` when it is not (taken over).
pub async fn record(
    db: &DatabaseConnection,
    id: i32,
    worker: &str,
    attempted: &Attempted<'_>,
) -> Result<bool, DbErr> {
    let (status, reason, details, after, extra, subject, template) = match attempted {
        Attempted::Delivered {
            metadata,
            subject,
            template,
        } => (
            "DELIVERED",
            None,
            Value::Null,
            0.0,
            Some(metadata.clone()),
            *subject,
            *template,
        ),
        Attempted::Retry {
            reason,
            details,
            after_secs,
            subject,
            template,
        } => (
            "RETRYING",
            Some(*reason),
            details.clone(),
            *after_secs,
            None,
            *subject,
            *template,
        ),
        Attempted::Failed {
            reason,
            details,
            subject,
            template,
        } => (
            "FAILED",
            Some(*reason),
            details.clone(),
            0.0,
            None,
            *subject,
            *template,
        ),
    };
    let sql = format!(
        "UPDATE delivery_logs SET status = CAST($3 AS deliverystatus), updated_at = now(), \
           delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() ELSE delivered_at END, \
           error_message = CASE WHEN $3 = 'DELIVERED' THEN NULL ELSE $4 END, \
           error_details = CASE WHEN $3 = 'DELIVERED' THEN NULL ELSE $5::json END, \
           subject = COALESCE($8, subject), template_used = COALESCE($9, template_used), \
           integration_metadata = ((({META} - 'worker') - 'claimed_at') \
             || CASE WHEN $3 = 'RETRYING' \
                THEN jsonb_build_object('next_attempt_at', now() + make_interval(secs => $6)) \
                ELSE '{{}}'::jsonb END \
             || COALESCE($7::jsonb, '{{}}'::jsonb))::json \
         WHERE id = $1 AND {META} ->> 'worker' = $2"
    );
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [
                id.into(),
                worker.into(),
                status.into(),
                reason.map(str::to_owned).into(),
                details.into(),
                after.into(),
                extra.into(),
                subject.map(str::to_owned).into(),
                template.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// A delivery held by a dispatcher, for the takeover check.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Held {
    pub id: i32,
    pub worker: String,
}

/// Deliveries held (in flight) by any dispatcher, from row `from_id` on.
pub async fn held(db: &DatabaseConnection, from_id: i32) -> Result<Vec<Held>, DbErr> {
    let sql = format!(
        "SELECT id, {META} ->> 'worker' AS worker FROM delivery_logs \
         WHERE id >= $1 AND status IN ('PENDING', 'RETRYING') AND {META} ->> 'worker' IS NOT NULL"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [from_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Held::from_query_result(row, ""))
        .collect()
}

/// Frees the deliveries `dead` held (its lease ended mid-attempt): they are
/// due again, the attempt counted. Whatever it sent may be sent again,
/// under the same webhook id.
pub async fn free(db: &DatabaseConnection, dead: &str, from_id: i32) -> Result<u64, DbErr> {
    let sql = format!(
        "UPDATE delivery_logs SET updated_at = now(), \
           integration_metadata = (({META} - 'worker') - 'claimed_at')::json \
         WHERE id >= $2 AND status IN ('PENDING', 'RETRYING') AND {META} ->> 'worker' = $1"
    );
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [dead.into(), from_id.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// The lowest id of an unfinished delivery, or one past the last row: where
/// the next scans start (the schema has no index on `status`).
pub async fn low_water(db: &DatabaseConnection, from_id: i32) -> Result<i32, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT COALESCE( \
               (SELECT min(id) FROM delivery_logs \
                WHERE id >= $1 AND status IN ('PENDING', 'RETRYING')), \
               (SELECT COALESCE(max(id), 0) + 1 FROM delivery_logs)) AS id",
            [from_id.into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get::<i32>("", "id"),
        None => Ok(from_id),
    }
}

/// Unfinished deliveries by status, from row `from_id` on (for metrics).
pub async fn depth(db: &DatabaseConnection, from_id: i32) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT status::text AS status, count(*) AS n FROM delivery_logs \
             WHERE id >= $1 AND status IN ('PENDING', 'RETRYING') GROUP BY status",
            [from_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "status")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// The active template of a channel type, else its default one:
/// `(template_name, subject_template, body_template)`.
pub async fn template(
    db: &DatabaseConnection,
    integration_type: &str,
) -> Result<Option<(String, Option<String>, String)>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT template_name, subject_template, body_template FROM integration_templates \
             WHERE integration_type = CAST($1 AS integrationtype) AND (is_active OR is_default) \
             ORDER BY is_active DESC, is_default DESC, updated_at DESC LIMIT 1",
            [integration_type.into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some((
            row.try_get::<String>("", "template_name")?,
            row.try_get::<Option<String>>("", "subject_template")?,
            row.try_get::<String>("", "body_template")?,
        ))),
        None => Ok(None),
    }
}
