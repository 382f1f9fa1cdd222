//! The adversarial probe's scenarios against the binary as shipped, with a
//! real PostgreSQL and the fake LlamaStack: SIGTERM with work in flight, the
//! database stopped mid-turn, a replica killed mid-turn, orphaned rows,
//! slow and hostile clients, LlamaStack stopped, bad settings.
//! (In-process ones: `crates/agent-service/tests/hardening.rs`.)

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{
    Service, connect, fake_llamastack, migrated_database, migrated_database_on_own_cluster, port,
    scalar, service_env, spawn, spawn_with_open_files,
};
use serde_json::{Value, json};

/// `GET /api/v1/requests/{id}` as `user` until `status` (at most `within`).
async fn until_status(
    service: &Service,
    user: &str,
    id: &str,
    status: &str,
    within: Duration,
) -> Value {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let read: Value = client
            .get(service.url(&format!("/api/v1/requests/{id}")))
            .header("x-user-id", user)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if read["status"] == status {
            return read;
        }
        assert!(
            started.elapsed() < within,
            "{id} not {status} after {within:?}: {read}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn accept(service: &Service, user: &str, content: &str) -> Value {
    let response = reqwest::Client::new()
        .post(service.url("/api/v1/requests/generic"))
        .header("x-user-id", user)
        .header("prefer", "respond-async")
        .json(&json!({"content": content, "integration_type": "CLI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

fn quick(env: &mut Vec<(&'static str, String)>) {
    env.push(("WORKER_POLL_INTERVAL", "0.2".into()));
}

#[tokio::test]
async fn sigterm_past_the_drain_deadline_hands_requests_back_and_another_replica_answers_them() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let mut env = service_env(&db, &backend, port());
    quick(&mut env);
    env.push(("SHUTDOWN_TIMEOUT", "2".into()));
    let first = spawn(&env).await;
    fake.set_latency(Duration::from_secs(6));
    let waiting = {
        let url = first.url("/api/v1/requests/generic/sync");
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-user-id", "alice")
                .json(&json!({"content": "hello", "integration_type": "CLI"}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.terminate();

    let response = waiting.await.unwrap().expect("the caller gets an answer");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "requeued", "{body}");
    let request_id = body["request_id"].as_str().unwrap().to_owned();
    let (status, output) = first.finish().await;
    assert!(status.success(), "{output}");
    assert!(output.contains("handed back to the queue"), "{output}");

    fake.set_latency(Duration::ZERO);
    let mut env = service_env(&db, &backend, port());
    quick(&mut env);
    let second = spawn(&env).await;
    let read = until_status(
        &second,
        "alice",
        &request_id,
        "completed",
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(read["response"]["content"], "Hello from the routing agent");
}

#[tokio::test]
async fn an_answer_is_stored_once_the_database_is_back() {
    let (cluster, db) = migrated_database_on_own_cluster().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let mut env = service_env(&db, &backend, port());
    quick(&mut env);
    env.push(("DB_POOL_TIMEOUT", "1".into()));
    let service = spawn(&env).await;
    let client = reqwest::Client::new();
    assert_eq!(
        common::sync(&client, &service, "alice", "warm up")
            .await
            .status(),
        200
    );
    fake.set_latency(Duration::from_secs(2));
    let accepted = accept(&service, "alice", "hello").await;
    let request_id = accepted["request_id"].as_str().unwrap().to_owned();
    until_status(
        &service,
        "alice",
        &request_id,
        "processing",
        Duration::from_secs(5),
    )
    .await;
    // The turn ends while the database is away: the answer waits for it.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        cluster.start_server().unwrap();
        cluster
    })
    .await
    .unwrap();
    fake.set_latency(Duration::ZERO);

    let read = until_status(
        &service,
        "alice",
        &request_id,
        "completed",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(read["response"]["content"], "Hello from the routing agent");
    let logs = service.logs();
    assert!(
        logs.lines()
            .any(|line| line.contains("could not store the outcome") && line.contains(&request_id)),
        "the retry names the request: {logs}"
    );
    drop(cluster);
}

/// SIGTERM while the database is gone and answers wait to be stored: the
/// process still ends within its drain deadline (before, each hand-back
/// waited out the pool's 30 s acquire timeout, and the process lived on
/// for minutes). What it could not hand back is its lease's, which ends
/// with it.
#[tokio::test]
async fn sigterm_with_the_database_gone_still_exits_within_the_drain_deadline() {
    let (cluster, db) = migrated_database_on_own_cluster().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let mut env = service_env(&db, &backend, port());
    quick(&mut env);
    env.push(("SHUTDOWN_TIMEOUT", "4".into()));
    let service = spawn(&env).await;
    fake.set_latency(Duration::from_secs(2));
    let mut ids = Vec::new();
    for user in ["alice", "bob", "carol"] {
        let accepted = accept(&service, user, "hello").await;
        ids.push((user, accepted["request_id"].as_str().unwrap().to_owned()));
    }
    for (user, id) in &ids {
        until_status(&service, user, id, "processing", Duration::from_secs(10)).await;
    }
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop_server().unwrap();
        cluster
    })
    .await
    .unwrap();
    // the turns end now, and their answers find no database
    tokio::time::sleep(Duration::from_secs(3)).await;
    let terminated = Instant::now();
    service.terminate();
    let (status, output) = service.finish().await;
    let took = terminated.elapsed();
    assert!(status.success(), "{output}");
    // the drain deadline (4 s) and room for a loaded machine; the old
    // hand-back alone took 3 x 30 s
    assert!(
        took < Duration::from_secs(15),
        "exited {took:?} after SIGTERM: {output}"
    );
    assert!(
        output.contains("could not hand the request back"),
        "the requests left to the lease are said: {output}"
    );
    drop(cluster);
}

#[tokio::test]
async fn a_replica_killed_mid_turn_loses_nothing_and_answers_nothing_twice_in_order() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    fake.set_reply("routing-agent", |message| format!("echo {message}"));
    let envs: Vec<_> = (0..2)
        .map(|_| {
            let mut env = service_env(&db, &backend, port());
            quick(&mut env);
            env
        })
        .collect();
    let doomed = spawn(&envs[0]).await;
    let survivor = spawn(&envs[1]).await;
    fake.set_latency(Duration::from_millis(60));
    let mut sent: Vec<(String, String)> = Vec::new();
    for i in 0..200 {
        let user = format!("user-{}", i % 20);
        let via = if i % 2 == 0 { &doomed } else { &survivor };
        let accepted = accept(via, &user, &format!("message {i}")).await;
        sent.push((user, accepted["request_id"].as_str().unwrap().to_owned()));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    doomed.kill().await;

    let conn = connect(&db).await;
    let started = Instant::now();
    while scalar(
        &conn,
        "SELECT count(*) FROM request_logs WHERE completed_at IS NOT NULL",
    )
    .await
        < 200
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not all 200 answered in 90 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let failed = scalar(
        &conn,
        "SELECT count(*) FROM request_logs WHERE response_content IS NULL",
    )
    .await;
    assert_eq!(failed, 0, "every request answered, none failed");
    // In order within each session: completion order equals arrival order.
    let out_of_order = scalar(
        &conn,
        "SELECT count(*) FROM (SELECT session_id, id, \
           lag(completed_at) OVER (PARTITION BY session_id ORDER BY id) AS previous, completed_at \
           FROM request_logs) AS ordered WHERE previous > completed_at",
    )
    .await;
    assert_eq!(out_of_order, 0);
    for (user, id) in sent.iter().take(5) {
        let read = until_status(&survivor, user, id, "completed", Duration::from_secs(5)).await;
        assert!(
            read["response"]["content"]
                .as_str()
                .unwrap()
                .starts_with("echo message")
        );
    }
}

#[tokio::test]
async fn a_request_left_in_no_queue_by_an_earlier_version_ends_failed() {
    let db = migrated_database().await;
    db.execute_script(
        "INSERT INTO request_sessions (session_id, user_id, integration_type, status, total_requests, created_at, updated_at) \
           VALUES ('s-old', 'alice', 'CLI', 'ACTIVE', 1, now() - interval '2 hours', now()); \
         INSERT INTO request_logs (request_id, session_id, request_type, request_content, created_at, updated_at) \
           VALUES ('r-old', 's-old', 'message', 'hello', now() - interval '2 hours', now())",
    )
    .await
    .unwrap();
    let backend = fake_llamastack().await;
    let mut env = service_env(&db, &backend, port());
    quick(&mut env);
    let service = spawn(&env).await;
    let read = until_status(
        &service,
        "alice",
        "r-old",
        "failed",
        Duration::from_secs(10),
    )
    .await;
    assert!(
        read["error"].as_str().unwrap().contains("interrupted"),
        "{read}"
    );
}

#[tokio::test]
async fn llamastack_stopped_fails_the_request_with_a_reason_and_the_next_one_works_again() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let service = spawn(&service_env(&db, &backend, port())).await;
    let client = reqwest::Client::new();
    assert_eq!(
        common::sync(&client, &service, "alice", "hello")
            .await
            .status(),
        200
    );
    fake.stop().await;
    let response = common::sync(&client, &service, "alice", "hello").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "agent_failed", "{body}");
    let read = until_status(
        &service,
        "alice",
        body["request_id"].as_str().unwrap(),
        "failed",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        read["error"]
            .as_str()
            .unwrap()
            .contains("connection failed"),
        "{read}"
    );
    fake.restart().await.unwrap();
    assert_eq!(
        common::sync(&client, &service, "alice", "hello")
            .await
            .status(),
        200
    );
}

/// A raw connection to the service.
fn raw(service: &Service) -> TcpStream {
    let address = service.base_url.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[tokio::test]
async fn idle_sockets_cannot_starve_the_service_under_a_low_open_files_limit() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let service = spawn_with_open_files(&service_env(&db, &backend, port()), Some(256)).await;
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(service.base_url.trim_start_matches("http://")).ok())
        .collect();
    assert!(idle.len() >= 250, "{} sockets", idle.len());
    let started = Instant::now();
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(service.url("/health"))
        .send()
        .await
        .expect("/health answers");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        service.logs().contains("connection cap reached"),
        "{}",
        service.logs()
    );
    drop(idle);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let mut env = service_env(&db, &backend, port());
    env.push(("HEADER_READ_TIMEOUT", "1".into()));
    let service = spawn(&env).await;
    let mut slow = raw(&service);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );
    let mut silent = raw(&service);
    let started = Instant::now();
    let _ = silent.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a silent connection too"
    );
}

