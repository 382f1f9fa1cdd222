//! `create_response` against the wire the real servers sent (recorded in
//! `tests/data/`, one file per server and journey) and against the
//! failures they answer: the events are read by type whatever their order,
//! the final object comes from `response.completed`, failures are
//! classified, and a turn is sent again only when nothing was received.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{
    RawPeer, Step, client_for, json_answer, open_stream, recorded, sse_answer, sse_of,
    stream_answer,
};
use serde_json::{Value, json};
use shared_clients::llamastack::{
    ApiBase, CreateResponse, InputItem, LlamaStackClient, LlamaStackConfig, LlamaStackError,
    ResponseObject, ResponsesFailure, StreamEvent, Tool,
    responses::{MAX_EVENT_BYTES, MAX_STREAM_BYTES},
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn laptop_request() -> CreateResponse {
    let mut request =
        CreateResponse::new("vllm/stub-llm", vec![InputItem::user("what is my laptop?")]);
    request.tools = vec![Tool::mcp(
        "snow",
        "http://127.0.0.1:18101/mcp",
        BTreeMap::from([(
            "AUTHORITATIVE_USER_ID".to_owned(),
            "alice@example.com".to_owned(),
        )]),
    )];
    request
}

/// Plays `stream` (an event-stream body) to a create_response of `request`
/// on a server of `base`: the events heard and the outcome.
async fn play(
    base: ApiBase,
    request: &CreateResponse,
    stream: String,
) -> (Vec<StreamEvent>, Result<ResponseObject, LlamaStackError>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/responses", base.path())))
        .respond_with(sse_answer(stream))
        .mount(&server)
        .await;
    let mut events = Vec::new();
    let outcome = client_for(&server, base)
        .create_response(request, |event| events.push(event))
        .await;
    (events, outcome)
}

fn texts(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::TextDelta(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn tool_calls(events: &[StreamEvent]) -> Vec<(Option<String>, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::ToolCall { server_label, name } => {
                Some((server_label.clone(), name.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn plain_text_streams_the_same_on_every_server() {
    let request = CreateResponse::new("vllm/stub-llm", vec![InputItem::user("hello stream")]);
    for (file, base) in [
        ("0.2.18-text.sse", ApiBase::legacy()),
        ("0.7.3-text.sse", ApiBase::current()),
        ("ogx-1.5.0-text.sse", ApiBase::current()),
    ] {
        let (events, outcome) = play(base, &request, recorded(file)).await;
        let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_eq!(
            response.output_text(),
            "STUB-ANSWER to: hello stream",
            "{file}"
        );
        assert_eq!(texts(&events), "STUB-ANSWER to: hello stream", "{file}");
        assert_eq!(events.last(), Some(&StreamEvent::Completed), "{file}");
        assert!(tool_calls(&events).is_empty(), "{file}");
    }
}

#[tokio::test]
async fn an_mcp_call_is_told_once_whatever_the_order_of_its_events() {
    // 0.2.18 adds the call as a function_call item and finishes it as an
    // mcp_call; 0.7.3 and OGX send its arguments before adding it.
    for file in ["0.2.18-mcp.sse", "0.7.3-mcp.sse", "ogx-1.5.0-mcp.sse"] {
        let (events, outcome) = play(ApiBase::current(), &laptop_request(), recorded(file)).await;
        let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_eq!(
            tool_calls(&events),
            vec![(Some("snow".into()), "get_employee_laptop_info".into())],
            "{file}"
        );
        assert_eq!(
            response.output_text(),
            "FINAL after tool: LAPTOP-INFO user=alice@example.com model=MacBook Pro 2019",
            "{file}"
        );
        assert_eq!(response.tool_calls().len(), 1, "{file}");
    }
}

#[tokio::test]
async fn a_function_call_ends_the_response_for_the_caller_to_answer() {
    let mut request =
        CreateResponse::new("vllm/stub-llm", vec![InputItem::user("please transfer me")]);
    request.tools = vec![Tool::function(
        "transfer_to_agent",
        "Transfer to another agent",
        json!({"type": "object", "properties": {"agent_name": {"type": "string"}}}),
    )];
    for file in [
        "0.2.18-function.sse",
        "0.7.3-function.sse",
        "ogx-1.5.0-function.sse",
    ] {
        let (events, outcome) = play(ApiBase::current(), &request, recorded(file)).await;
        let response = outcome.unwrap_or_else(|error| panic!("{file}: {error}"));
        let calls = response.function_calls();
        assert_eq!(calls.len(), 1, "{file}");
        assert_eq!(calls[0].name, "transfer_to_agent");
        assert_eq!(
            serde_json::from_str::<Value>(&calls[0].arguments).expect("JSON arguments"),
            json!({"agent_name": "laptop-refresh"})
        );
        assert!(calls[0].call_id.starts_with("call_"), "{file}");
        assert_eq!(
            tool_calls(&events),
            vec![(None, "transfer_to_agent".into())],
            "{file}"
        );
        assert_eq!(response.output_text(), "", "{file}");
    }
}

#[tokio::test]
async fn usage_is_read_where_the_server_reports_it() {
    let request = CreateResponse::new("vllm/stub-llm", vec![InputItem::user("hello stream")]);
    let (_, current) = play(ApiBase::current(), &request, recorded("0.7.3-text.sse")).await;
    let usage = current
        .expect("completed")
        .usage
        .expect("0.7.3 reports usage");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (1, 1, 2)
    );
    let (_, legacy) = play(ApiBase::legacy(), &request, recorded("0.2.18-text.sse")).await;
    assert_eq!(legacy.expect("completed").usage, None, "0.2.18 has none");
}

#[tokio::test]
async fn the_request_is_streamed_with_every_field_it_sets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/openai/v1/responses"))
        .respond_with(sse_answer(recorded("0.2.18-text.sse")))
        .mount(&server)
        .await;
    let mut request = laptop_request();
    request.instructions = Some("You are the laptop-refresh.".into());
    request.previous_response_id = Some("resp-1".into());
    request.max_infer_iters = Some(30);
    client_for(&server, ApiBase::legacy())
        .create_response(&request, |_| {})
        .await
        .expect("completed");
    let received = &server.received_requests().await.expect("recorded")[0];
    let body: Value = serde_json::from_slice(&received.body).expect("JSON body");
    assert_eq!(
        body,
        json!({
            "model": "vllm/stub-llm", "instructions": "You are the laptop-refresh.",
            "input": [{"type": "message", "role": "user", "content": "what is my laptop?"}],
            "previous_response_id": "resp-1",
            "tools": [{"type": "mcp", "server_label": "snow", "server_url": "http://127.0.0.1:18101/mcp",
                       "headers": {"AUTHORITATIVE_USER_ID": "alice@example.com"}, "require_approval": "never"}],
            "max_infer_iters": 30, "stream": true, "store": true
        })
    );
}

#[tokio::test]
async fn missing_and_reordered_events_do_not_matter_only_completion_does() {
    let completed = json!({"type": "response.completed", "sequence_number": 9, "response": {
    "id": "resp_1", "status": "completed", "model": "m", "output": [
        {"id": "fc_1", "type": "mcp_call", "name": "open_ticket", "server_label": "snow", "arguments": "{}", "output": "REQ1"},
        {"id": "fs_1", "type": "file_search_call", "queries": ["laptop"], "status": "completed"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Ticket REQ1."}]}
    ]}});
    // No created, no item events, a delta of an unknown item, unknown types.
    let stream = sse_of(&[
        json!({"type": "response.output_text.delta", "delta": "Ticket ", "item_id": "x", "sequence_number": 3}),
        json!({"type": "response.something_new", "sequence_number": 1}),
        json!({"type": "response.output_text.delta", "delta": "REQ1.", "sequence_number": 4}),
        completed,
    ]);
    let (events, outcome) = play(ApiBase::current(), &laptop_request(), stream).await;
    assert_eq!(outcome.expect("completed").output_text(), "Ticket REQ1.");
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta("Ticket ".into()),
            StreamEvent::TextDelta("REQ1.".into()),
            StreamEvent::ToolCall {
                server_label: Some("snow".into()),
                name: "open_ticket".into()
            },
            StreamEvent::ToolCall {
                server_label: None,
                name: "file_search".into()
            },
            StreamEvent::Completed,
        ],
        "the calls the stream did not tell are told before Completed"
    );
}

#[tokio::test]
async fn a_stream_ending_before_completion_is_an_error() {
    let full = recorded("0.7.3-text.sse");
    let cut = full
        .split("\n\n")
        .filter(|event| !event.contains("response.completed"))
        .map(|event| format!("{event}\n\n"))
        .collect::<String>();
    let (events, outcome) = play(ApiBase::current(), &laptop_request(), cut).await;
    let error = outcome.expect_err("no response.completed");
    assert!(
        matches!(error, LlamaStackError::StreamEnded { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("stream ended before response.completed"),
        "{error}"
    );
    assert_eq!(texts(&events), "STUB-ANSWER to: hello stream");
    assert!(!events.contains(&StreamEvent::Completed));
}

#[tokio::test]
async fn a_failed_or_incomplete_response_is_an_error() {
    let failed = sse_of(&[
        json!({"type": "response.failed", "sequence_number": 3, "response": {
        "id": "resp_1", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "An unexpected error occurred while generating the response."}}}),
    ]);
    let (_, outcome) = play(ApiBase::current(), &laptop_request(), failed).await;
    let error = outcome.expect_err("failed");
    assert_eq!(error.responses_failure(), ResponsesFailure::Other);
    assert!(error.to_string().contains("(server_error)"), "{error}");
    let incomplete = sse_of(&[
        json!({"type": "response.incomplete", "sequence_number": 3, "response": {
        "id": "resp_1", "status": "incomplete", "output": [],
        "incomplete_details": {"reason": "max_iterations_exceeded"}}}),
    ]);
    let (_, outcome) = play(ApiBase::current(), &laptop_request(), incomplete).await;
    let error = outcome.expect_err("incomplete");
    assert!(
        error.to_string().contains("max_iterations_exceeded"),
        "{error}"
    );
}

/// The error events of the servers' sources (`sse_generator` of each):
/// an unknown previous response, in each server's shape.
#[tokio::test]
async fn an_unknown_previous_response_is_told_apart_in_every_error_shape() {
    let mut request = laptop_request();
    request.previous_response_id = Some("resp_gone".into());
    let events = [
        json!({"error": {"message": "400: Invalid value: Response with id resp_gone not found"}}),
        json!({"error": {"message": "Response 'resp_gone' not found. Use 'client.responses.list()' to list available Responses.", "code": "404"}}),
        json!({"type": "error", "code": "404", "sequence_number": 1,
               "message": "Response 'resp_gone' not found. Use 'client.responses.list()' to list available Responses."}),
    ];
    for event in events {
        let (_, outcome) = play(
            ApiBase::current(),
            &request,
            sse_of(std::slice::from_ref(&event)),
        )
        .await;
        let error = outcome.expect_err("unknown previous response");
        assert_eq!(
            error.responses_failure(),
            ResponsesFailure::UnknownPreviousResponse,
            "{event}"
        );
    }
}

#[tokio::test]
async fn an_mcp_server_failing_mid_listing_is_named_by_the_requests_url() {
    let mut request = laptop_request();
    request.tools.insert(
        0,
        Tool::mcp("info", "http://info:8000/mcp", BTreeMap::new()),
    );
    let created = json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress", "output": []}});
    let listed = json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0,
        "item": {"id": "mcp_list_1", "type": "mcp_list_tools", "server_label": "info", "tools": []}});
    let stream = sse_of(&[
        created,
        json!({"type": "response.mcp_list_tools.in_progress", "sequence_number": 1}),
        listed,
        json!({"type": "response.mcp_list_tools.completed", "sequence_number": 4}),
        json!({"type": "response.mcp_list_tools.in_progress", "sequence_number": 5}),
        json!({"type": "error", "code": "server_error", "sequence_number": 6,
               "message": "Internal server error: An unexpected error occurred."}),
    ]);
    let (_, outcome) = play(ApiBase::current(), &request, stream).await;
    let error = outcome.expect_err("MCP server down");
    assert_eq!(
        error.responses_failure(),
        ResponsesFailure::McpUnreachable {
            server_url: Some("http://127.0.0.1:18101/mcp".into())
        }
    );
    assert!(!error.is_unavailable(), "LlamaStack itself answered");
}

#[tokio::test]
async fn http_errors_are_classified_without_echoing_urls_or_header_values() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({"error": {"message":
            "Failed to connect to MCP server at http://127.0.0.1:18101/mcp: Connection refused (user alice@example.com)"}})))
        .mount(&server)
        .await;
    let error = client_for(&server, ApiBase::current())
        .create_response(&laptop_request(), |_| {})
        .await
        .expect_err("502");
    assert_eq!(
        error.responses_failure(),
        ResponsesFailure::McpUnreachable {
            server_url: Some("http://127.0.0.1:18101/mcp".into())
        }
    );
    let message = error.to_string();
    assert!(message.contains("HTTP 502"), "{message}");
    assert!(!message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains("alice@example.com"), "{message}");
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        1,
        "an answered turn is never sent again"
    );
}

