//! Each binary of the unified image does its job from a read-only container
//! as user 1001, against a throwaway PostgreSQL and a fake LlamaStack.

use std::process::Command;
use std::time::{Duration, Instant};

use test_support::TestDatabase;
use test_support::fake_llamastack::FakeLlamaStack;

use crate::common::container::Running;
use crate::common::images::agent_image;
use crate::common::{podman, podman_run, require, run_ok};

/// `--env` flags pointing the container at `database`.
fn database_env<'a>(command: &'a mut Command, database: &TestDatabase) -> &'a mut Command {
    for (name, value) in database.env() {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    command
}

/// `db-migrate` (up) from the image against `database`.
fn migrate(reference: &str, database: &TestDatabase) {
    run_ok(
        database_env(&mut podman_run(), database)
            .arg(reference)
            .arg("/usr/local/bin/db-migrate"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn db_migrate_migrates_from_the_read_only_container_as_user_1001() {
    if !require(
        &["podman"],
        "db_migrate_migrates_from_the_read_only_container_as_user_1001",
    ) {
        return;
    }
    let built = agent_image();
    let database = test_support::test_database().await.unwrap();
    migrate(&built.reference, &database);
    let printed = run_ok(
        database_env(&mut podman_run(), &database)
            .arg(&built.reference)
            .args(["/usr/local/bin/db-migrate", "status"]),
    );
    assert!(printed.contains("alembic revision: 001"), "{printed}");
    assert!(printed.contains("0 pending"), "{printed}");

    let user = run_ok(
        podman()
            .args(["image", "inspect", "--format", "{{.Config.User}}"])
            .arg(&built.reference),
    );
    assert_eq!(user.trim(), "1001");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_assets_registers_the_packaged_assets_into_llamastack() {
    if !require(
        &["podman"],
        "register_assets_registers_the_packaged_assets_into_llamastack",
    ) {
        return;
    }
    let built = agent_image();
    let fake = FakeLlamaStack::start().await;
    let printed = run_ok(
        podman_run()
            .arg("--env")
            .arg(format!("LLAMA_STACK_URL={}", fake.url()))
            .arg(&built.reference)
            .arg("/usr/local/bin/register-assets"),
    );
    let agents_dir = xtask::workspace::root().join("assets/config/agents");
    let expected = std::fs::read_dir(&agents_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "yaml"))
                .count()
        })
        .unwrap_or(0);
    assert!(expected > 0, "no agents in {}", agents_dir.display());
    let agents = fake.snapshot().agents;
    assert_eq!(
        agents.len(),
        expected,
        "agents registered from /app/config: {printed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn self_service_agent_answers_health_and_ready_from_the_read_only_container() {
    if !require(
        &["podman"],
        "self_service_agent_answers_health_and_ready_from_the_read_only_container",
    ) {
        return;
    }
    let built = agent_image();
    let database = test_support::test_database().await.unwrap();
    let fake = FakeLlamaStack::start().await;
    migrate(&built.reference, &database);

    let port = test_support::postgres::free_port().unwrap();
    let name = format!("ssa-test-service-{}", std::process::id());
    let mut service = podman();
    // No --rm: the logs stay for the failure message; Running removes it.
    service.args(["run", "--detach", "--runtime", "runc", "--read-only"]);
    service.args(["--network", "host", "--name", &name]);
    database_env(&mut service, &database)
        .arg("--env")
        .arg(format!("LISTEN_ADDR=127.0.0.1:{port}"))
        .arg("--env")
        .arg(format!("LLAMA_STACK_URL={}", fake.url()))
        .arg(&built.reference);
    let started = Instant::now();
    run_ok(&mut service);
    let container = Running::named(name);

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = started + Duration::from_secs(30);
    let ready = loop {
        if let Ok(response) = client.get(format!("{base}/ready")).send().await
            && response.status().is_success()
        {
            break started.elapsed();
        }
        let running = container.running();
        assert!(
            running && Instant::now() < deadline,
            "the service did not become ready (running: {running}); logs:\n{}",
            container.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("container start to /ready: {} ms", ready.as_millis());
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert!(health.status().is_success(), "/health: {}", health.status());
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["database_connected"], true, "{body}");
}
