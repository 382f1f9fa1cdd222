//! `db-migrate` as a Kubernetes Job runs it: a process with settings in the
//! environment, judged by its exit code and its output.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::process::Output;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, Statement};
use test_support::fixtures::{pg_dump_as_sql, shared_fixture};
use test_support::postgres::free_port;
use test_support::{PgCluster, TestDatabase, test_database};
use tokio::process::Command;

const EX_FAILURE: i32 = 1;
const EX_USAGE: i32 = 64;
const EX_UNAVAILABLE: i32 = 69;
const EX_CONFIG: i32 = 78;

/// The binary with a clean environment: only what the test sets.
fn db_migrate(env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_db-migrate"));
    command.env_clear().args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

async fn run(env: &[(&str, String)], args: &[&str]) -> Output {
    db_migrate(env, args).output().await.unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn query_strings(db: &TestDatabase, sql: &str) -> Vec<String> {
    let conn = Database::connect(db.url()).await.unwrap();
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn migrates_an_empty_database_and_a_rerun_changes_nothing() {
    let db = test_database().await.unwrap();
    let first = run(&db.env(), &[]).await;
    assert!(first.status.success(), "{}", text(&first));
    let again = run(&db.env(), &["up"]).await;
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("applied=0"), "{}", text(&again));
    assert_eq!(
        query_strings(&db, "SELECT version_num FROM alembic_version").await,
        ["001"]
    );
}

#[tokio::test]
async fn five_concurrent_jobs_all_succeed_and_apply_the_migration_once() {
    let db = test_database().await.unwrap();
    let mut env = db.env();
    env.push(("LOG_FORMAT", "json".into()));
    let children: Vec<_> = (0..5).map(|_| db_migrate(&env, &["up"]).output()).collect();
    let mut applied = 0;
    for child in children {
        let output = child.await.unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let summary = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["message"] == "schema is up to date")
            .expect("a summary line");
        applied += summary["applied"].as_u64().unwrap();
    }
    assert_eq!(applied, 1);
    assert_eq!(
        query_strings(&db, "SELECT version FROM seaql_migrations").await,
        ["m20250801_000001_create_request_schema"]
    );
}

/// Records every DDL command run from now on in `ddl_log`.
const DDL_CAPTURE: &str = r#"
CREATE TABLE ddl_log (tag text, object text);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    INSERT INTO ddl_log VALUES (r.command_tag, r.object_identity);
  END LOOP;
END $$;
CREATE FUNCTION log_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    INSERT INTO ddl_log VALUES ('DROP', r.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER capture_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();
CREATE EVENT TRIGGER capture_drop ON sql_drop EXECUTE FUNCTION log_drop();
"#;

/// A database as the Python system's alembic leaves it at revision 001:
/// the upstream dump plus its revision row when the fixture is present;
/// else our own 001 without our bookkeeping (equal, per the schema tests).
async fn alembic_001_database() -> TestDatabase {
    let db = test_database().await.unwrap();
    match shared_fixture(
        "upstream-schema-001.sql",
        "alembic_001_database (uses own 001)",
    ) {
        Some(path) => {
            let dump = std::fs::read_to_string(path).unwrap();
            db.execute_script(&pg_dump_as_sql(&dump)).await.unwrap();
            db.execute_script("INSERT INTO alembic_version VALUES ('001')")
                .await
                .unwrap();
        }
        None => {
            let output = run(&db.env(), &["up"]).await;
            assert!(output.status.success(), "{}", text(&output));
            db.execute_script("DROP TABLE seaql_migrations")
                .await
                .unwrap();
        }
    }
    db
}

#[tokio::test]
async fn an_alembic_001_database_is_adopted_without_any_schema_ddl() {
    let db = alembic_001_database().await;
    db.execute_script(DDL_CAPTURE).await.unwrap();

    let output = run(&db.env(), &["up"]).await;

    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("adopted=1"), "{}", text(&output));
    // The only DDL is our bookkeeping table (and its primary key index).
    let ddl = query_strings(&db, "SELECT tag || ' ' || object FROM ddl_log").await;
    assert!(!ddl.is_empty());
    assert!(
        ddl.iter().all(|entry| entry.contains("seaql_migrations")),
        "unexpected DDL: {ddl:?}"
    );
    assert_eq!(
        query_strings(&db, "SELECT version_num FROM alembic_version").await,
        ["001"]
    );
    assert_eq!(
        query_strings(&db, "SELECT version FROM seaql_migrations").await,
        ["m20250801_000001_create_request_schema"]
    );
}

#[tokio::test]
async fn an_unknown_alembic_revision_is_refused_with_one_line() {
    let db = alembic_001_database().await;
    db.execute_script("UPDATE alembic_version SET version_num = '999'")
        .await
        .unwrap();

    let output = run(&db.env(), &["up"]).await;

    assert_eq!(output.status.code(), Some(EX_FAILURE), "{}", text(&output));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("'999'") && lines[0].contains("refusing"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn down_without_confirmation_refuses_and_keeps_the_schema() {
    let db = test_database().await.unwrap();
    assert!(run(&db.env(), &["up"]).await.status.success());

    let output = run(&db.env(), &["down"]).await;

    assert_eq!(output.status.code(), Some(EX_USAGE), "{}", text(&output));
    assert!(text(&output).contains("--confirm"), "{}", text(&output));
    assert_eq!(
        query_strings(&db, "SELECT version_num FROM alembic_version").await,
        ["001"]
    );
}

#[tokio::test]
async fn down_with_confirmation_then_up_round_trips() {
    let db = test_database().await.unwrap();
    assert!(run(&db.env(), &["up"]).await.status.success());

    let down = run(&db.env(), &["down", "--confirm"]).await;
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        query_strings(&db, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'")
            .await
            .is_empty()
    );
    let status = run(&db.env(), &["status"]).await;
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("1 pending"),
        "{}",
        text(&status)
    );

    let up = run(&db.env(), &["up"]).await;
    assert!(up.status.success(), "{}", text(&up));
    assert_eq!(
        query_strings(&db, "SELECT version_num FROM alembic_version").await,
        ["001"]
    );
}

#[tokio::test]
async fn waits_for_a_database_that_comes_up_late() {
    let cluster = tokio::task::spawn_blocking(PgCluster::init)
        .await
        .unwrap()
        .unwrap();
    let env = [
        ("DATABASE_URL", cluster.admin_url()),
        ("DB_WAIT_TIMEOUT", "60".to_owned()),
    ];
    let child = db_migrate(&env, &["up"]).output();
    let job = tokio::spawn(child);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!job.is_finished(), "must wait for the database");

    // Keep the cluster: dropping it stops the server.
    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server().unwrap();
        cluster
    })
    .await
    .unwrap();

    let output = job.await.unwrap().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("waiting for the database"),
        "{}",
        text(&output)
    );
}