#[tokio::test]
async fn an_unknown_model_is_told_apart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail":
            "Model 'stub-llm' not found. Use 'client.models.list()' to list available Models."})))
        .mount(&server)
        .await;
    let mut request = laptop_request();
    request.model = "stub-llm".into();
    let error = client_for(&server, ApiBase::current())
        .create_response(&request, |_| {})
        .await
        .expect_err("404");
    assert_eq!(error.responses_failure(), ResponsesFailure::UnknownModel);
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn after_a_502_the_reset_connection_is_retried_on_a_fresh_one() {
    let mcp_down = json_answer(
        502,
        &json!({"error": {"message": "Failed to connect to MCP server at http://127.0.0.1:18101/mcp: Connection refused"}}),
    );
    let peer = RawPeer::start(vec![
        vec![Step::Answer(mcp_down), Step::Reset],
        vec![Step::Answer(stream_answer(&recorded("0.7.3-text.sse")))],
    ])
    .await;
    let client = LlamaStackClient::new(
        LlamaStackConfig::for_url(&peer.url)
            .expect("url")
            .with_retries(0, Duration::from_millis(5))
            .with_api_base(ApiBase::current()),
    )
    .expect("client");
    let first = client
        .create_response(&laptop_request(), |_| {})
        .await
        .expect_err("502");
    assert!(matches!(
        first.responses_failure(),
        ResponsesFailure::McpUnreachable { .. }
    ));
    let second = client
        .create_response(&laptop_request(), |_| {})
        .await
        .expect("the reset turn is sent again on a new connection");
    assert_eq!(second.output_text(), "STUB-ANSWER to: hello stream");
    let connections: Vec<usize> = peer
        .requests()
        .iter()
        .map(|(connection, _)| *connection)
        .collect();
    assert_eq!(connections, vec![0, 0, 1]);
}

