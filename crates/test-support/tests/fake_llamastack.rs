//! The fake LlamaStack behaves like the real servers where our code can
//! tell, in both flavours: driven through the project's own client, and
//! compared with the wire the real servers sent
//! (`crates/shared-clients/tests/data/`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared_clients::llamastack::{
    ApiBase, AttachFile, CreateResponse, CreateVectorStore, InputItem, JsonObject,
    LlamaStackClient, LlamaStackConfig, LlamaStackError, ModelType, ResponsesFailure, StreamEvent,
    Tool,
};
use test_support::fake_llamastack::{
    ChainItem, DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM, FakeLlamaStack, Flavor, Scripted,
    instructions_for, routing,
};

const FLAVORS: [Flavor; 2] = [Flavor::V0_2_18, Flavor::Current];

async fn fake(flavor: Flavor) -> FakeLlamaStack {
    FakeLlamaStack::builder()
        .flavor(flavor)
        .start()
        .await
        .expect("fake")
}

fn client(fake: &FakeLlamaStack) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&fake.url())
        .expect("fake URL")
        .with_retries(2, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(5));
    LlamaStackClient::new(config).expect("client")
}

fn ask(text: &str) -> CreateResponse {
    CreateResponse::new(DEFAULT_LLM, vec![InputItem::user(text)])
}

fn snow(request: &mut CreateResponse) {
    request.tools.push(Tool::mcp(
        "snow",
        "http://snow:8000/mcp",
        BTreeMap::from([(
            "AUTHORITATIVE_USER_ID".to_owned(),
            "alice@example.com".to_owned(),
        )]),
    ));
}

fn transfer_tool(target: &str) -> Tool {
    Tool::function(
        format!("transfer_to_{target}"),
        format!("Hand the user over to the {target} agent"),
        json!({"type": "object", "properties": {}}),
    )
}

/// The response and the events heard.
async fn respond(
    client: &LlamaStackClient,
    request: &CreateResponse,
) -> (
    Result<shared_clients::llamastack::ResponseObject, LlamaStackError>,
    Vec<StreamEvent>,
) {
    let mut events = Vec::new();
    let outcome = client
        .create_response(request, |event| events.push(event))
        .await;
    (outcome, events)
}

/// The `type`s of a streamed answer (a missing one as `-`).
async fn raw_stream_types(fake: &FakeLlamaStack, request: &CreateResponse) -> Vec<String> {
    let mut body = serde_json::to_value(request).expect("serializable");
    body["stream"] = json!(true);
    let text = reqwest::Client::new()
        .post(format!("{}{}/responses", fake.url(), fake.api_base()))
        .json(&body)
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("body");
    event_types(&text)
}

/// The `type`s of the events of `stream`, a run of text deltas as one
/// (the number of tokens depends on the text).
fn event_types(stream: &str) -> Vec<String> {
    let mut types: Vec<String> = stream
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| {
            let event: Value = serde_json::from_str(data).expect("JSON event");
            event["type"].as_str().unwrap_or("-").to_owned()
        })
        .collect();
    types.dedup_by(|a, b| a == b && a.as_str() == "response.output_text.delta");
    types
}

fn recorded_types(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared-clients/tests/data")
        .join(file);
    event_types(&std::fs::read_to_string(&path).expect("recorded wire"))
}

#[tokio::test]
async fn streams_follow_the_recorded_event_order_of_each_server() {
    for (flavor, tag) in [
        (Flavor::V0_2_18, "0.2.18"),
        (Flavor::Current, "0.7.3"),
        (Flavor::Current, "ogx-1.5.0"),
    ] {
        let fake = fake(flavor).await;
        assert_eq!(
            raw_stream_types(&fake, &ask("hello stream")).await,
            recorded_types(&format!("{tag}-text.sse")),
            "{tag} text"
        );
        fake.set_responder(|_| Scripted::FunctionCall {
            name: "transfer_to_agent".into(),
            arguments: json!({"agent_name": "laptop-refresh"}),
        });
        let mut request = ask("please transfer me");
        request.tools.push(transfer_tool("agent"));
        assert_eq!(
            raw_stream_types(&fake, &request).await,
            recorded_types(&format!("{tag}-function.sse")),
            "{tag} function"
        );
        fake.set_responder(|_| Scripted::McpCall {
            server_label: "snow".into(),
            name: "get_employee_laptop_info".into(),
            arguments: json!({}),
            output: "LAPTOP-INFO".into(),
            text: "FINAL after tool".into(),
        });
        let mut request = ask("what is my laptop?");
        snow(&mut request);
        assert_eq!(
            raw_stream_types(&fake, &request).await,
            recorded_types(&format!("{tag}-mcp.sse")),
            "{tag} mcp"
        );
    }
}

