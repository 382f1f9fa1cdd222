//! The migration runner: idempotent re-runs, alembic adoption, refusal of
//! unknown revisions, down/up round trip, concurrent runs, waiting.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, Statement};
use shared_db::migrate::{self, Timeouts};
use shared_db::{DbConfig, DbError, wait_for_database, wait_for_migration};
use test_support::catalog::schema_snapshot;
use test_support::{TestDatabase, test_database};

const FIRST: &str = "m20250801_000001_create_request_schema";

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(30),
        lock: Duration::from_secs(30),
    }
}

async fn fresh() -> (TestDatabase, DbConfig) {
    let db = test_database().await.unwrap();
    let config = DbConfig::from_url(&db.url()).unwrap();
    (db, config)
}

async fn scalar_i64(db: &TestDatabase, sql: &str) -> i64 {
    let conn = Database::connect(db.url()).await.unwrap();
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn up_on_an_empty_database_applies_every_migration_and_records_alembic_001() {
    let (_db, config) = fresh().await;
    let report = migrate::up(&config, timeouts()).await.unwrap();
    assert_eq!(report.applied, [FIRST]);
    assert!(report.adopted.is_empty());
    assert_eq!(report.alembic_revision.as_deref(), Some("001"));
}

#[tokio::test]
async fn a_second_run_applies_nothing_and_leaves_the_schema_unchanged() {
    let (db, config) = fresh().await;
    migrate::up(&config, timeouts()).await.unwrap();
    let before = schema_snapshot(&db.url()).await.unwrap();

    let report = migrate::up(&config, timeouts()).await.unwrap();

    assert!(report.applied.is_empty() && report.adopted.is_empty());
    assert_eq!(schema_snapshot(&db.url()).await.unwrap(), before);
}

#[tokio::test]
async fn concurrent_runs_queue_on_the_lock_and_apply_once() {
    let (db, config) = fresh().await;
    let runs = (0..5).map(|_| {
        let config = config.clone();
        tokio::spawn(async move { migrate::up(&config, timeouts()).await })
    });
    let mut applied = 0;
    for run in runs {
        applied += run.await.unwrap().unwrap().applied.len();
    }
    assert_eq!(applied, 1);
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM seaql_migrations").await,
        1
    );
}

/// A database in the state alembic leaves it: schema 001, `alembic_version`
/// = 001, none of our bookkeeping. Built by migrating and then removing the
/// bookkeeping (the schema tests prove our 001 equals alembic's 001).
async fn alembic_database() -> (TestDatabase, DbConfig) {
    let (db, config) = fresh().await;
    migrate::up(&config, timeouts()).await.unwrap();
    db.execute_script("DROP TABLE seaql_migrations")
        .await
        .unwrap();
    (db, config)
}

#[tokio::test]
async fn a_database_at_alembic_001_is_adopted_without_running_its_ddl() {
    let (db, config) = alembic_database().await;
    db.execute_script(
        "INSERT INTO request_sessions (session_id, user_id, integration_type, status, \
         total_requests, created_at, updated_at) \
         VALUES ('s-1', 'alice', 'CLI', 'ACTIVE', 0, now(), now())",
    )
    .await
    .unwrap();

    let report = migrate::up(&config, timeouts()).await.unwrap();

    assert_eq!(report.adopted, [FIRST]);
    assert!(report.applied.is_empty());
    assert_eq!(report.alembic_revision.as_deref(), Some("001"));
    // The data is still there: nothing was dropped or recreated.
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM request_sessions").await,
        1
    );
}

#[tokio::test]
async fn an_unknown_alembic_revision_is_refused_and_nothing_is_created() {
    let (db, config) = fresh().await;
    db.execute_script(
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('999')",
    )
    .await
    .unwrap();

    let error = migrate::up(&config, timeouts()).await.unwrap_err();

    assert!(matches!(error, DbError::UnknownRevision { ref revision, .. } if revision == "999"));
    assert!(error.to_string().contains("'999'"), "{error}");
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'request_sessions'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn down_then_up_round_trips_the_schema() {
    let (db, config) = fresh().await;
    migrate::up(&config, timeouts()).await.unwrap();
    let migrated = schema_snapshot(&db.url()).await.unwrap();

    let rolled_back = migrate::down(&config, timeouts(), 1).await.unwrap();
    assert_eq!(rolled_back, [FIRST]);
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'").await,
        0
    );

    migrate::up(&config, timeouts()).await.unwrap();
    assert_eq!(schema_snapshot(&db.url()).await.unwrap(), migrated);
}

#[tokio::test]
async fn status_reports_pending_then_applied_without_creating_anything() {
    let (db, config) = fresh().await;
    let before = migrate::status(&config, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(before.pending(), 1);
    assert_eq!(before.alembic_revision, None);
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .await,
        0
    );

    migrate::up(&config, timeouts()).await.unwrap();
    let after = migrate::status(&config, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(after.pending(), 0);
    assert_eq!(after.alembic_revision.as_deref(), Some("001"));
}

#[tokio::test]
async fn wait_for_migration_returns_once_the_schema_reaches_the_revision() {
    let (db, config) = fresh().await;
    let conn = wait_for_database(&config, Duration::from_secs(10))
        .await
        .unwrap();
    let target = db.name.clone();
    let waiter = tokio::spawn(async move {
        wait_for_migration(&conn, &target, "001", Duration::from_secs(30)).await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiter.is_finished(),
        "must wait while the schema is missing"
    );

    migrate::up(&config, timeouts()).await.unwrap();

    assert_eq!(waiter.await.unwrap().unwrap(), "001");
}

#[tokio::test]
async fn wait_for_migration_times_out_with_the_current_revision() {
    let (db, config) = fresh().await;
    let conn = wait_for_database(&config, Duration::from_secs(10))
        .await
        .unwrap();
    let error = wait_for_migration(&conn, &db.name, "001", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DbError::NotMigrated { ref current, .. } if current == "none"),
        "{error}"
    );
}
