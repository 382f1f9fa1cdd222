//! The fake LlamaStack behaves like the real one where our code can tell:
//! driven through the project's own client.

use std::time::{Duration, Instant};

use serde_json::json;
use shared_clients::llamastack::{
    AgentConfig, AgentToolgroup, AttachFile, CreateVectorStore, JsonObject, LlamaStackClient,
    LlamaStackConfig, LlamaStackError, RegisterToolgroup, RegisterVectorDb,
};
use test_support::fake_llamastack::{DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM, FakeLlamaStack};

fn client(fake: &FakeLlamaStack) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&fake.url())
        .expect("fake URL")
        .with_retries(2, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(5));
    LlamaStackClient::new(config).expect("client")
}

fn agent_config(name: &str) -> AgentConfig {
    serde_json::from_value(json!({
        "name": name, "model": DEFAULT_LLM, "instructions": "You route users.",
        "toolgroups": [{"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["kb"]}}, "mcp::snow"],
        "tool_config": {"tool_choice": "required"},
        "sampling_params": {"strategy": {"type": "top_p", "temperature": 0.1}, "max_tokens": 4000},
    }))
    .expect("agent config")
}

/// A new agent of [`agent_config`]`(name)`: its id.
async fn agent(client: &LlamaStackClient, name: &str) -> String {
    client
        .create_agent(&agent_config(name))
        .await
        .expect("agent")
}

/// A new agent of [`agent_config`]`(name)` and a session of it: their ids.
async fn agent_with_session(client: &LlamaStackClient, name: &str) -> (String, String) {
    let agent = agent(client, name).await;
    let session = client.create_session(&agent, "s").await.expect("session");
    (agent, session)
}

#[tokio::test]
async fn an_agent_is_stored_with_the_servers_defaults_and_compares_equal() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let sent = agent_config("laptop-refresh");
    let id = client.create_agent(&sent).await.expect("created");
    let stored = client.get_agent(&id).await.expect("found");
    let raw = &fake.snapshot().agents[&id]["agent_config"];
    assert_eq!(raw["sampling_params"]["strategy"]["top_p"], json!(0.95));
    assert_eq!(
        raw["tool_config"]["system_message_behavior"],
        json!("append")
    );
    assert_eq!(raw["max_infer_iters"], json!(10));
    assert!(stored.agent_config.same_agent_as(&sent));
    assert!(
        matches!(&stored.agent_config.toolgroups[1], AgentToolgroup::Name(name) if name == "mcp::snow")
    );
    assert_eq!(fake.counters().created("agent"), 1);
}

#[tokio::test]
async fn scripted_replies_answer_turns_per_agent_name() {
    let fake = FakeLlamaStack::start().await;
    fake.set_reply("routing-agent", |_config, message| {
        if message.contains("laptop") {
            "ROUTE_TO: laptop-refresh".to_owned()
        } else {
            "How can I help?".to_owned()
        }
    });
    let client = client(&fake);
    let (router, session) = agent_with_session(&client, "routing-agent").await;
    let answer = client
        .run_turn(&router, &session, "my laptop is slow")
        .await
        .expect("turn");
    assert_eq!(answer.content, "ROUTE_TO: laptop-refresh");
    let (other, session) = agent_with_session(&client, "laptop-refresh").await;
    let echo = client
        .run_turn(&other, &session, "hello there")
        .await
        .expect("turn");
    assert_eq!(echo.content, "hello there", "the default reply echoes");
    assert_eq!(fake.counters().turns, 2);
    assert_eq!(
        fake.snapshot().sessions[&session].turns,
        vec![("hello there".to_owned(), "hello there".to_owned())]
    );
}

#[tokio::test]
async fn injected_turn_errors_and_cut_streams_reach_the_client() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let (agent, session) = agent_with_session(&client, "a").await;
    fake.fail_next_turns(1, "model overloaded");
    fake.truncate_next_turns(1);
    let failed = client
        .run_turn(&agent, &session, "hi")
        .await
        .expect_err("error event");
    assert!(
        matches!(&failed, LlamaStackError::TurnFailed { message, .. } if message == "model overloaded")
    );
    let cut = client
        .run_turn(&agent, &session, "hi")
        .await
        .expect_err("no turn_complete");
    assert!(
        matches!(cut, LlamaStackError::TurnIncomplete { .. }),
        "{cut}"
    );
    assert_eq!(
        client
            .run_turn(&agent, &session, "ok")
            .await
            .expect("healthy again")
            .content,
        "ok"
    );
}

#[tokio::test]
async fn non_streaming_turns_answer_501_like_0_2_18() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let (agent, session) = agent_with_session(&client, "a").await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/agents/{agent}/session/{session}/turn",
            fake.url()
        ))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}], "stream": false}))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 501);
}