#[tokio::test]
async fn the_client_finds_each_flavours_api_base_and_models() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let client = client(&fake);
        let base = client.api_base().await.expect("found");
        assert_eq!(base.path(), fake.api_base());
        assert_eq!(base.is_legacy_0_2(), flavor == Flavor::V0_2_18);
        let models = client.list_models().await.expect("models");
        assert_eq!(models[0].id, DEFAULT_LLM);
        assert_eq!(models[1].model_type, ModelType::Embedding);
        assert_eq!(models[1].embedding_dimension, Some(384));
        assert_eq!(
            client.server_version().await.as_deref(),
            Some(flavor.version())
        );
    }
}

#[tokio::test]
async fn the_default_model_echoes_and_usage_counts_words_on_current_servers() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let (outcome, events) = respond(&client(&fake), &ask("my laptop is old")).await;
        let response = outcome.expect("completed");
        assert_eq!(response.output_text(), "my laptop is old");
        assert_eq!(events.last(), Some(&StreamEvent::Completed));
        match flavor {
            Flavor::V0_2_18 => {
                assert!(response.id.starts_with("resp-"));
                assert_eq!(response.usage, None);
            }
            Flavor::Current => {
                assert!(response.id.starts_with("resp_"));
                let usage = response.usage.expect("usage");
                assert_eq!((usage.input_tokens, usage.output_tokens), (4, 4));
                assert_eq!(usage.total_tokens, 8);
            }
        }
    }
}

#[tokio::test]
async fn agents_are_scripted_by_the_sentence_of_their_instructions() {
    let fake = fake(Flavor::Current).await;
    fake.set_reply("laptop-refresh", |message| format!("laptop: {message}"));
    fake.set_reply("laptop-refresh-v2", |_| "v2".to_owned());
    let client = client(&fake);
    let mut request = ask("hi");
    request.instructions = Some(format!("{} Be brief.", instructions_for("laptop-refresh")));
    let (outcome, _) = respond(&client, &request).await;
    assert_eq!(outcome.expect("answer").output_text(), "laptop: hi");
    request.instructions = Some(FakeLlamaStack::instructions_for("laptop-refresh-v2"));
    let (outcome, _) = respond(&client, &request).await;
    assert_eq!(outcome.expect("answer").output_text(), "v2");
    request.instructions = Some("You are someone else.".into());
    let (outcome, _) = respond(&client, &request).await;
    assert_eq!(outcome.expect("answer").output_text(), "hi", "echo");
}

#[tokio::test]
async fn a_hand_off_round_trip_answers_the_function_call_output() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let router = routing("laptop-refresh", "laptop");
        fake.set_agent_responder("routing-agent", move |input| router(input));
        let client = client(&fake);
        let mut request = ask("I need a new laptop");
        request.instructions = Some(instructions_for("routing-agent"));
        request.tools.push(transfer_tool("laptop-refresh"));
        let (outcome, events) = respond(&client, &request).await;
        let first = outcome.expect("function call");
        let calls = first.function_calls();
        assert_eq!(calls.len(), 1, "{flavor:?}");
        assert_eq!(calls[0].name, "transfer_to_laptop-refresh");
        assert!(events.contains(&StreamEvent::ToolCall {
            server_label: None,
            name: "transfer_to_laptop-refresh".into()
        }));
        let mut answer = CreateResponse::new(
            DEFAULT_LLM,
            vec![InputItem::function_call_output(
                calls[0].call_id.clone(),
                "{\"transferred\": true}",
            )],
        );
        answer.previous_response_id = Some(first.id.clone());
        answer.instructions = request.instructions.clone();
        answer.tools = request.tools.clone();
        let (outcome, _) = respond(&client, &answer).await;
        assert_eq!(
            outcome.expect("text").output_text(),
            "Transferring you to the laptop-refresh agent."
        );
    }
}

