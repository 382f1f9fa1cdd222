//! MCP, function and file_search tools.

use std::io::Write as _;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;

use test_support::openai_stub::script::TRANSFER_TO_LAPTOP_REFRESH;

use crate::common::*;

pub async fn a_streamed_response_calls_an_mcp_tool_with_the_request_headers(api: Api) {
    let server = unique("srv");
    let streamed = api
        .stream(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": "echo this",
            "tools": [{
                "type": "mcp",
                "server_label": "stub",
                "server_url": api.stack.named_mcp_url(&server),
                "headers": {"AUTHORITATIVE_USER_ID": "alice.johnson@example.com"},
            }],
        }))
        .await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert!(
        streamed.content_type.starts_with("text/event-stream"),
        "{}",
        streamed.content_type
    );
    assert!(
        streamed.other_lines.is_empty(),
        "{:?}",
        streamed.other_lines
    );
    let kinds: Vec<&str> = streamed
        .events
        .iter()
        .map(|event| event["type"].as_str().expect("every event has a type"))
        .collect();
    // 0.2.18 numbers every event but the first and the last
    let unnumbered: Vec<&str> = streamed
        .events
        .iter()
        .filter(|event| !event["sequence_number"].is_u64())
        .filter_map(|event| event["type"].as_str())
        .collect();
    match api.version() {
        ServerVersion::V0_2_18 => assert_eq!(
            unnumbered,
            ["response.created", "response.completed"],
            "{kinds:?}"
        ),
        _ => assert!(unnumbered.is_empty(), "{unnumbered:?}"),
    }
    assert_eq!(kinds.first(), Some(&"response.created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{kinds:?}");
    for expected in [
        "response.mcp_list_tools.completed",
        "response.mcp_call.completed",
        "response.output_text.delta",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let response = &streamed.events.last().expect("events")["response"];
    let call = &items(response, "mcp_call")[0];
    assert_eq!(call["name"], format!("{server}_echo"));
    assert_eq!(call["output"], "echo this");
    assert_eq!(output_text(response), format!("{server}_echo: echo this"));
    // every request to the MCP server carried the header
    let path = format!("/mcp/{server}");
    let requests: Vec<_> = api
        .stack
        .stub()
        .mcp_requests()
        .into_iter()
        .filter(|request| request.path == path)
        .collect();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert!(
        methods.contains(&"tools/list") && methods.contains(&"tools/call"),
        "{methods:?}"
    );
    for request in &requests {
        assert_eq!(
            request.header("AUTHORITATIVE_USER_ID"),
            Some("alice.johnson@example.com"),
            "{request:?}"
        );
    }
}

pub async fn a_function_call_is_answered_through_previous_response_id(api: Api) {
    let tools = json!([{
        "type": "function",
        "name": TRANSFER_TO_LAPTOP_REFRESH,
        "description": "Hand the conversation over to the laptop refresh agent.",
        "parameters": {"type": "object", "properties": {}},
    }]);
    let instructions = "You are a routing agent.";
    let first = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "instructions": instructions,
            "input": "I need a new laptop",
            "tools": tools,
        }))
        .await;
    let call = &items(&first, "function_call")[0];
    assert_eq!(call["name"], TRANSFER_TO_LAPTOP_REFRESH, "{first}");
    assert_eq!(call["arguments"], "{}", "{first}");
    let second = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "instructions": instructions,
            "previous_response_id": first["id"],
            "input": [{
                "type": "function_call_output",
                "call_id": call["call_id"],
                "output": "{\"transferred\": true}",
            }],
            "tools": tools,
        }))
        .await;
    assert_eq!(output_text(&second), "Transferring you to laptop-refresh.");
}

pub async fn file_search_retrieves_a_document_of_a_vector_store(api: Api) {
    let store = api
        .vector_store_with(
            "refresh-rules.txt",
            "Laptops are refreshed every three years.",
        )
        .await;
    let marker = unique("when");
    let response = api
        .respond(json!({
            "model": RealLlamaStack::LLM_MODEL,
            "input": format!("how often are laptops refreshed {marker}"),
            "tools": [{"type": "file_search", "vector_store_ids": [store]}],
        }))
        .await;
    let call = &items(&response, "file_search_call")[0];
    assert_eq!(
        call["results"][0]["text"], "Laptops are refreshed every three years.",
        "{response}"
    );
    let seen = seen_by_the_model(&api, &marker);
    let tool = api.version().file_search_tool();
    assert_eq!(seen["tools"][0]["function"]["name"], tool, "{seen}");
    assert!(
        output_text(&response).starts_with(&format!("{tool}: ")),
        "{response}"
    );
    assert!(
        output_text(&response).contains("Laptops are refreshed every three years."),
        "{response}"
    );
}

pub async fn an_unreachable_mcp_server_fails_the_response(api: Api) {
    let closed = test_support::postgres::free_port().expect("a free port");
    let body = json!({
        "model": RealLlamaStack::LLM_MODEL,
        "input": "hello",
        "tools": [{"type": "mcp", "server_label": "gone",
                   "server_url": format!("http://127.0.0.1:{closed}/mcp")}],
    })
    .to_string();
    // raw HTTP/1.1 on one kept-alive connection: what happens to it after
    let addr = api.stack.url().trim_start_matches("http://").to_owned();
    let path = format!("{}/responses", api.stack.api_base());
    let (first, second) = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(&addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).expect("first request");
        let first = read_response(&mut socket);
        let again = format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        let second = socket
            .write_all(again.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|()| read_response(&mut socket));
        (first, second)
    })
    .await
    .expect("raw task");
    let (status, body) = first.expect("an answer");
    match api.version() {
        ServerVersion::V0_2_18 => {
            assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
            assert_eq!(
                body,
                r#"{"detail":"Internal server error: An unexpected error occurred."}"#
            );
            // the connection stays usable
            assert_eq!(
                second.map(|(status, _)| status).as_deref(),
                Ok("HTTP/1.1 200 OK")
            );
        }
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => {
            assert_eq!(status, "HTTP/1.1 502 Bad Gateway");
            let body: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(
                body["error"]["message"],
                format!(
                    "Failed to connect to MCP server at http://127.0.0.1:{closed}/mcp: Connection refused"
                )
            );
            // the server drops the kept-alive connection: the next request fails
            assert!(second.is_err(), "{second:?}");
        }
    }
}
