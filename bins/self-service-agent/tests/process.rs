//! The service as Kubernetes runs it: a process configured by environment,
//! stopped by SIGTERM, outliving database restarts.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use test_support::agent_assets::{TestAgent, TestAssets};

use common::{
    Service, connect, fake_llamastack, migrated_database, migrated_database_on_own_cluster, port,
    scalar, service_env, spawn, sync,
};

/// The status `GET /ready` answers.
async fn ready(client: &reqwest::Client, service: &Service) -> reqwest::StatusCode {
    client
        .get(service.url("/ready"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_refuses_new_connections() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let service = spawn(&service_env(&db, &backend, port())).await;
    let client = reqwest::Client::new();
    // Warm up (the model list cached), then make every LlamaStack call slow.
    assert_eq!(
        sync(&client, &service, "alice", "hello").await.status(),
        200
    );
    fake.set_latency(Duration::from_millis(800));

    let in_flight: Vec<_> = (0..3)
        .map(|i| {
            let client = client.clone();
            let url = service.url("/api/v1/requests/generic/sync");
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("x-user-id", format!("user-{i}"))
                    .json(&serde_json::json!({"content": "hello", "integration_type": "CLI"}))
                    .send()
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    service.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let refused = reqwest::Client::new()
        .get(service.url("/health"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection after SIGTERM must be refused"
    );
    for request in in_flight {
        let response = request
            .await
            .unwrap()
            .expect("an in-flight request gets its answer");
        assert_eq!(response.status(), 200);
    }
    let (status, output) = service.finish().await;
    assert!(status.success(), "{output}");

    let conn = connect(&db).await;
    assert_eq!(
        scalar(
            &conn,
            "SELECT count(*) FROM request_logs WHERE response_content IS NOT NULL",
        )
        .await,
        4,
        "all answers are stored"
    );
}

#[tokio::test]
async fn the_service_recovers_by_itself_when_its_database_comes_back() {
    let (cluster, db) = migrated_database_on_own_cluster().await;
    let backend = fake_llamastack().await;
    let mut env = service_env(&db, &backend, port());
    env.push(("DB_POOL_TIMEOUT", "2".into()));
    let service = spawn(&env).await;
    let client = reqwest::Client::new();
    assert_eq!(ready(&client, &service).await, 200);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().unwrap();
        cluster
    })
    .await
    .unwrap();

    assert_eq!(ready(&client, &service).await, 503);
    let response = sync(&client, &service, "alice", "hello").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "database_unavailable", "{body}");

    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server().unwrap();
        cluster
    })
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        if ready(&client, &service).await == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not ready again after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        sync(&client, &service, "alice", "hello").await.status(),
        200
    );
}

#[tokio::test]
async fn a_bad_setting_is_named_and_gives_the_configuration_code() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
        .env_clear()
        .env("LLAMA_STACK_URL", "http://127.0.0.1:1")
        .env("LISTEN_ADDR", "not-an-address")
        .env("POSTGRES_PORT", "five")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("LISTEN_ADDR") && stderr.contains("POSTGRES_PORT"),
        "{stderr}"
    );
}

/// Runs the binary with `env` and the asset directory `dir` until it
/// exits (it must, within 10 s): its exit code and stderr.
async fn exit_with_assets(dir: &std::path::Path) -> (Option<i32>, String) {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
        .env_clear()
        .env("LLAMA_STACK_URL", "http://127.0.0.1:1")
        .env("LISTEN_ADDR", format!("127.0.0.1:{}", port()))
        .env("ASSET_CONFIG_DIR", dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("a bad asset directory ends the process at once")
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_bad_asset_directory_exits_78_naming_the_file_and_the_field() {
    let unknown_handoff =
        TestAssets::empty().agent(&TestAgent::new("routing-agent").hands_off_to(&["nobody"]));
    let bad_type = TestAssets::empty().agent(&TestAgent::new("routing-agent"));
    bad_type.write(
        "agents/laptop-refresh.yaml",
        "name: \"laptop-refresh\"\ninstructions: \"x\"\nmax_infer_iters: \"many\"\n",
    );
    let no_routing_agent = TestAssets::empty().agent(&TestAgent::new("laptop-refresh"));
    for (assets, parts) in [
        (
            &unknown_handoff,
            &["agents/routing-agent.yaml", "handoffs[0]", "nobody"][..],
        ),
        (
            &bad_type,
            &["agents/laptop-refresh.yaml", "max_infer_iters"][..],
        ),
        (&no_routing_agent, &["ROUTING_AGENT", "routing-agent"][..]),
    ] {
        let (code, stderr) = exit_with_assets(assets.path()).await;
        assert_eq!(code, Some(78), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        test_support::assert_contains_all(&stderr, parts);
    }
    let (code, stderr) = exit_with_assets(std::path::Path::new("/nonexistent/assets")).await;
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("/nonexistent/assets"), "{stderr}");
}

/// From the start of the process to `/ready` answering 200: the asset
/// directory is loaded on the way, and said so with its agents.
#[tokio::test]
async fn the_service_is_ready_with_its_asset_directory_loaded() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let started = Instant::now();
    let service = spawn(&service_env(&db, &backend, port())).await;
    let client = reqwest::Client::new();
    while ready(&client, &service).await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not ready within 20 s: {}",
            service.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    let logs = service.logs();
    let loaded = logs
        .lines()
        .find(|line| line.contains("asset directory loaded"))
        .unwrap_or_else(|| panic!("no line says the directory was loaded: {logs}"));
    test_support::assert_contains_all(
        loaded,
        &[&backend.assets.path().display().to_string(), "agents=2"],
    );
    common::report(&format!(
        "self-service-agent: start to ready in {} ms",
        took.as_millis()
    ));
    let answer: serde_json::Value = sync(&client, &service, "alice", "hello")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["response"]["content"], common::GREETING, "{answer}");
}

#[tokio::test]
async fn no_secret_reaches_the_output_at_trace_level() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("api-keys");
    let user_key = "alice-secret-key-6b1e0c";
    std::fs::write(&keys, format!("alice {user_key}\n")).unwrap();
    let llama_key = "llamastack-token-93af";
    let mut env = service_env(&db, &backend, port());
    env.push(("RUST_LOG", "trace".into()));
    env.push(("SQL_DEBUG", "true".into()));
    env.push(("AUTH_MODE", "header-or-api-key".into()));
    env.push(("API_KEYS_FILE", keys.display().to_string()));
    env.push(("LLAMA_STACK_API_KEY", llama_key.into()));
    let service = spawn(&env).await;
    let client = reqwest::Client::new();
    let response = client
        .post(service.url("/api/v1/requests/generic/sync"))
        .bearer_auth(user_key)
        .json(&serde_json::json!({"content": "hello", "integration_type": "CLI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let wrong = client
        .get(service.url("/api/v1/requests/x"))
        .bearer_auth("wrong-key-value-0c41d2")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    client.get(service.url("/ready")).send().await.unwrap();
    service.terminate();
    let (_, output) = service.finish().await;
    assert!(
        output.contains("TRACE") || output.contains("trace"),
        "trace logging is on"
    );
    for secret in [
        db.password.as_str(),
        user_key,
        llama_key,
        "wrong-key-value-0c41d2",
    ] {
        assert!(!output.contains(secret), "a secret leaked into the output");
    }
}