#[tokio::test]
async fn a_chained_turn_shows_the_model_the_whole_chain() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let seen: Arc<Mutex<Vec<ChainItem>>> = Arc::default();
        let log = Arc::clone(&seen);
        fake.set_responder(move |input| {
            *log.lock().expect("log") = input.history.clone();
            Scripted::Text(format!(
                "answer to {}",
                input.last_user_text().unwrap_or("?")
            ))
        });
        let client = client(&fake);
        let (first, _) = respond(&client, &ask("turn one: my name is Bob")).await;
        let first = first.expect("first");
        let mut second = ask("turn two: what is my name?");
        second.previous_response_id = Some(first.id.clone());
        let (outcome, _) = respond(&client, &second).await;
        let response = outcome.expect("second");
        assert_eq!(
            response.output_text(),
            "answer to turn two: what is my name?"
        );
        let history = seen.lock().expect("log").clone();
        assert_eq!(history.len(), 2, "{flavor:?}: {history:?}");
        assert_eq!(
            history[0],
            ChainItem::Input(InputItem::user("turn one: my name is Bob"))
        );
        assert!(matches!(&history[1], ChainItem::Output(_)));
        let echoed = response.previous_response_id.as_deref();
        match flavor {
            Flavor::V0_2_18 => assert_eq!(echoed, None, "0.2.18 does not echo it"),
            Flavor::Current => assert_eq!(echoed, Some(first.id.as_str())),
        }
        let stored = &fake.snapshot().responses[&response.id];
        assert_eq!(
            stored.request.previous_response_id.as_deref(),
            Some(first.id.as_str())
        );
    }
}

#[tokio::test]
async fn an_unknown_previous_response_is_answered_as_each_server_does() {
    for (flavor, status) in [(Flavor::V0_2_18, 400), (Flavor::Current, 404)] {
        let fake = fake(flavor).await;
        let mut request = ask("hello again");
        request.previous_response_id = Some("resp_gone".into());
        let (outcome, events) = respond(&client(&fake), &request).await;
        let error = outcome.expect_err("unknown");
        assert_eq!(
            error.responses_failure(),
            ResponsesFailure::UnknownPreviousResponse
        );
        assert!(events.is_empty());
        let answer = reqwest::Client::new()
            .post(format!("{}{}/responses", fake.url(), fake.api_base()))
            .json(&request)
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status().as_u16(), status, "{flavor:?} non-streamed");
    }
}

#[tokio::test]
async fn model_ids_are_checked_as_each_server_does() {
    let bare = DEFAULT_LLM.split_once('/').expect("prefixed").1;
    let legacy = fake(Flavor::V0_2_18).await;
    let mut request = ask("hi");
    request.model = bare.into();
    let (outcome, _) = respond(&client(&legacy), &request).await;
    outcome.expect("0.2.18 takes the bare name");
    let current = fake(Flavor::Current).await;
    let (outcome, _) = respond(&client(&current), &request).await;
    let error = outcome.expect_err("only listed ids");
    assert_eq!(error.responses_failure(), ResponsesFailure::UnknownModel);
    assert!(error.to_string().contains(bare), "{error}");
}

#[tokio::test]
async fn the_tools_and_headers_sent_are_recorded_not_called() {
    let fake = fake(Flavor::Current).await;
    fake.set_responder(|input| Scripted::McpCall {
        server_label: "snow".into(),
        name: "open_laptop_refresh_ticket".into(),
        arguments: json!({"laptop": "MacBook Air M3"}),
        output: "REQ0010001".into(),
        text: format!("Ticket REQ0010001 for {}", input.model),
    });
    let mut request = ask("open a ticket");
    snow(&mut request);
    let (outcome, events) = respond(&client(&fake), &request).await;
    let response = outcome.expect("completed");
    assert_eq!(
        response.output_text(),
        format!("Ticket REQ0010001 for {DEFAULT_LLM}")
    );
    assert!(events.contains(&StreamEvent::ToolCall {
        server_label: Some("snow".into()),
        name: "open_laptop_refresh_ticket".into()
    }));
    let received = fake.responses_received();
    assert_eq!(received.len(), 1);
    assert!(received[0].stream, "the client streams");
    let Tool::Mcp { headers, .. } = &received[0].tools[0] else {
        panic!("an MCP tool: {:?}", received[0].tools);
    };
    assert_eq!(headers["AUTHORITATIVE_USER_ID"], "alice@example.com");
}

