//! What can go wrong between a process and its database, sorted by what the
//! caller (a Job, an init container, an operator) should do about it.

use std::time::Duration;

use app_support::{ConfigError, ExitStatus, HasExitStatus};
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The server answered but will not let us in: wrong credentials or a
    /// database that does not exist. Retrying does not help.
    #[error("database {target} rejected the connection: {reason}")]
    Rejected { target: String, reason: String },

    #[error("database {target} unavailable after {}s: {reason}", waited.as_secs())]
    Unavailable {
        target: String,
        waited: Duration,
        reason: String,
    },

    #[error(
        "migration lock on {target} still held by another db-migrate{} after {}s",
        holder.map(|pid| format!(" (server pid {pid})")).unwrap_or_default(),
        waited.as_secs()
    )]
    LockTimeout {
        target: String,
        holder: Option<i32>,
        waited: Duration,
    },

    #[error(
        "database is at alembic revision '{revision}', which this db-migrate does not know \
         (known: {known}); refusing to touch it"
    )]
    UnknownRevision { revision: String, known: String },

    #[error("schema at {target} is not at revision {expected} after {}s (current: {current})", waited.as_secs())]
    NotMigrated {
        target: String,
        expected: String,
        current: String,
        waited: Duration,
    },

    /// The session holding the migration lock ended during the run (a
    /// database restart, a killed backend), and the lock with it.
    #[error(
        "the migration lock on {target} was lost during the run; check that the schema is \
         complete with `db-migrate status`"
    )]
    LockLost { target: String },

    #[error("migration {migration} failed: {reason}")]
    Migration { migration: String, reason: String },

    #[error("database error: {0}")]
    Query(#[from] DbErr),
}

impl HasExitStatus for DbError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            DbError::Config(_) | DbError::Rejected { .. } => ExitStatus::Config,
            DbError::Unavailable { .. }
            | DbError::LockTimeout { .. }
            | DbError::NotMigrated { .. } => ExitStatus::Unavailable,
            DbError::UnknownRevision { .. }
            | DbError::LockLost { .. }
            | DbError::Migration { .. }
            | DbError::Query(_) => ExitStatus::Failure,
        }
    }
}
