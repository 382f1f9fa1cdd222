//! One message through the agents, against the fake LlamaStack of
//! test-support in both of its flavours (0.2.18, and the current servers).

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agent_runtime::{
    Catalog, Chains, Identity, Runtime, RuntimeSettings, TurnError, TurnOutcome, TurnRequest,
};
use secrecy::SecretString;
use serde_json::json;
use shared_clients::llamastack::{
    CreateResponse, CreateVectorStore, LlamaStackClient, LlamaStackConfig, Tool,
};
use test_support::agent_assets::{TestAgent, TestAssets};
use test_support::fake_llamastack::{FakeLlamaStack, Flavor, Scripted};

const ALICE: &str = "alice@example.com";

struct World {
    fake: FakeLlamaStack,
    client: LlamaStackClient,
    runtime: Runtime,
    _assets: TestAssets,
}

async fn world(flavor: Flavor, assets: TestAssets, recheck: Duration) -> World {
    let fake = FakeLlamaStack::builder()
        .flavor(flavor)
        .start()
        .await
        .unwrap();
    let client = LlamaStackClient::new(
        LlamaStackConfig::for_url(&fake.url())
            .unwrap()
            .with_retries(1, Duration::from_millis(10)),
    )
    .unwrap();
    let runtime = Runtime::new(
        client.clone(),
        Catalog::load(assets.path(), "routing-agent").unwrap(),
        RuntimeSettings {
            max_handoffs: 3,
            mcp_auth_token: Some(SecretString::from("mcp-secret")),
            vector_store_recheck: recheck,
        },
    );
    World {
        fake,
        client,
        runtime,
        _assets: assets,
    }
}

/// The routing agent hands laptop questions to laptop-refresh, which has
/// the snow MCP server and the laptop knowledge base.
fn laptop_assets() -> TestAssets {
    TestAssets::empty()
        .mcp_server("snow", "http://127.0.0.1:9/mcp")
        .agent(&TestAgent::new("routing-agent").hands_off_to(&["laptop-refresh"]))
        .agent(
            &TestAgent::new("laptop-refresh")
                .hands_off_to(&["routing-agent"])
                .with_mcp_servers(&["snow"])
                .with_knowledge_bases(&["laptops"])
                .with_model("llama-3-3-70b-instruct-w8a8"),
        )
        .document("laptops", "catalog.txt", "ThinkPad T14 for Europe")
}

fn script_routing(fake: &FakeLlamaStack) {
    fake.set_agent_responder("routing-agent", |input| {
        if input.function_output().is_some() {
            Scripted::Text("Transferring you.".into())
        } else if input.offers_function("transfer_to_laptop-refresh") {
            Scripted::FunctionCall {
                name: "transfer_to_laptop-refresh".into(),
                arguments: json!({}),
            }
        } else {
            Scripted::Text("no transfer tool".into())
        }
    });
}

async fn managed_store(client: &LlamaStackClient, knowledge_base: &str) -> String {
    let mut metadata = serde_json::Map::new();
    metadata.insert("managed_by".into(), json!(asset_manager::MANAGED_BY));
    metadata.insert("knowledge_base".into(), json!(knowledge_base));
    client
        .create_vector_store(&CreateVectorStore {
            name: knowledge_base.into(),
            metadata,
            embedding_model: None,
            embedding_dimension: None,
            provider_id: None,
        })
        .await
        .unwrap()
        .id
}

async fn send(
    world: &World,
    message: &str,
    chains: &Chains,
    agent: Option<&str>,
) -> Result<TurnOutcome, agent_runtime::TurnFailure> {
    let identity = Identity {
        user_id: ALICE.into(),
        email: None,
    };
    world
        .runtime
        .turn(TurnRequest {
            identity: &identity,
            message,
            agent,
            chains,
            resumed: false,
            events: None,
        })
        .await
}

fn call_of<'a>(calls: &'a [CreateResponse], agent: &str) -> Vec<&'a CreateResponse> {
    let instructions = format!("You are the {agent}.");
    calls
        .iter()
        .filter(|call| call.instructions.as_deref() == Some(instructions.as_str()))
        .collect()
}