#[tokio::test]
async fn a_database_that_stays_down_gives_the_unavailable_code_and_one_line() {
    let env = [
        ("POSTGRES_HOST", "127.0.0.1".to_owned()),
        ("POSTGRES_PORT", free_port().unwrap().to_string()),
        ("DB_WAIT_TIMEOUT", "3".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let started = std::time::Instant::now();
    let output = run(&env, &["up"]).await;

    // The timeout bounds the whole wait, not just the pauses between tries.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        output.status.code(),
        Some(EX_UNAVAILABLE),
        "{}",
        text(&output)
    );
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("unavailable after"), "{lines:?}");
}

#[tokio::test]
async fn a_bad_port_gives_the_configuration_code_and_names_the_variable() {
    let output = run(&[("POSTGRES_PORT", "54x2".to_owned())], &["up"]).await;

    assert_eq!(output.status.code(), Some(EX_CONFIG), "{}", text(&output));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("POSTGRES_PORT"), "{lines:?}");
}

#[tokio::test]
async fn the_password_never_appears_in_the_output_at_trace_level() {
    let db = test_database().await.unwrap();
    assert!(!db.password.is_empty());
    let mut env = db.env();
    env.push(("RUST_LOG", "trace".into()));
    env.push(("SQL_DEBUG", "true".into()));
    for args in [&["up"][..], &["status"], &["wait", "--timeout", "5"]] {
        let output = run(&env, args).await;
        assert!(output.status.success(), "{}", text(&output));
        assert!(
            !text(&output).contains(&db.password),
            "password leaked by `db-migrate {}`",
            args.join(" ")
        );
    }

    let url_env = [
        ("DATABASE_URL", db.url()),
        ("RUST_LOG", "trace".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ];
    let output = run(&url_env, &["status"]).await;
    assert!(output.status.success(), "{}", text(&output));
    assert!(!text(&output).contains(&db.password));
}

#[tokio::test]
async fn a_wrong_password_is_a_configuration_error_and_is_not_echoed() {
    let db = test_database().await.unwrap();
    let wrong = "Wrong-Password-7f3a";
    let mut env: Vec<_> = db
        .env()
        .into_iter()
        .filter(|(key, _)| *key != "POSTGRES_PASSWORD")
        .collect();
    env.push(("POSTGRES_PASSWORD", wrong.into()));
    env.push(("RUST_LOG", "trace".into()));

    let output = run(&env, &["up"]).await;

    assert_eq!(output.status.code(), Some(EX_CONFIG), "{}", text(&output));
    assert!(
        text(&output).contains("rejected the connection"),
        "{}",
        text(&output)
    );
    assert!(!text(&output).contains(wrong));
}

#[tokio::test]
async fn wait_returns_once_another_job_has_migrated() {
    let db = test_database().await.unwrap();
    let waiter = tokio::spawn(db_migrate(&db.env(), &["wait", "--timeout", "60"]).output());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!waiter.is_finished(), "must wait for the schema");

    assert!(run(&db.env(), &["up"]).await.status.success());

    let output = waiter.await.unwrap().unwrap();
    assert!(output.status.success(), "{}", text(&output));
}

