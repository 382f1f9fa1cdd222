//! Clients of the running service: the Python request-manager client, the
//! `chat` subcommand and the `healthcheck` probe.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;

use common::{fake_llamastack, migrate, port, service_env, spawn};
use test_support::test_database;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_client_written_for_the_python_request_manager_works_unchanged() {
    let db = test_database().await.unwrap();
    migrate(&db.url()).await;
    let backend = fake_llamastack().await;
    let service = spawn(&service_env(&db, &backend, port())).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/request_manager_client.py"
    );

    let output = tokio::process::Command::new("python3")
        .args([script, &service.base_url, "dana"])
        .output()
        .await
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["first_agent"], "laptop-refresh");
    assert_eq!(result["first_answer"], "laptop agent: I need a new laptop");
    assert_eq!(result["request_status"], "completed");
    assert_eq!(result["reset_status"], "INACTIVE");
    assert_eq!(result["second_answer"], "Hello from the routing agent");
    assert_ne!(result["first_session"], result["second_session"]);
}

#[tokio::test]
async fn chat_talks_to_the_agents_resets_and_quits() {
    let db = test_database().await.unwrap();
    migrate(&db.url()).await;
    let backend = fake_llamastack().await;
    let service = spawn(&service_env(&db, &backend, port())).await;

    let mut chat = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
        .args(["chat", "--url", &service.base_url, "--user-id", "erin"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = chat.stdin.take().unwrap();
    stdin
        .write_all(b"hello\nI need a new laptop\nwhat now?\nreset\nhello\nquit\n")
        .await
        .unwrap();
    drop(stdin);
    let output = chat.wait_with_output().await.unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: Vec<&str> = stdout
        .lines()
        .flat_map(|line| line.split("> "))
        .filter(|part| {
            part.starts_with("agent: ") || part.starts_with("Session reset") || *part == "bye!"
        })
        .collect();
    assert_eq!(
        answers,
        [
            "agent: Hello from the routing agent",
            "agent: laptop agent: I need a new laptop",
            "agent: laptop agent: what now?",
            "Session reset; the next message starts a new one.",
            "agent: Hello from the routing agent",
            "bye!",
        ],
        "{stdout}"
    );
}

#[tokio::test]
async fn healthcheck_exits_0_when_ready_and_69_when_not() {
    let db = test_database().await.unwrap();
    migrate(&db.url()).await;
    let backend = fake_llamastack().await;
    let fake = &backend.fake;
    let service = spawn(&service_env(&db, &backend, port())).await;
    let probe = |url: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
            .args(["healthcheck", "--url", &url])
            .env_clear()
            .output()
            .await
            .unwrap()
    };

    assert!(probe(service.url("/ready")).await.status.success());
    fake.stop().await;
    let output = probe(service.url("/ready")).await;
    assert_eq!(output.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&output.stderr).contains("503"));
}