async fn the_laptop_request_is_handed_over_with_the_tools_of_the_specialist(flavor: Flavor) {
    let world = world(flavor, laptop_assets(), Duration::from_secs(60)).await;
    let store = managed_store(&world.client, "laptops").await;
    script_routing(&world.fake);
    world
        .fake
        .set_reply("laptop-refresh", |message| format!("about {message}"));

    let outcome = send(&world, "I need a new laptop", &Chains::default(), None)
        .await
        .unwrap();

    assert_eq!(outcome.agent, "laptop-refresh");
    assert_eq!(outcome.path, vec!["routing-agent", "laptop-refresh"]);
    assert_eq!(outcome.content, "about I need a new laptop");
    let calls = world.fake.responses_received();
    let routing = call_of(&calls, "routing-agent");
    assert_eq!(routing.len(), 2, "the transfer and its answer: {calls:#?}");
    let transfer = routing[0].tools.iter().find_map(|tool| match tool {
        Tool::Function {
            name, description, ..
        } => Some((name.clone(), description.clone())),
        _ => None,
    });
    let (name, description) = transfer.unwrap();
    assert_eq!(name, "transfer_to_laptop-refresh");
    assert!(
        description.contains("The laptop-refresh of the tests."),
        "{description}"
    );
    // The call is answered on the routing agent's chain, so the chain
    // stays valid for its next turn.
    assert!(routing[1].previous_response_id.is_some());
    assert!(
        matches!(
            routing[1].input.as_slice(),
            [shared_clients::llamastack::InputItem::FunctionCallOutput { .. }]
        ),
        "{:?}",
        routing[1].input
    );
    let laptop = call_of(&calls, "laptop-refresh");
    assert_eq!(laptop.len(), 1);
    assert_eq!(
        laptop[0].model, "vllm/llama-3-3-70b-instruct-w8a8",
        "the bare name resolved"
    );
    let mut offered = Vec::new();
    for tool in &laptop[0].tools {
        match tool {
            Tool::Mcp {
                server_label,
                headers,
                authorization,
                ..
            } => {
                assert_eq!(
                    headers.get("AUTHORITATIVE_USER_ID").map(String::as_str),
                    Some(ALICE)
                );
                // 0.2.18 takes the token as a header; the current servers
                // refuse it there and take the tool's `authorization`
                let (header, field) = match flavor {
                    Flavor::V0_2_18 => (Some("Bearer mcp-secret"), None),
                    _ => (None, Some("mcp-secret")),
                };
                assert_eq!(headers.get("Authorization").map(String::as_str), header);
                assert_eq!(authorization.as_deref(), field);
                offered.push(format!("mcp:{server_label}"));
            }
            Tool::FileSearch { vector_store_ids } => {
                assert_eq!(vector_store_ids, &vec![store.clone()]);
                offered.push("file_search".into());
            }
            Tool::Function { name, .. } => offered.push(name.clone()),
        }
    }
    assert_eq!(
        offered,
        vec!["mcp:snow", "file_search", "transfer_to_routing-agent"]
    );
    let debug = format!("{:?}", laptop[0]);
    assert!(
        !debug.contains("mcp-secret"),
        "header values stay out of Debug: {debug}"
    );
    assert!(outcome.chains.last("routing-agent").is_some());
    assert_eq!(
        outcome.chains.last("laptop-refresh"),
        Some(outcome.response_id.as_str())
    );
}

#[tokio::test]
async fn the_laptop_request_is_handed_over_on_a_current_server() {
    the_laptop_request_is_handed_over_with_the_tools_of_the_specialist(Flavor::Current).await;
}

#[tokio::test]
async fn the_laptop_request_is_handed_over_on_0_2_18() {
    the_laptop_request_is_handed_over_with_the_tools_of_the_specialist(Flavor::V0_2_18).await;
}