#[tokio::test]
async fn an_unreachable_mcp_server_fails_the_turn_naming_its_url() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        fake.fail_mcp("snow");
        let mut request = ask("what is my laptop?");
        request
            .tools
            .push(Tool::mcp("info", "http://info:8000/mcp", BTreeMap::new()));
        snow(&mut request);
        let (outcome, _) = respond(&client(&fake), &request).await;
        let error = outcome.expect_err("MCP down");
        assert_eq!(
            error.responses_failure(),
            ResponsesFailure::McpUnreachable {
                server_url: Some("http://snow:8000/mcp".into())
            },
            "{flavor:?}"
        );
        fake.restore_mcp("snow");
        let (outcome, _) = respond(&client(&fake), &request).await;
        outcome.expect("reachable again");
    }
}

#[tokio::test]
async fn a_non_streamed_502_resets_the_connection_at_its_next_request() {
    let fake = fake(Flavor::Current).await;
    fake.fail_mcp("snow");
    let mut request = ask("what is my laptop?");
    snow(&mut request);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let answer = http
        .post(format!("{}/v1/responses", fake.url()))
        .json(&request)
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status().as_u16(), 502);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(
        body["error"]["message"],
        json!("Failed to connect to MCP server at http://snow:8000/mcp: Connection refused")
    );
    let next = http.get(format!("{}/v1/health", fake.url())).send().await;
    assert!(
        next.is_err(),
        "the kept-alive connection is reset: {next:?}"
    );
    let fresh = http.get(format!("{}/v1/health", fake.url())).send().await;
    assert_eq!(fresh.expect("a new connection").status().as_u16(), 200);
}

#[tokio::test]
async fn function_tools_need_a_description_on_0_2_18_only() {
    for (flavor, status) in [(Flavor::V0_2_18, 400), (Flavor::Current, 200)] {
        let fake = fake(flavor).await;
        let body = json!({"model": DEFAULT_LLM, "input": "hi",
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]});
        let answer = reqwest::Client::new()
            .post(format!("{}{}/responses", fake.url(), fake.api_base()))
            .json(&body)
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status().as_u16(), status, "{flavor:?}");
    }
}

#[tokio::test]
async fn tokens_stream_one_by_one_with_the_token_delay() {
    let fake = fake(Flavor::Current).await;
    fake.set_token_delay(Duration::from_millis(120));
    let started = Instant::now();
    let arrivals = Mutex::new(Vec::new());
    client(&fake)
        .create_response(&ask("one two three four five"), |event| {
            if matches!(event, StreamEvent::TextDelta(_)) {
                arrivals.lock().expect("log").push(started.elapsed());
            }
        })
        .await
        .expect("completed");
    let arrivals = arrivals.into_inner().expect("log");
    assert_eq!(arrivals.len(), 5);
    // Each token waits for its own delay: the first comes four delays
    // before the last, not with it.
    assert!(arrivals[0] >= Duration::from_millis(120), "{arrivals:?}");
    assert!(
        arrivals[4] - arrivals[0] >= Duration::from_millis(480),
        "{arrivals:?}"
    );
}

#[tokio::test]
async fn failed_and_cut_responses_are_errors_and_not_stored() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let client = client(&fake);
        fake.fail_next_responses(1, "the model is overloaded");
        let (outcome, _) = respond(&client, &ask("hi")).await;
        let error = outcome.expect_err("failed");
        assert!(
            error.to_string().contains("the model is overloaded"),
            "{error}"
        );
        fake.truncate_next_responses(1);
        let (outcome, events) = respond(&client, &ask("hi there")).await;
        let error = outcome.expect_err("cut");
        assert!(
            matches!(error, LlamaStackError::StreamEnded { .. }),
            "{error}"
        );
        assert!(!events.contains(&StreamEvent::Completed));
        assert!(fake.snapshot().responses.is_empty(), "{flavor:?}");
        let (outcome, _) = respond(&client, &ask("and now")).await;
        outcome.expect("served again");
    }
}

