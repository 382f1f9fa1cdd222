//! The first migration creates exactly the schema of the Python system's
//! alembic revision 001: checked against the project's own snapshot always,
//! and against the upstream `pg_dump` fixture when it is present.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use shared_db::DbConfig;
use shared_db::migrate::{self, Timeouts};
use test_support::catalog::schema_snapshot;
use test_support::fixtures::{pg_dump_as_sql, shared_fixture};
use test_support::test_database;

const SNAPSHOT: &str = include_str!("snapshots/schema-001.txt");

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(30),
        lock: Duration::from_secs(10),
    }
}

async fn migrated_snapshot() -> String {
    let db = test_database().await.unwrap();
    let config = DbConfig::from_url(&db.url()).unwrap();
    migrate::up(&config, timeouts()).await.unwrap();
    schema_snapshot(&db.url()).await.unwrap()
}

#[tokio::test]
async fn migrated_schema_matches_the_project_snapshot() {
    let migrated = migrated_snapshot().await;
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/snapshots/schema-001.txt"
        );
        std::fs::write(path, &migrated).unwrap();
    }
    assert_eq!(migrated, SNAPSHOT);
}

#[tokio::test]
async fn migrated_schema_matches_the_upstream_alembic_dump() {
    let Some(fixture) = shared_fixture(
        "upstream-schema-001.sql",
        "migrated_schema_matches_the_upstream_alembic_dump",
    ) else {
        return;
    };
    let upstream = test_database().await.unwrap();
    let dump = std::fs::read_to_string(fixture).unwrap();
    upstream
        .execute_script(&pg_dump_as_sql(&dump))
        .await
        .unwrap();
    let expected = schema_snapshot(&upstream.url()).await.unwrap();

    assert_eq!(migrated_snapshot().await, expected);
}

#[tokio::test]
async fn the_snapshot_covers_the_seven_tables_and_three_enums() {
    let tables: std::collections::BTreeSet<&str> = SNAPSHOT
        .lines()
        .filter_map(|line| line.strip_prefix("column "))
        .filter_map(|rest| rest.split('.').next())
        .collect();
    assert_eq!(
        tables.into_iter().collect::<Vec<_>>(),
        [
            "alembic_version",
            "delivery_logs",
            "integration_credentials",
            "integration_templates",
            "processed_events",
            "request_logs",
            "request_sessions",
            "user_integration_configs",
        ]
    );
    assert_eq!(
        SNAPSHOT.lines().filter(|l| l.starts_with("enum ")).count(),
        3
    );
}
