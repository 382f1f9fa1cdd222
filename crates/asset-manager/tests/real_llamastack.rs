//! Reconciling against a real LlamaStack 0.2.18 (`RealLlamaStack`: the
//! provisioned venv, our OpenAI-compatible stub behind `remote::vllm`).
//! Skipped visibly when the venv is missing, unless `SSA_REQUIRE_ALL=1`.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use asset_manager::{Options, Summary, load, reconcile};
use serde_json::json;
use shared_clients::llamastack::{AgentToolgroup, LlamaStackClient, LlamaStackConfig};
use test_support::RealLlamaStack;

/// Everything reconciling may touch, as ids and contents, for before/after comparisons.
async fn server_state(client: &LlamaStackClient) -> Vec<String> {
    let mut state = BTreeSet::new();
    for agent in client.list_agents().await.expect("agents") {
        state.insert(format!(
            "agent {} {}",
            agent.agent_id,
            serde_json::to_string(&agent.agent_config).expect("json")
        ));
    }
    for group in client.list_toolgroups().await.expect("toolgroups") {
        state.insert(format!(
            "toolgroup {} {:?}",
            group.identifier, group.mcp_endpoint
        ));
    }
    for db in client.list_vector_dbs().await.expect("vector dbs") {
        state.insert(format!(
            "vector-db {} {}",
            db.identifier, db.embedding_model
        ));
    }
    for store in client.list_vector_stores().await.expect("stores") {
        state.insert(format!("vector-store {} {:?}", store.id, store.metadata));
        for file in client
            .list_vector_store_files(&store.id)
            .await
            .expect("files")
        {
            state.insert(format!(
                "store-file {} {} {:?}",
                store.id, file.id, file.attributes
            ));
        }
    }
    for file in client.list_files().await.expect("files") {
        state.insert(format!("file {} {}", file.id, file.filename));
    }
    state.into_iter().collect()
}

#[tokio::test]
async fn the_fixture_registers_into_a_real_llamastack_and_a_rerun_is_a_no_op() {
    let test = "the_fixture_registers_into_a_real_llamastack_and_a_rerun_is_a_no_op";
    if !RealLlamaStack::available_or_skip(test) {
        return;
    }
    let dir = common::fixture_assets(test).unwrap_or_else(|| {
        eprintln!("[{test}] using the project's own assets/config instead of the fixture");
        common::project_assets()
    });
    let stack = tokio::task::spawn_blocking(RealLlamaStack::start)
        .await
        .expect("start task")
        .expect("real LlamaStack starts");
    eprintln!("[{test}] LlamaStack started in {:?}", stack.startup_time());
    let config = LlamaStackConfig::for_url(stack.url())
        .expect("url")
        .with_timeout(Duration::from_secs(60));
    let client = LlamaStackClient::new(config).expect("client");
    let assets = load(&dir).expect("valid assets");

    let started = Instant::now();
    let first = reconcile(&client, &assets, Options::default())
        .await
        .expect("planned");
    let failures: Vec<_> = first.failures().collect();
    assert!(
        failures.is_empty(),
        "{failures:?}\nserver log:\n{}",
        stack.server_log()
    );
    assert_eq!(
        first.summary,
        Summary {
            created: 6,
            replaced: 0,
            unchanged: 0,
            pruned: 0,
            failed: 0
        }
    );
    eprintln!("[{test}] first registration: {:?}", started.elapsed());

    let agents = client.list_agents().await.expect("GET /v1/agents");
    let mut names: Vec<&str> = agents.iter().filter_map(|a| a.name()).collect();
    names.sort();
    assert_eq!(names, ["laptop-refresh", "routing-agent"]);
    let laptop = agents
        .iter()
        .find(|a| a.name() == Some("laptop-refresh"))
        .expect("laptop-refresh");
    assert_eq!(
        serde_json::to_value(&laptop.agent_config.toolgroups).expect("json"),
        json!([
            {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["laptop-refresh"]}},
            "mcp::employee-info",
            "mcp::snow"
        ])
    );
    let router = agents
        .iter()
        .find(|a| a.name() == Some("routing-agent"))
        .expect("routing-agent");
    assert!(router.agent_config.toolgroups.is_empty());
    assert!(matches!(
        &laptop.agent_config.toolgroups[0],
        AgentToolgroup::WithArgs { .. }
    ));

    let session = client
        .create_session(&router.agent_id, "test")
        .await
        .expect("session");
    let answer = client
        .run_turn(&router.agent_id, &session, "I need a new laptop")
        .await
        .expect("a streamed turn on the routing agent");
    assert!(!answer.content.is_empty(), "the turn returned text");

    let before = server_state(&client).await;
    let started = Instant::now();
    let second = reconcile(&client, &assets, Options::default())
        .await
        .expect("planned");
    eprintln!("[{test}] no-op re-run: {:?}", started.elapsed());
    assert_eq!(
        second.summary,
        Summary {
            created: 0,
            replaced: 0,
            unchanged: 6,
            pruned: 0,
            failed: 0
        },
        "{:?}",
        second.outcomes
    );
    assert_eq!(
        server_state(&client).await,
        before,
        "the re-run changed the server"
    );
}

#[tokio::test]
async fn a_vector_db_missing_beside_its_complete_store_is_rebuilt_on_a_real_llamastack() {
    let test = "a_vector_db_missing_beside_its_complete_store_is_rebuilt_on_a_real_llamastack";
    if !RealLlamaStack::available_or_skip(test) {
        return;
    }
    let stack = tokio::task::spawn_blocking(RealLlamaStack::start)
        .await
        .expect("start task")
        .expect("real LlamaStack starts");
    let config = LlamaStackConfig::for_url(stack.url())
        .expect("url")
        .with_timeout(Duration::from_secs(60));
    let client = LlamaStackClient::new(config).expect("client");
    let assets = load(&common::project_assets()).expect("valid assets");
    let first = reconcile(&client, &assets, Options::default())
        .await
        .expect("planned");
    assert_eq!(first.check(), Ok(()), "server log:\n{}", stack.server_log());
    let registered = server_state(&client).await;

    // What a run whose vector DB step failed leaves once its store is
    // complete: the store unchanged, its vector DB missing. Runs used to
    // fail here forever ("its vector store is missing").
    client
        .unregister_vector_db("laptop-refresh")
        .await
        .expect("unregister");

    let repair = reconcile(&client, &assets, Options::default())
        .await
        .expect("planned");
    assert_eq!(
        repair.check(),
        Ok(()),
        "server log:\n{}",
        stack.server_log()
    );
    assert_eq!(
        (repair.summary.created, repair.summary.unchanged),
        (1, 5),
        "the vector DB is rebuilt, the rest left alone: {}",
        repair.summary
    );
    let repaired = server_state(&client).await;
    assert_eq!(
        repaired.len(),
        registered.len(),
        "as many objects as the first registration made"
    );
    let after = reconcile(&client, &assets, Options::default())
        .await
        .expect("planned");
    assert_eq!(
        after.summary.unchanged,
        after.outcomes.len(),
        "{}",
        after.summary
    );
    assert_eq!(server_state(&client).await, repaired, "nothing changed");
}