#[tokio::test]
async fn idle_keepalive_connections_do_not_hold_up_sigterm() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let mut env = service_env(&db, &backend, port());
    env.push(("SHUTDOWN_TIMEOUT", "30".into()));
    let service = spawn(&env).await;
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = raw(&service);
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut answer = [0u8; 512];
            let read = stream.read(&mut answer).unwrap();
            assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
            stream
        })
        .collect();
    let started = Instant::now();
    service.terminate();
    let (status, output) = service.finish().await;
    assert!(status.success(), "{output}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "exit took {:?}",
        started.elapsed()
    );
    drop(idle);
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once_in_json_and_counted() {
    let db = migrated_database().await;
    let backend = fake_llamastack().await;
    let service = spawn(&service_env(&db, &backend, port())).await;
    let mut stream = raw(&service);
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/requests/generic/sync HTTP/1.1\r\nHost: x\r\nx-user-id: alice\r\n\
              content-type: application/json\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}",
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("\"error\":\"payload_too_large\""),
        "{answer}"
    );
    let metrics = reqwest::get(service.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("status=\"413\""), "{metrics}");
}

async fn exit_of(env: &[(&str, String)]) -> (Option<i32>, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn every_bad_duration_and_key_file_exits_78_naming_the_variable_or_line() {
    let base = vec![("LLAMA_STACK_URL", "http://127.0.0.1:1".to_owned())];
    for (var, value) in [
        ("REQUEST_TIMEOUT", "18446744073709551615"),
        ("SHUTDOWN_TIMEOUT", "-1"),
        ("HEADER_READ_TIMEOUT", "0"),
        ("KEEPALIVE_TIMEOUT", "soon"),
        ("BODY_READ_TIMEOUT", "NaN"),
        ("WORKER_POLL_INTERVAL", "0"),
        ("DB_POOL_RECYCLE", "1e30"),
    ] {
        let mut env = base.clone();
        env.push((var, value.to_owned()));
        let (code, stderr) = exit_of(&env).await;
        assert_eq!(code, Some(78), "{var}={value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let key = "a-key-of-twenty-characters";
    for (name, text, line) in [
        ("long", format!("{} {key}\n", "u".repeat(300)), "line 1"),
        ("twice", format!("alice {key}\nbob {key}\n"), "line 2"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut env = base.clone();
        env.push(("AUTH_MODE", "api-key".to_owned()));
        env.push(("API_KEYS_FILE", path.display().to_string()));
        let (code, stderr) = exit_of(&env).await;
        assert_eq!(code, Some(78), "{name}: {stderr}");
        assert!(
            stderr.contains("API_KEYS_FILE") && stderr.contains(line),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains(key), "the key is never quoted: {stderr}");
    }
}