#[tokio::test]
async fn digits_only_user_password_and_database_name_are_taken_as_text() {
    let db = test_database().await.unwrap();
    // A role "1001" with password 123456 owning a database named by digits.
    let digits_only = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .to_string();
    let admin = Database::connect(db.url()).await.unwrap();
    for sql in [
        "DROP ROLE IF EXISTS \"1001\"".to_owned(),
        "CREATE ROLE \"1001\" LOGIN PASSWORD '123456'".to_owned(),
        format!("CREATE DATABASE \"{digits_only}\" OWNER \"1001\""),
    ] {
        admin.execute_unprepared(&sql).await.unwrap();
    }
    let env = [
        ("POSTGRES_HOST", db.host.clone()),
        ("POSTGRES_PORT", db.port.to_string()),
        ("POSTGRES_DB", digits_only.clone()),
        ("POSTGRES_USER", "1001".to_owned()),
        ("POSTGRES_PASSWORD", "123456".to_owned()),
    ];

    let output = run(&env, &["up"]).await;

    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("1001@{}:{}/{digits_only}", db.host, db.port)),
        "{}",
        text(&output)
    );
}

#[tokio::test]
async fn a_bad_duration_from_the_environment_is_a_configuration_error_naming_it() {
    for (var, value) in [
        ("DB_WAIT_TIMEOUT", "soon"),
        ("DB_LOCK_TIMEOUT", "18446744073709551615"),
        ("DB_POOL_TIMEOUT", "-3"),
    ] {
        let output = run(&[(var, value.to_owned())], &["up"]).await;
        assert_eq!(
            output.status.code(),
            Some(EX_CONFIG),
            "{var}: {}",
            text(&output)
        );
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{var}: {lines:?}");
        assert!(lines[0].contains(var), "{lines:?}");
    }
}

#[tokio::test]
async fn the_same_bad_duration_as_a_flag_is_a_usage_error() {
    let output = run(&[], &["up", "--connect-timeout", "soon"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("--connect-timeout"),
        "{}",
        text(&output)
    );
}

#[tokio::test]
async fn a_url_parameter_naming_a_password_is_never_logged() {
    let db = test_database().await.unwrap();
    let secret = "Ssl-Key-Passphrase-91c2";
    for key in ["sslpassword", "passwd", "pass"] {
        let url = format!("{}?{key}={secret}", db.url());
        let env = [("DATABASE_URL", url), ("RUST_LOG", "trace".to_owned())];
        let output = run(&env, &["status"]).await;
        assert!(output.status.success(), "{key}: {}", text(&output));
        let all = text(&output);
        assert!(!all.contains(secret), "{key} leaked: {all}");
        assert!(all.contains(key), "the ignored parameter is named: {all}");
    }
}

#[tokio::test]
async fn a_url_of_another_database_kind_is_refused() {
    let output = run(
        &[(
            "DATABASE_URL",
            "mysql://app:s3cret@127.0.0.1:3306/agents".to_owned(),
        )],
        &["up"],
    )
    .await;
    assert_eq!(output.status.code(), Some(EX_CONFIG), "{}", text(&output));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("DATABASE_URL") && lines[0].contains("mysql"),
        "{lines:?}"
    );
    assert!(!lines[0].contains("s3cret"), "{lines:?}");
}

#[tokio::test]
async fn sql_debug_logs_each_statement_without_its_values() {
    let db = test_database().await.unwrap();
    let mut env = db.env();
    env.push(("SQL_DEBUG", "true".into()));
    let output = run(&env, &["up"]).await;
    assert!(output.status.success(), "{}", text(&output));
    let all = text(&output);
    assert!(
        all.contains("pg_try_advisory_lock"),
        "statements logged: {all}"
    );
    assert!(all.contains("CREATE TABLE"), "DDL logged: {all}");
    assert!(!all.contains(&db.password), "{all}");

    let quiet = run(&db.env(), &["status"]).await;
    assert!(!text(&quiet).contains("SELECT"), "{}", text(&quiet));
}
