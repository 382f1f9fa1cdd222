//! The asset directory as the runtime loads and reloads it.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use agent_runtime::{Catalog, CatalogError, Reloaded, Runtime, RuntimeSettings, reload};
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use test_support::agent_assets::{TestAgent, TestAssets};

fn runtime(assets: &TestAssets) -> Runtime {
    let catalog = Catalog::load(assets.path(), "routing-agent").unwrap();
    // Never called: loading and reloading ask no server.
    let client =
        LlamaStackClient::new(LlamaStackConfig::for_url("http://127.0.0.1:9").unwrap()).unwrap();
    Runtime::new(
        client,
        catalog,
        RuntimeSettings {
            max_handoffs: 3,
            mcp_auth_token: None,
            vector_store_recheck: RuntimeSettings::DEFAULT_VECTOR_STORE_RECHECK,
        },
    )
}

#[test]
fn the_routing_agent_must_be_an_agent_of_the_directory() {
    let assets = TestAssets::empty().agent(&TestAgent::new("laptop-refresh"));

    let error = Catalog::load(assets.path(), "routing-agent").unwrap_err();

    assert!(
        matches!(error, CatalogError::NoRoutingAgent { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("ROUTING_AGENT: no agent named 'routing-agent'"),
        "{message}"
    );
    assert!(message.contains("(agents: laptop-refresh)"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn a_hand_off_to_an_unknown_agent_names_the_file_and_the_field() {
    let assets =
        TestAssets::empty().agent(&TestAgent::new("routing-agent").hands_off_to(&["nobody"]));

    let error = Catalog::load(assets.path(), "routing-agent")
        .unwrap_err()
        .to_string();

    assert!(error.contains("agents/routing-agent.yaml"), "{error}");
    assert!(error.contains("handoffs"), "{error}");
    assert!(error.contains("nobody"), "{error}");
}

#[test]
fn a_prompt_file_per_model_wins_over_the_agent_prompt_and_the_yaml() {
    let assets = TestAssets::routing_and_laptop()
        .prompt("laptop-refresh.txt", "the agent's prompt")
        .prompt("laptop-refresh-llama-3-3-70b.txt", "the 70B prompt");
    let catalog = Catalog::load(assets.path(), "routing-agent").unwrap();
    let agent = catalog.agent("laptop-refresh").unwrap();

    assert_eq!(
        catalog.instructions(agent, "vllm/llama-3-3-70b"),
        "the 70B prompt"
    );
    assert_eq!(
        catalog.instructions(agent, "vllm/other"),
        "the agent's prompt"
    );
    let routing = catalog.agent("routing-agent").unwrap();
    assert_eq!(
        catalog.instructions(routing, "vllm/other"),
        "You are the routing-agent."
    );
}

#[tokio::test]
async fn a_changed_prompt_is_in_force_after_a_reload_and_a_broken_directory_keeps_the_agents() {
    let assets = TestAssets::routing_and_laptop();
    let runtime = runtime(&assets);
    assert!(matches!(
        reload(&runtime, assets.path()).await,
        Reloaded::Unchanged
    ));

    assets.write("prompts/laptop-refresh.txt", "New laptop rules.");
    assert!(matches!(
        reload(&runtime, assets.path()).await,
        Reloaded::Replaced { .. }
    ));
    let catalog = runtime.catalog();
    let agent = catalog.agent("laptop-refresh").unwrap();
    assert_eq!(catalog.instructions(agent, "m"), "New laptop rules.");

    assets.write("agents/routing-agent.yaml", "name: [not a string\n");
    match reload(&runtime, assets.path()).await {
        Reloaded::Failed(error) => {
            assert!(
                error.to_string().contains("agents/routing-agent.yaml"),
                "{error}"
            )
        }
        other => panic!("expected a failed reload, got {other:?}"),
    }
    let kept = runtime.catalog();
    assert_eq!(
        kept.instructions(kept.agent("laptop-refresh").unwrap(), "m"),
        "New laptop rules."
    );
    assert!(kept.agent("routing-agent").is_some());
}

#[tokio::test]
async fn the_watcher_puts_a_saved_change_in_force_without_waiting_for_its_interval() {
    let assets = TestAssets::routing_and_laptop();
    let runtime = Arc::new(runtime(&assets));
    let (tell, mut reloads) = tokio::sync::mpsc::unbounded_channel();
    let watching = agent_runtime::watch(
        runtime.clone(),
        assets.path_buf(),
        Duration::from_secs(3600),
        move |reloaded| {
            if matches!(reloaded, Reloaded::Replaced { .. }) {
                let _ = tell.send(());
            }
        },
    );
    // The watcher is in place once the task ran.
    tokio::time::sleep(Duration::from_millis(300)).await;

    assets.write("prompts/routing-agent.txt", "Route everything.");

    tokio::time::timeout(Duration::from_secs(10), reloads.recv())
        .await
        .expect("reloaded within 10 s, long before the hourly read");
    let catalog = runtime.catalog();
    assert_eq!(
        catalog.instructions(catalog.agent("routing-agent").unwrap(), "m"),
        "Route everything."
    );
    watching.abort();
}
