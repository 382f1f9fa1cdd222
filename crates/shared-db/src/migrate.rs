//! Running the migrations safely: one connection holding a PostgreSQL
//! advisory lock for the whole run (so concurrent Jobs queue up instead of
//! racing), adoption of databases that alembic already migrated, and each
//! migration in its own transaction (sea-orm-migration's behaviour on
//! PostgreSQL).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr,
    SqlxPostgresConnector, Statement,
};
use sea_orm_migration::{MigrationStatus, MigratorTrait, seaql_migrations};

use crate::config::DbConfig;
use crate::database::{current_alembic_revision, wait_for_pool};
use crate::error::DbError;
use crate::migration::{ALEMBIC_REVISIONS, Migrator, alembic_rank};

/// Advisory-lock key of the migration run ("SSA_migr"). Advisory locks are
/// per database, so one constant serves every database on a server.
const MIGRATION_LOCK_KEY: i64 = 0x5353_415f_6d69_6772;

/// How long to connect and to wait for the lock.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Until the database accepts connections.
    pub connect: Duration,
    /// Until another run's lock is released.
    pub lock: Duration,
}

/// What a run of `up` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpReport {
    /// Migrations recorded as applied because alembic had already applied them.
    pub adopted: Vec<String>,
    /// Migrations applied by this run.
    pub applied: Vec<String>,
    /// `alembic_version` after the run.
    pub alembic_revision: Option<String>,
}

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub alembic_revision: Option<String>,
    pub applied: bool,
}

/// The database's migration status, read without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub migrations: Vec<MigrationState>,
    pub alembic_revision: Option<String>,
}

impl StatusReport {
    pub fn pending(&self) -> usize {
        self.migrations.iter().filter(|m| !m.applied).count()
    }
}

/// Applies every pending migration. See the module docs for the guarantees.
pub async fn up(config: &DbConfig, timeouts: Timeouts) -> Result<UpReport, DbError> {
    let db = connect_single(config, timeouts.connect).await?;
    with_lock(&db, config, timeouts.lock, async {
        let adopted = adopt_alembic_revision(&db).await?;
        let pending = pending_names(&db).await?;
        for name in &pending {
            // One step at a time, so a failure names its migration.
            Migrator::up(&db, Some(1))
                .await
                .map_err(|error| DbError::Migration {
                    migration: name.clone(),
                    reason: error.to_string(),
                })?;
            tracing::info!(migration = %name, "applied");
        }
        Ok(UpReport {
            adopted,
            applied: pending,
            alembic_revision: current_alembic_revision(&db).await?,
        })
    })
    .await
}

/// Rolls back the last `steps` applied migrations. Destructive: callers
/// must have asked the user for confirmation.
pub async fn down(
    config: &DbConfig,
    timeouts: Timeouts,
    steps: u32,
) -> Result<Vec<String>, DbError> {
    let db = connect_single(config, timeouts.connect).await?;
    with_lock(&db, config, timeouts.lock, async {
        let mut applied: Vec<String> = Migrator::get_applied_migrations(&db)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let mut rolled_back = Vec::new();
        for _ in 0..steps {
            let Some(name) = applied.pop() else { break };
            Migrator::down(&db, Some(1))
                .await
                .map_err(|error| DbError::Migration {
                    migration: name.clone(),
                    reason: error.to_string(),
                })?;
            tracing::info!(migration = %name, "rolled back");
            rolled_back.push(name);
        }
        Ok(rolled_back)
    })
    .await
}

/// Reports applied and pending migrations; creates nothing.
pub async fn status(config: &DbConfig, connect_timeout: Duration) -> Result<StatusReport, DbError> {
    let db = connect_single(config, connect_timeout).await?;
    let migrations = Migrator::get_migration_with_status_read_only(&db)
        .await?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            alembic_revision: revision_of(m.name()),
            applied: m.status() == MigrationStatus::Applied,
        })
        .collect();
    Ok(StatusReport {
        migrations,
        alembic_revision: current_alembic_revision(&db).await?,
    })
}