#[tokio::test]
async fn a_model_the_server_does_not_list_fails_the_turn_naming_it() {
    let assets =
        TestAssets::empty().agent(&TestAgent::new("routing-agent").with_model("gpt-nonexistent"));
    let world = world(Flavor::Current, assets, Duration::from_secs(60)).await;

    let failure = send(&world, "hello", &Chains::default(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(failure.error, TurnError::Model { .. }),
        "{:?}",
        failure.error
    );
    let message = failure.error.to_string();
    assert!(
        message.contains("routing-agent") && message.contains("gpt-nonexistent"),
        "{message}"
    );
    assert!(
        world.fake.responses_received().is_empty(),
        "no call with a model it would refuse"
    );
}

#[tokio::test]
async fn a_knowledge_base_without_a_vector_store_fails_the_turn_clearly() {
    let world = world(Flavor::Current, laptop_assets(), Duration::from_secs(60)).await;

    let failure = send(&world, "hi", &Chains::default(), Some("laptop-refresh"))
        .await
        .unwrap_err();

    let message = failure.error.to_string();
    assert!(
        message.contains("knowledge base 'laptops' has no vector store"),
        "{message}"
    );
}

#[tokio::test]
async fn a_vector_store_replaced_behind_the_service_is_found_again_by_name() {
    let world = world(Flavor::Current, laptop_assets(), Duration::ZERO).await;
    let old = managed_store(&world.client, "laptops").await;
    send(&world, "hi", &Chains::default(), Some("laptop-refresh"))
        .await
        .unwrap();
    world.client.delete_vector_store(&old).await.unwrap();
    let new = managed_store(&world.client, "laptops").await;
    world.fake.clear_requests();

    send(
        &world,
        "hi again",
        &Chains::default(),
        Some("laptop-refresh"),
    )
    .await
    .unwrap();

    let calls = world.fake.responses_received();
    let searched = calls[0].tools.iter().find_map(|tool| match tool {
        Tool::FileSearch { vector_store_ids } => Some(vector_store_ids.clone()),
        _ => None,
    });
    assert_eq!(searched, Some(vec![new]));

    world
        .client
        .delete_vector_store(&calls_store(&calls))
        .await
        .unwrap();
    let failure = send(
        &world,
        "and now?",
        &Chains::default(),
        Some("laptop-refresh"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(failure.error, TurnError::NoVectorStore { .. }),
        "{:?}",
        failure.error
    );
}

fn calls_store(calls: &[CreateResponse]) -> String {
    calls[0]
        .tools
        .iter()
        .find_map(|tool| match tool {
            Tool::FileSearch { vector_store_ids } => vector_store_ids.first().cloned(),
            _ => None,
        })
        .unwrap()
}

async fn an_unreachable_mcp_server_is_named(flavor: Flavor) {
    let world = world(flavor, laptop_assets(), Duration::from_secs(60)).await;
    managed_store(&world.client, "laptops").await;
    world.fake.fail_mcp("snow");

    let failure = tokio::time::timeout(
        Duration::from_secs(20),
        send(&world, "hi", &Chains::default(), Some("laptop-refresh")),
    )
    .await
    .expect("no hang")
    .unwrap_err();

    assert_eq!(failure.agent, "laptop-refresh");
    let message = failure.error.to_string();
    assert!(message.contains("MCP server"), "{message}");
    assert!(message.contains("snow"), "{message}");
}

#[tokio::test]
async fn an_unreachable_mcp_server_is_named_on_a_current_server() {
    an_unreachable_mcp_server_is_named(Flavor::Current).await;
}

#[tokio::test]
async fn an_unreachable_mcp_server_is_named_on_0_2_18() {
    an_unreachable_mcp_server_is_named(Flavor::V0_2_18).await;
}

#[tokio::test]
async fn the_answer_streams_as_it_is_made() {
    let world = world(
        Flavor::Current,
        TestAssets::empty().agent(&TestAgent::new("routing-agent")),
        Duration::from_secs(60),
    )
    .await;
    world
        .fake
        .set_reply("routing-agent", |_| "one two three four".into());
    let deltas = std::sync::Mutex::new(Vec::new());
    let identity = Identity {
        user_id: ALICE.into(),
        email: None,
    };
    let tell = |event: agent_runtime::TurnEvent| {
        if let agent_runtime::TurnEvent::Delta(text) = event {
            deltas.lock().unwrap().push(text);
        }
    };

    let outcome = world
        .runtime
        .turn(TurnRequest {
            identity: &identity,
            message: "hi",
            agent: None,
            chains: &Chains::default(),
            resumed: false,
            events: Some(&tell),
        })
        .await
        .unwrap();

    let deltas = deltas.into_inner().unwrap();
    assert!(deltas.len() > 1, "{deltas:?}");
    assert_eq!(deltas.concat(), outcome.content);
}

/// LlamaStack 0.2.18 answers 500 to a response chained after one with MCP
/// or file-search output; the runtime begins the agent's chain anew there
/// (and only there: a 500 from a current server is a failure).
async fn a_500_on_a_chained_turn(
    flavor: Flavor,
) -> (
    Result<TurnOutcome, agent_runtime::TurnFailure>,
    Vec<CreateResponse>,
) {
    let world = world(
        flavor,
        TestAssets::empty().agent(&TestAgent::new("routing-agent")),
        Duration::from_secs(60),
    )
    .await;
    let first = send(&world, "hello", &Chains::default(), None)
        .await
        .unwrap();
    let path = format!("{}/responses", world.fake.api_base());
    world.fake.fail_next_with(Some("POST"), &path, 1, 500);
    world.fake.clear_requests();

    let outcome = send(&world, "again", &first.chains, None).await;

    (outcome, world.fake.responses_received())
}

#[tokio::test]
async fn a_chain_0_2_18_cannot_continue_is_begun_anew() {
    let (outcome, calls) = a_500_on_a_chained_turn(Flavor::V0_2_18).await;
    assert_eq!(outcome.unwrap().content, "again");
    let last = calls.last().unwrap();
    assert_eq!(last.previous_response_id, None, "a new chain: {calls:#?}");
    assert!(
        matches!(&last.input[0], shared_clients::llamastack::InputItem::Message { content, .. }
            if content.contains("began earlier")),
        "{:?}",
        last.input
    );
}

#[tokio::test]
async fn a_500_from_a_current_server_fails_the_turn() {
    let (outcome, calls) = a_500_on_a_chained_turn(Flavor::Current).await;
    let failure = outcome.unwrap_err();
    assert_eq!(failure.error.kind(), "server", "{}", failure.error);
    assert!(
        calls.iter().all(|call| call.previous_response_id.is_some()),
        "{calls:#?}"
    );
}
