//! Where each agent's conversation stands on the model server: the response
//! chains kept in the session row, continued, repaired when the server lost
//! one, and begun anew for sessions of the release before the Responses
//! runtime.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ROUTING_GREETING, start};
use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use serde_json::Value;
use shared_clients::llamastack::{InputItem, Role};

fn user_texts(input: &[InputItem]) -> Vec<String> {
    input
        .iter()
        .filter_map(|item| match item {
            InputItem::Message {
                role: Role::User,
                content,
            } => Some(content.clone()),
            _ => None,
        })
        .collect()
}

async fn execute(app: &common::TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    app.state
        .db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_chain_starts_by_saying_who_is_asking_and_the_next_turn_continues_it() {
    let app = start().await;

    let (status, first) = app.send("alice@example.com", "hello").await;
    assert_eq!(status, 200, "{first}");
    let calls = app.fake.responses_received();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].previous_response_id, None);
    let texts = user_texts(&calls[0].input);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("authenticated as 'alice@example.com'"),
        "{texts:?}"
    );
    assert_eq!(texts[1], "hello");

    app.fake.clear_requests();
    let (status, _) = app.send("alice@example.com", "and then?").await;
    assert_eq!(status, 200);
    let calls = app.fake.responses_received();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].previous_response_id.is_some(), "the chain goes on");
    assert_eq!(user_texts(&calls[0].input), vec!["and then?".to_owned()]);
}

#[tokio::test]
async fn a_chain_the_server_lost_is_begun_anew_and_the_request_succeeds() {
    let app = start().await;
    let (_, first) = app.send("alice", "hello").await;
    let session_id = first["session_id"].as_str().unwrap().to_owned();
    execute(
        &app,
        "UPDATE request_sessions SET conversation_context = jsonb_set(\
           conversation_context::jsonb, '{responses,routing-agent}', '\"resp_gone\"')::json \
         WHERE session_id = $1",
        vec![session_id.into()],
    )
    .await;
    app.fake.clear_requests();

    let (status, body) = app.send("alice", "hello again").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["content"], ROUTING_GREETING);
    let calls = app.fake.responses_received();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0].previous_response_id.as_deref(), Some("resp_gone"));
    assert_eq!(calls[1].previous_response_id, None);
    let texts = user_texts(&calls[1].input);
    assert!(
        texts[0].contains("began earlier") && texts[0].contains("routing-agent"),
        "{texts:?}"
    );
    assert_eq!(texts[1], "hello again");
}

#[tokio::test]
async fn a_session_of_the_release_before_goes_on_with_its_agent_in_a_new_chain() {
    let app = start().await;
    let (_, first) = app.send("alice", "hello").await;
    let session_id = first["session_id"].as_str().unwrap().to_owned();
    // What the release on the Agents API left: its LlamaStack sessions, the
    // agent by name, and no response chain.
    execute(
        &app,
        "UPDATE request_sessions SET current_agent_id = 'laptop-refresh', \
           conversation_context = (conversation_context::jsonb - 'responses' \
             || '{\"llama_stack_sessions\": {\"laptop-refresh\": {\"agent_id\": \"a1\", \
                 \"session_id\": \"s1\"}}}'::jsonb)::json \
         WHERE session_id = $1",
        vec![session_id.into()],
    )
    .await;
    app.fake.clear_requests();

    let (status, body) = app.send("alice", "Which models are there?").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["agent_id"], "laptop-refresh");
    let calls = app.fake.responses_received();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].previous_response_id, None);
    let texts = user_texts(&calls[0].input);
    assert!(
        texts[0].contains("was last with the laptop-refresh agent"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_route_to_line_still_hands_over_for_models_without_tool_calling() {
    let app = start().await;
    app.fake
        .set_reply("routing-agent", |_| "ROUTE_TO: laptop-refresh".into());

    let (status, body) = app.send("alice", "my laptop is old").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["agent_id"], "laptop-refresh");
    assert_eq!(
        body["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"])
    );
}

#[tokio::test]
async fn hand_offs_are_bounded_per_request() {
    let app = common::start_with(|config| config.max_agent_handoffs = 1).await;
    // Each agent hands straight back to the other.
    app.fake.set_agent_responder("laptop-refresh", |input| {
        if input.function_output().is_some() {
            test_support::fake_llamastack::Scripted::Text("ok".into())
        } else {
            test_support::fake_llamastack::Scripted::FunctionCall {
                name: "transfer_to_routing-agent".into(),
                arguments: serde_json::json!({}),
            }
        }
    });

    let (status, body) = app.send("alice", "I need a new laptop").await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"])
    );
    assert_eq!(body["response"]["agent_id"], "laptop-refresh");
}

#[tokio::test]
async fn the_answer_records_its_token_usage_and_the_tools_that_ran() {
    let app = start().await;
    let laptop = test_support::agent_assets::TestAgent::new("laptop-refresh")
        .hands_off_to(&["routing-agent"])
        .with_mcp_servers(&["snow"]);
    let assets = &app.assets;
    assets.write_mcp_server("snow", "http://127.0.0.1:9/mcp");
    assets.write_agent(&laptop);
    let reloaded = agent_runtime::reload(&app.state.runtime, assets.path()).await;
    assert!(
        matches!(reloaded, agent_runtime::Reloaded::Replaced { .. }),
        "{reloaded:?}"
    );
    app.fake.set_agent_responder("laptop-refresh", |_| {
        test_support::fake_llamastack::Scripted::McpCall {
            server_label: "snow".into(),
            name: "open_laptop_refresh_ticket".into(),
            arguments: serde_json::json!({}),
            output: "Ticket Number: REQ0010001".into(),
            text: "Your ticket is REQ0010001.".into(),
        }
    });

    let (status, body) = app.send("alice", "I need a new laptop").await;

    assert_eq!(status, 200, "{body}");
    let metadata = &body["response"]["metadata"];
    let usage = &metadata["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0, "{metadata}");
    assert!(usage["output_tokens"].as_u64().unwrap() > 0, "{metadata}");
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap())
    );
    assert_eq!(
        usage["calls"], 3,
        "routing, laptop-refresh, the transfer answered"
    );
    let tools: Vec<&Value> = metadata["tool_calls"].as_array().unwrap().iter().collect();
    assert_eq!(tools.len(), 1, "{metadata}");
    assert_eq!(tools[0]["agent"], "laptop-refresh");
    assert_eq!(tools[0]["server"], "snow");
    assert_eq!(tools[0]["name"], "open_laptop_refresh_ticket");
    let sent = app.fake.responses_received();
    let laptop_call = sent
        .iter()
        .find(|call| call.instructions.as_deref() == Some("You are the laptop-refresh."))
        .unwrap();
    let headers = laptop_call
        .tools
        .iter()
        .find_map(|tool| match tool {
            shared_clients::llamastack::Tool::Mcp {
                headers,
                server_label,
                ..
            } if server_label == "snow" => Some(headers.clone()),
            _ => None,
        })
        .expect("the snow MCP server is offered");
    assert_eq!(
        headers.get("AUTHORITATIVE_USER_ID").map(String::as_str),
        Some("alice")
    );
}
