//! Connecting, waiting for the database to come up, checking its health and
//! waiting for the schema to reach a revision.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ConstantBuilder, ExponentialBuilder, Retryable};
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::{self, Connection as _, PgConnection, PgPool};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlxPostgresConnector, Statement};

use crate::config::DbConfig;
use crate::error::DbError;
use crate::migration::alembic_rank;

/// The longest a single connection attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLSTATEs that no amount of waiting fixes: bad password, unknown role, missing database.
const REJECTIONS: &[&str] = &["28P01", "28000", "3D000"];

/// A connection pool per `config`, opened lazily: the first query connects.
pub fn connect_lazy(config: &DbConfig) -> DatabaseConnection {
    SqlxPostgresConnector::from_sqlx_postgres_pool(config.lazy_pool())
}

/// Waits until the database accepts a connection, retrying with bounded
/// exponential backoff (0.2 s doubling up to 2 s) until `timeout` has passed.
pub async fn wait_for_database(
    config: &DbConfig,
    timeout: Duration,
) -> Result<DatabaseConnection, DbError> {
    let pool = wait_for_pool(config, config.pool_options(), timeout).await?;
    Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

pub(crate) async fn wait_for_pool(
    config: &DbConfig,
    pool_options: PgPoolOptions,
    timeout: Duration,
) -> Result<PgPool, DbError> {
    let target = config.target();
    let started = Instant::now();
    let connect_options = config.connect_options();
    let attempt_timeout = ATTEMPT_TIMEOUT.min(timeout);
    // A plain connection first: the pool would retry refused connections
    // internally until its acquire timeout and hide the reason.
    let attempt = || {
        let pool_options = pool_options.clone();
        let connect_options = connect_options.clone();
        async move {
            let connect = async {
                PgConnection::connect_with(&connect_options)
                    .await?
                    .close()
                    .await?;
                pool_options.connect_with(connect_options).await
            };
            match tokio::time::timeout(attempt_timeout, connect).await {
                Ok(result) => result.map_err(|error| describe(&error)),
                Err(_) => Err(Attempt::Retry(format!(
                    "no connection within {}s",
                    attempt_timeout.as_secs()
                ))),
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(2))
        .without_max_times();
    let last_reason = Mutex::new(String::from("no attempt finished"));
    let retrying = attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|error| matches!(error, Attempt::Retry(_)))
        .notify(|error, delay| {
            if let Ok(mut last) = last_reason.lock() {
                *last = error.to_string();
            }
            tracing::info!(
                database = %target,
                "waiting for the database: {error}; next try in {}ms",
                delay.as_millis()
            );
        });
    // The timeout bounds the whole wait, attempts included.
    let outcome = tokio::time::timeout(timeout, retrying)
        .await
        .unwrap_or_else(|_| {
            let reason = last_reason
                .lock()
                .map(|last| last.clone())
                .unwrap_or_default();
            Err(Attempt::Retry(reason))
        });
    match outcome {
        Ok(pool) => {
            tracing::debug!(database = %target, elapsed_ms = started.elapsed().as_millis() as u64, "connected");
            Ok(pool)
        }
        Err(Attempt::Rejected(reason)) => Err(DbError::Rejected { target, reason }),
        Err(Attempt::Retry(reason)) => Err(DbError::Unavailable {
            target,
            waited: started.elapsed(),
            reason,
        }),
    }
}

#[derive(Debug)]
enum Attempt {
    Retry(String),
    Rejected(String),
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Retry(reason) | Attempt::Rejected(reason) => f.write_str(reason),
        }
    }
}

fn describe(error: &sqlx::Error) -> Attempt {
    match error {
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|code| REJECTIONS.contains(&code.as_ref())) =>
        {
            Attempt::Rejected(db.message().to_owned())
        }
        other => Attempt::Retry(other.to_string()),
    }
}

/// A statement broke a unique constraint (SQLSTATE 23505): someone else
/// wrote the same row first.
pub fn is_unique_violation(error: &DbErr) -> bool {
    match error {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(inner))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(inner)) => match inner.as_ref() {
            sea_orm::sqlx::Error::Database(db) => db.code().as_deref() == Some("23505"),
            _ => false,
        },
        _ => false,
    }
}

/// The database could not be reached or is going away (as opposed to
/// rejecting a statement): I/O and pool errors, SQLSTATE class 08
/// (connection exception) and 57P (shutdown, crash, starting up).
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(inner))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(inner)) => match inner.as_ref() {
            Sqlx::Io(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_) => true,
            Sqlx::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
            _ => false,
        },
        _ => false,
    }
}

/// Liveness of the connection: one round trip.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(drop)
}

/// The revision recorded in `alembic_version`, or `None` when the table does
/// not exist or is empty. Several rows (alembic branches) are an error.
pub async fn current_alembic_revision<C: ConnectionTrait>(db: &C) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let exists = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT to_regclass('alembic_version') IS NOT NULL AS present",
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false);
    if !exists {
        return Ok(None);
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT version_num FROM alembic_version ORDER BY version_num",
        ))
        .await?;
    let mut revisions = rows
        .iter()
        .map(|row| row.try_get::<String>("", "version_num"))
        .collect::<Result<Vec<_>, _>>()?;
    match revisions.len() {
        0 | 1 => Ok(revisions.pop()),
        _ => Err(DbErr::Custom(format!(
            "alembic_version holds several revisions ({}); branched histories are not supported",
            revisions.join(", ")
        ))),
    }
}

/// Whether a database at `current` satisfies a reader that expects `expected`:
/// the same revision, or a known later one (migrations only add).
pub fn revision_satisfies(current: &str, expected: &str) -> bool {
    if current == expected {
        return true;
    }
    match (alembic_rank(current), alembic_rank(expected)) {
        (Some(current), Some(expected)) => current >= expected,
        _ => false,
    }
}

/// Blocks until the schema is at `expected` (or a known later revision),
/// polling every second until `timeout`; the database may come and go.
pub async fn wait_for_migration(
    db: &DatabaseConnection,
    target: &str,
    expected: &str,
    timeout: Duration,
) -> Result<String, DbError> {
    let started = Instant::now();
    let last_seen = Arc::new(Mutex::new(String::from("unknown")));
    let poll = || {
        let last_seen = Arc::clone(&last_seen);
        async move {
            let revision = current_alembic_revision(db)
                .await
                .map_err(|error| error.to_string())?;
            let revision = revision.unwrap_or_else(|| "none".to_owned());
            if let Ok(mut seen) = last_seen.lock() {
                seen.clone_from(&revision);
            }
            if revision_satisfies(&revision, expected) {
                Ok(revision)
            } else {
                Err(format!("schema at revision {revision}"))
            }
        }
    };
    let backoff = ConstantBuilder::default()
        .with_delay(Duration::from_secs(1))
        .without_max_times();
    let waiting = poll
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .notify(|reason, _| {
            tracing::info!(database = %target, expected, "waiting for the migration: {reason}");
        });
    match tokio::time::timeout(timeout, waiting).await {
        Ok(Ok(revision)) => Ok(revision),
        Ok(Err(_)) | Err(_) => Err(DbError::NotMigrated {
            target: target.to_owned(),
            expected: expected.to_owned(),
            current: last_seen
                .lock()
                .map(|seen| seen.clone())
                .unwrap_or_default(),
            waited: started.elapsed(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_revision_satisfies_itself() {
        assert!(revision_satisfies("001", "001"));
    }

    #[test]
    fn an_unknown_revision_does_not_satisfy() {
        assert!(!revision_satisfies("999", "001"));
        assert!(!revision_satisfies("none", "001"));
    }
}
