//! End to end against a real LlamaStack 0.2.18 (started by the test
//! harness, with our OpenAI-compatible stub for inference): the project's
//! own asset directory is reconciled into it, then the service binary
//! answers a laptop request through the routing agent's hand-off.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{migrate, port, spawn};
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use test_support::llamastack::RealLlamaStack;
use test_support::test_database;

/// Copies `assets/config` and points each MCP toolgroup at a stub MCP
/// server of its own (the real server lists an MCP server's tools on every
/// turn, and tool names must differ across an agent's toolgroups).
fn asset_dir_for(llama: &RealLlamaStack) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config");
    let target = test_support::fixtures::copy_of(&source);
    let toolgroups = target.path().join("toolgroups");
    for entry in std::fs::read_dir(&toolgroups).unwrap() {
        let path = entry.unwrap().path();
        let server = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let rewritten: String = text
            .lines()
            .map(|line| {
                if line.starts_with("uri:") {
                    format!("uri: \"{}\"\n", llama.named_mcp_url(&server))
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(&path, rewritten).unwrap();
    }
    target
}

#[tokio::test]
async fn a_laptop_request_is_handed_to_the_laptop_agent_by_a_real_llamastack() {
    if !RealLlamaStack::available_or_skip(
        "a_laptop_request_is_handed_to_the_laptop_agent_by_a_real_llamastack",
    ) {
        return;
    }
    let llama = tokio::task::spawn_blocking(RealLlamaStack::shared)
        .await
        .unwrap()
        .unwrap();
    let assets_dir = asset_dir_for(llama);
    let assets = asset_manager::load(assets_dir.path()).unwrap();
    let client = LlamaStackClient::new(LlamaStackConfig::for_url(llama.url()).unwrap()).unwrap();
    let report = asset_manager::reconcile(&client, &assets, asset_manager::Options::default())
        .await
        .unwrap();
    assert_eq!(
        report.failures().count(),
        0,
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );

    let db = test_database().await.unwrap();
    migrate(&db.url()).await;
    let mut env = db.env();
    env.push(("LLAMA_STACK_URL", llama.url().to_owned()));
    env.push(("LISTEN_ADDR", format!("127.0.0.1:{}", port())));
    let service = spawn(&env).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    assert_eq!(
        http.get(service.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let answer: serde_json::Value = common::sync(&http, &service, "frank", "I need a new laptop")
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(answer["response"]["agent_id"], "laptop-refresh", "{answer}");
    assert_eq!(
        answer["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"])
    );
    assert!(
        answer["response"]["content"]
            .as_str()
            .is_some_and(|text| text.contains("I need a new laptop")),
        "{answer}"
    );

    let next: serde_json::Value = common::sync(&http, &service, "frank", "and when?")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["session_id"], answer["session_id"]);
    assert_eq!(next["response"]["agent_id"], "laptop-refresh", "{next}");
}