#[tokio::test]
async fn a_refused_turn_is_sent_again_until_the_server_is_up() {
    let port = common::free_port();
    let client = LlamaStackClient::new(
        LlamaStackConfig::for_url(&format!("http://127.0.0.1:{port}"))
            .expect("url")
            .with_retries(8, Duration::from_millis(100))
            .with_api_base(ApiBase::current()),
    )
    .expect("client");
    let late_server = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        RawPeer::bind(
            port,
            vec![vec![Step::Answer(stream_answer(&recorded(
                "ogx-1.5.0-text.sse",
            )))]],
        )
        .await
    };
    let request = laptop_request();
    let (outcome, peer) = tokio::join!(client.create_response(&request, |_| {}), late_server);
    assert_eq!(
        outcome.expect("answered once up").output_text(),
        "STUB-ANSWER to: hello stream"
    );
    assert_eq!(peer.requests().len(), 1);
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_is_not_sent_again() {
    let created = sse_of(&[json!({"type": "response.created", "sequence_number": 0,
        "response": {"id": "resp_1", "status": "in_progress", "output": []}})]);
    let peer = RawPeer::start(vec![vec![Step::Stall(open_stream(&created))]]).await;
    let client = LlamaStackClient::new(
        LlamaStackConfig::for_url(&peer.url)
            .expect("url")
            .with_timeout(Duration::from_millis(800))
            .with_api_base(ApiBase::current()),
    )
    .expect("client");
    let started = Instant::now();
    let error = client
        .create_response(&laptop_request(), |_| {})
        .await
        .expect_err("the stream stalls");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(error.to_string().contains("timed out"), "{error}");
    assert_eq!(
        peer.requests().len(),
        1,
        "a turn that began is never sent again"
    );
}

#[tokio::test]
async fn an_event_over_its_bound_is_refused() {
    let huge = format!(
        "data: {{\"type\": \"response.output_text.delta\", \"delta\": \"{}\"}}\n\n",
        "x".repeat(MAX_EVENT_BYTES)
    );
    let (_, outcome) = play(ApiBase::current(), &laptop_request(), huge).await;
    let error = outcome.expect_err("too big");
    assert!(matches!(error, LlamaStackError::Decode { .. }), "{error}");
    assert!(error.to_string().contains("an event is over"), "{error}");
}

#[tokio::test]
async fn a_stream_over_its_bound_is_refused() {
    let delta = format!(
        "data: {{\"type\": \"response.output_text.delta\", \"delta\": \"{}\"}}\n\n",
        "y".repeat(64 * 1024)
    );
    let stream = delta.repeat(MAX_STREAM_BYTES / delta.len() + 2);
    let (events, outcome) = play(ApiBase::current(), &laptop_request(), stream).await;
    let error = outcome.expect_err("too long");
    assert!(error.to_string().contains("the stream is over"), "{error}");
    assert!(events.len() < MAX_STREAM_BYTES / (64 * 1024) + 1);
}
