//! Each binary of the unified image does its job from a read-only container
//! as user 1001, against a throwaway PostgreSQL and a fake LlamaStack.

use std::collections::{BTreeMap, BTreeSet};
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
async fn register_assets_makes_a_vector_store_per_packaged_knowledge_base_and_then_changes_nothing()
{
    let test =
        "register_assets_makes_a_vector_store_per_packaged_knowledge_base_and_then_changes_nothing";
    if !require(&["podman"], test) {
        return;
    }
    let built = agent_image();
    let fake = FakeLlamaStack::start().await;
    let register = || {
        run_ok(
            podman_run()
                .arg("--env")
                .arg(format!("LLAMA_STACK_URL={}", fake.url()))
                .arg(&built.reference)
                .arg("/usr/local/bin/register-assets"),
        )
    };
    let packaged = asset_manager::load(&xtask::workspace::root().join("assets/config")).unwrap();
    let expected: BTreeMap<String, BTreeSet<String>> = packaged
        .knowledge_bases
        .iter()
        .map(|base| {
            let documents = base
                .documents
                .iter()
                .map(|document| document.document_id(&base.name))
                .collect();
            (base.name.clone(), documents)
        })
        .collect();
    assert!(!expected.is_empty(), "no knowledge base in assets/config");
    let count = expected.len();

    let printed = register();
    assert_eq!(
        printed.trim(),
        format!("created={count} replaced=0 unchanged=0 pruned=0 failed=0")
    );
    let stores: BTreeMap<String, BTreeSet<String>> = fake
        .snapshot()
        .vector_stores
        .values()
        .map(|store| {
            let metadata = &store.object["metadata"];
            assert_eq!(metadata["managed_by"], "register-assets", "{metadata}");
            let documents = store
                .files
                .values()
                .filter_map(|file| file["attributes"]["document_id"].as_str())
                .map(str::to_owned)
                .collect();
            (
                metadata["knowledge_base"].as_str().unwrap().to_owned(),
                documents,
            )
        })
        .collect();
    assert_eq!(
        stores, expected,
        "vector stores from /app/config: {printed}"
    );

    let again = register();
    assert_eq!(
        again.trim(),
        format!("created=0 replaced=0 unchanged={count} pruned=0 failed=0")
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