#[tokio::test]
async fn injected_5xx_are_retried_by_the_client() {
    let fake = FakeLlamaStack::start().await;
    fake.fail_next("/v1/models", 2);
    let models = client(&fake).list_models().await.expect("third attempt");
    assert_eq!(models.len(), 2);
    let attempts = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/models")
        .count();
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn a_fault_on_a_route_answers_for_every_id_and_then_is_spent() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let id = agent(&client, "a").await;
    fake.fail_next_with(Some("DELETE"), "/v1/agents/{id}", 1, 413);
    assert_eq!(fake.pending_faults(), 1);
    let error = client.delete_agent(&id).await.expect_err("injected");
    assert_eq!(error.status(), Some(413), "4xx: not retried");
    assert_eq!(fake.pending_faults(), 0);
    client
        .delete_agent(&id)
        .await
        .expect("the next one is served");
}

#[tokio::test]
async fn cleared_faults_are_never_answered() {
    let fake = FakeLlamaStack::start().await;
    fake.fail_next_with(Some("GET"), "/v1/models", 5, 500);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);
    client(&fake).list_models().await.expect("served");
}

#[tokio::test]
async fn an_upload_of_several_megabytes_is_taken_like_the_real_server_takes_it() {
    // axum's default body limit (2 MB) would answer 413; LlamaStack takes it.
    let fake = FakeLlamaStack::start().await;
    let content = vec![b'a'; 5 * 1024 * 1024];
    let file = client(&fake)
        .upload_file("big.txt", &content, "assistants")
        .await
        .expect("uploaded");
    let stored = &fake.snapshot().files[&file.id];
    assert_eq!(stored.object["filename"], json!("big.txt"));
    assert_eq!(stored.content.len(), content.len());
}

#[tokio::test]
async fn a_stopped_fake_refuses_connections_and_restarts_with_its_state() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let id = agent(&client, "a").await;
    fake.stop().await;
    let error = client.list_agents().await.expect_err("down");
    assert!(error.is_unavailable(), "{error}");
    fake.restart().await.expect("restart");
    let agents = client.list_agents().await.expect("up again");
    assert_eq!(agents[0].agent_id, id);
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let fake = FakeLlamaStack::start().await;
    fake.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    client(&fake).list_providers().await.expect("providers");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_vector_store_registers_its_vector_db_and_keeps_file_attributes() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let mut metadata = JsonObject::new();
    metadata.insert("managed_by".into(), json!("register-assets"));
    let store = client
        .create_vector_store(&CreateVectorStore {
            name: "laptop-refresh".into(),
            metadata,
            embedding_model: Some(DEFAULT_EMBEDDING_MODEL.into()),
            embedding_dimension: Some(384),
            provider_id: Some("faiss".into()),
        })
        .await
        .expect("store");
    assert!(store.id.starts_with("vs_"));
    assert_eq!(store.metadata["managed_by"], json!("register-assets"));
    let dbs = client.list_vector_dbs().await.expect("dbs");
    assert!(
        dbs.iter().any(|db| db.identifier == store.id
            && db.vector_db_name.as_deref() == Some("laptop-refresh"))
    );
    let file = client
        .upload_file("policy.txt", b"three years", "assistants")
        .await
        .expect("file");
    let mut attributes = JsonObject::new();
    attributes.insert("sha256".into(), json!("abc"));
    client
        .attach_file(
            &store.id,
            &AttachFile {
                file_id: file.id.clone(),
                attributes,
            },
        )
        .await
        .expect("attached");
    let files = client
        .list_vector_store_files(&store.id)
        .await
        .expect("files");
    assert_eq!(files[0].attributes["sha256"], json!("abc"));
    assert_eq!(fake.snapshot().files[&file.id].content, b"three years");
    client
        .detach_file(&store.id, &file.id)
        .await
        .expect("detached");
    client.delete_file(&file.id).await.expect("deleted");
    client
        .delete_vector_store(&store.id)
        .await
        .expect("store deleted");
    assert!(client.list_vector_dbs().await.expect("dbs").is_empty());
}

#[tokio::test]
async fn listing_follows_every_page() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    for index in 0..130 {
        client
            .upload_file(&format!("f{index}.txt"), b"x", "assistants")
            .await
            .expect("file");
    }
    assert_eq!(client.list_files().await.expect("files").len(), 130);
}

#[tokio::test]
async fn registrations_validate_like_the_real_server() {
    let fake = FakeLlamaStack::start().await;
    let client = client(&fake);
    let unknown_model = client
        .register_vector_db(&RegisterVectorDb {
            vector_db_id: "kb".into(),
            embedding_model: "nope".into(),
            embedding_dimension: 384,
            provider_id: "faiss".into(),
        })
        .await
        .expect_err("unknown embedding model");
    assert_eq!(unknown_model.status(), Some(404));
    client
        .register_toolgroup(&RegisterToolgroup::mcp("snow", "http://snow:8000/sse"))
        .await
        .expect("registered");
    let group = &fake.snapshot().toolgroups["mcp::snow"];
    assert_eq!(group["mcp_endpoint"]["uri"], json!("http://snow:8000/sse"));
    assert_eq!(group["provider_id"], json!("model-context-protocol"));
    let missing = client
        .delete_agent("no-such-agent")
        .await
        .expect_err("missing agent");
    assert_eq!(missing.status(), Some(400));
}