#[tokio::test]
async fn a_stored_response_is_read_back_and_an_unknown_one_is_not_found() {
    let fake = fake(Flavor::Current).await;
    let (outcome, _) = respond(&client(&fake), &ask("keep me")).await;
    let response = outcome.expect("completed");
    let http = reqwest::Client::new();
    let stored: Value = http
        .get(format!("{}/v1/responses/{}", fake.url(), response.id))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stored["id"], json!(response.id));
    assert_eq!(stored["output"][0]["content"][0]["text"], json!("keep me"));
    let missing = http
        .get(format!("{}/v1/responses/resp_x", fake.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn file_search_finds_the_attached_files_and_unknown_stores_find_nothing() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let client = client(&fake);
        let store = client
            .create_vector_store(&CreateVectorStore {
                name: "laptop-refresh".into(),
                metadata: JsonObject::new(),
                embedding_model: Some(DEFAULT_EMBEDDING_MODEL.into()),
                embedding_dimension: None,
                provider_id: None,
            })
            .await
            .expect("store");
        let file = client
            .upload_file(
                "policy.txt",
                b"Laptops are refreshed every 3 years.",
                "assistants",
            )
            .await
            .expect("file");
        client
            .attach_file(
                &store.id,
                &AttachFile {
                    file_id: file.id,
                    attributes: JsonObject::new(),
                },
            )
            .await
            .expect("attached");
        fake.set_responder(|_| Scripted::FileSearch {
            query: "laptops policy".into(),
            text: "Every 3 years.".into(),
        });
        let mut request = ask("how often?");
        request
            .tools
            .push(Tool::file_search(vec![store.id.clone(), "vs_gone".into()]));
        let (outcome, events) = respond(&client, &request).await;
        let response = outcome.expect("completed");
        assert_eq!(response.output_text(), "Every 3 years.");
        assert!(events.contains(&StreamEvent::ToolCall {
            server_label: None,
            name: "file_search".into()
        }));
        let stored = &fake.snapshot().responses[&response.id].object;
        let results = stored["output"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{flavor:?}");
        assert_eq!(
            results[0]["text"],
            json!("Laptops are refreshed every 3 years.")
        );
    }
}

#[tokio::test]
async fn vector_stores_keep_metadata_and_file_attributes_under_the_base() {
    for flavor in FLAVORS {
        let fake = fake(flavor).await;
        let client = client(&fake);
        let mut metadata = JsonObject::new();
        metadata.insert("managed_by".into(), json!("register-assets"));
        let store = client
            .create_vector_store(&CreateVectorStore {
                name: "kb".into(),
                metadata,
                embedding_model: Some(DEFAULT_EMBEDDING_MODEL.into()),
                embedding_dimension: Some(384),
                provider_id: Some("faiss".into()),
            })
            .await
            .expect("store");
        assert!(store.id.starts_with("vs_"));
        assert_eq!(store.metadata["managed_by"], json!("register-assets"));
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
        let vector_dbs = client.list_vector_dbs().await.expect("dbs");
        assert_eq!(
            vector_dbs.len(),
            usize::from(flavor == Flavor::V0_2_18),
            "{flavor:?}"
        );
        client
            .detach_file(&store.id, &file.id)
            .await
            .expect("detached");
        client.delete_file(&file.id).await.expect("deleted");
        client
            .delete_vector_store(&store.id)
            .await
            .expect("store deleted");
        let error = client
            .delete_vector_store(&store.id)
            .await
            .expect_err("gone");
        assert_eq!(
            error.responses_failure(),
            ResponsesFailure::UnknownVectorStore
        );
        let base = format!("{}/", fake.api_base());
        assert!(
            fake.requests()
                .iter()
                .filter(|request| request.path.contains("files")
                    || request.path.contains("vector_stores"))
                .all(|request| request.path.starts_with(&base)),
            "{flavor:?}: {:?}",
            fake.requests()
        );
    }
}

#[tokio::test]
async fn listing_follows_every_page() {
    let fake = fake(Flavor::Current).await;
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
async fn the_legacy_listings_exist_on_0_2_18_only() {
    let legacy = fake(Flavor::V0_2_18).await;
    let agent = legacy.add_legacy_agent("routing-agent");
    legacy.add_legacy_toolgroup("mcp::snow", Some("http://snow:8000/mcp"));
    legacy.add_legacy_vector_db("laptop-refresh");
    let client = client(&legacy);
    let agents = client.list_agents().await.expect("agents");
    assert_eq!(agents[0].name.as_deref(), Some("routing-agent"));
    client.delete_agent(&agent).await.expect("deleted");
    assert_eq!(
        client
            .delete_agent(&agent)
            .await
            .expect_err("again")
            .status(),
        Some(400)
    );
    client
        .unregister_toolgroup("mcp::snow")
        .await
        .expect("deleted");
    client
        .unregister_vector_db("laptop-refresh")
        .await
        .expect("deleted");
    assert_eq!(legacy.counters().deleted("agent"), 1);
    let current = fake(Flavor::Current).await;
    current.add_legacy_agent("routing-agent");
    let client = self::client(&current);
    assert!(client.list_agents().await.expect("404 is none").is_empty());
    assert!(
        client
            .list_toolgroups()
            .await
            .expect("404 is none")
            .is_empty()
    );
}

#[tokio::test]
async fn injected_statuses_answer_the_next_requests_then_are_spent() {
    let fake = fake(Flavor::Current).await;
    fake.fail_next("/v1/models", 2);
    let client = client(&fake);
    let models = client.list_models().await.expect("third attempt");
    assert_eq!(models.len(), 2);
    fake.fail_next_with(Some("DELETE"), "/v1/files/{id}", 1, 413);
    assert_eq!(fake.pending_faults(), 1);
    let error = client.delete_file("file-1").await.expect_err("injected");
    assert_eq!(error.status(), Some(413), "4xx: not retried");
    assert_eq!(fake.pending_faults(), 0);
    fake.fail_next_with(Some("GET"), "/v1/models", 5, 500);
    fake.clear_faults();
    client.list_models().await.expect("cleared");
}

#[tokio::test]
async fn a_stopped_fake_refuses_connections_and_restarts_with_its_state() {
    let fake = fake(Flavor::Current).await;
    let client = client(&fake);
    let (outcome, _) = respond(&client, &ask("remember me")).await;
    let first = outcome.expect("completed");
    fake.stop().await;
    assert!(!fake.is_running());
    let error = client.list_files().await.expect_err("down");
    assert!(error.is_unavailable(), "{error}");
    fake.restart().await.expect("restart");
    let mut next = ask("again");
    next.previous_response_id = Some(first.id);
    let (outcome, _) = respond(&client, &next).await;
    outcome.expect("the chain survived the restart");
}

#[tokio::test]
async fn latency_and_turn_latency_delay_answers() {
    let fake = fake(Flavor::Current).await;
    fake.set_latency(Duration::from_millis(100));
    fake.set_turn_latency(Duration::from_millis(150));
    let client = client(&fake);
    let started = Instant::now();
    client.list_providers().await.expect("providers");
    assert!(started.elapsed() >= Duration::from_millis(100));
    let started = Instant::now();
    let (outcome, _) = respond(&client, &ask("slow")).await;
    outcome.expect("completed");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn an_upload_of_several_megabytes_is_taken_like_the_real_server_takes_it() {
    // axum's default body limit (2 MB) would answer 413; LlamaStack takes it.
    let fake = fake(Flavor::Current).await;
    let content = vec![b'a'; 5 * 1024 * 1024];
    let file = client(&fake)
        .upload_file("big.txt", &content, "assistants")
        .await
        .expect("uploaded");
    let stored = &fake.snapshot().files[&file.id];
    assert_eq!(stored.object["filename"], json!("big.txt"));
    assert_eq!(stored.content.len(), content.len());
}

#[test]
fn the_api_base_is_one_of_the_clients() {
    assert_eq!(Flavor::V0_2_18.api_base(), ApiBase::legacy().path());
    assert_eq!(Flavor::Current.api_base(), ApiBase::current().path());
}