fn revision_of(migration: &str) -> Option<String> {
    ALEMBIC_REVISIONS
        .iter()
        .find(|(name, _)| *name == migration)
        .map(|(_, revision)| (*revision).to_owned())
}

/// A pool of exactly one connection that is never recycled: the session
/// that takes the advisory lock is the one that runs the migrations.
async fn connect_single(
    config: &DbConfig,
    timeout: Duration,
) -> Result<DatabaseConnection, DbError> {
    let options = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(config.acquire_timeout);
    let pool = wait_for_pool(config, options, timeout).await?;
    Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

async fn with_lock<T>(
    db: &DatabaseConnection,
    config: &DbConfig,
    timeout: Duration,
    work: impl Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    acquire_lock(db, config, timeout).await?;
    let result = work.await;
    let released = scalar_bool(
        db,
        &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY}) AS value"),
    )
    .await;
    match (result, released) {
        (Err(error), _) => Err(error),
        (Ok(value), Ok(true)) => Ok(value),
        // The session ended mid-run (and with it the lock): say so, loudly.
        (Ok(_), Ok(false)) => Err(DbError::LockLost {
            target: config.target(),
        }),
        (Ok(_), Err(error)) => Err(error.into()),
    }
}

async fn acquire_lock(
    db: &DatabaseConnection,
    config: &DbConfig,
    timeout: Duration,
) -> Result<(), DbError> {
    let started = Instant::now();
    let try_lock = || async {
        match scalar_bool(
            db,
            &format!("SELECT pg_try_advisory_lock({MIGRATION_LOCK_KEY}) AS value"),
        )
        .await
        {
            Ok(true) => Ok(Ok(())),
            Ok(false) => Err(LockWait::Held(lock_holder(db).await)),
            Err(error) => Ok(Err(error)),
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(2))
        .without_max_times()
        .with_total_delay(Some(timeout));
    let outcome = try_lock
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .notify(|LockWait::Held(holder), _| {
            tracing::info!(holder_pid = ?holder, "another db-migrate holds the migration lock; waiting");
        })
        .await;
    match outcome {
        Ok(acquired) => acquired.map_err(DbError::from),
        Err(LockWait::Held(holder)) => Err(DbError::LockTimeout {
            target: config.target(),
            holder,
            waited: started.elapsed(),
        }),
    }
}

enum LockWait {
    Held(Option<i32>),
}

async fn lock_holder(db: &DatabaseConnection) -> Option<i32> {
    let sql = format!(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid = {} AND objid = {} AND objsubid = 1",
        (MIGRATION_LOCK_KEY >> 32) as u32,
        MIGRATION_LOCK_KEY as u32,
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .ok()??;
    row.try_get::<i32>("", "pid").ok()
}

async fn scalar_bool(db: &DatabaseConnection, sql: &str) -> Result<bool, DbErr> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("no row from `{sql}`")))?
        .try_get::<bool>("", "value")
}

async fn pending_names(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// A database that alembic brought to a known revision gets the matching
/// migrations recorded as applied, without running their DDL. An unknown
/// revision (a newer Python release, a foreign schema) is refused.
async fn adopt_alembic_revision(db: &DatabaseConnection) -> Result<Vec<String>, DbError> {
    let Some(revision) = current_alembic_revision(db).await? else {
        return Ok(Vec::new());
    };
    let Some(rank) = alembic_rank(&revision) else {
        return Err(DbError::UnknownRevision {
            revision,
            known: ALEMBIC_REVISIONS
                .iter()
                .map(|(_, r)| *r)
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let applied: HashSet<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let mut adopted = Vec::new();
    for (name, _) in &ALEMBIC_REVISIONS[..=rank] {
        if applied.contains(*name) {
            continue;
        }
        seaql_migrations::ActiveModel {
            version: Set((*name).to_owned()),
            applied_at: Set(chrono::Utc::now().timestamp()),
        }
        .insert(db)
        .await?;
        tracing::info!(migration = %name, alembic_revision = %revision, "adopted: already applied by alembic");
        adopted.push((*name).to_owned());
    }
    Ok(adopted)
}
