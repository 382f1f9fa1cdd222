//! The LlamaStack client against scripted HTTP answers (wiremock): retry
//! policy, error context, authentication and the turn event stream.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig, LlamaStackError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client_for(server: &MockServer) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&server.uri())
        .expect("mock URL")
        .with_retries(3, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(5));
    LlamaStackClient::new(config).expect("client")
}

fn sse(events: &[serde_json::Value]) -> ResponseTemplate {
    let body: String = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect();
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

#[tokio::test]
async fn a_5xx_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(503).set_body_string("warming up"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"identifier": "vllm/llama", "provider_id": "vllm", "model_type": "llm", "metadata": {}}
        ]})))
        .mount(&server)
        .await;
    let models = client_for(&server)
        .list_models()
        .await
        .expect("third attempt succeeds");
    assert_eq!(models[0].identifier, "vllm/llama");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_names_method_path_status_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/agents"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            "{{\"detail\":\"Invalid value: model not found\"}}{}",
            "x".repeat(1000)
        )))
        .mount(&server)
        .await;
    let config =
        serde_json::from_value(json!({"model": "m", "instructions": "i"})).expect("config");
    let error = client_for(&server)
        .create_agent(&config)
        .await
        .expect_err("400 is an error");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
    let message = error.to_string();
    assert!(message.contains("POST /v1/agents"), "{message}");
    assert!(message.contains("400"), "{message}");
    assert!(message.contains("model not found"), "{message}");
    assert!(message.len() < 400, "body is cut: {message}");
}

#[tokio::test]
async fn persistent_5xx_fails_after_the_configured_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/toolgroups"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let error = client_for(&server)
        .list_toolgroups()
        .await
        .expect_err("always 500");
    assert_eq!(error.status(), Some(500));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 4);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = LlamaStackConfig::for_url(&format!("http://127.0.0.1:{port}"))
        .expect("url")
        .with_retries(2, Duration::from_millis(5));
    let error = LlamaStackClient::new(config)
        .expect("client")
        .list_models()
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, LlamaStackError::Connect { .. }), "{error}");
    assert!(error.is_unavailable());
    assert!(
        !error.to_string().contains("127.0.0.1"),
        "no URL in errors: {error}"
    );
}

#[tokio::test]
async fn the_api_key_is_sent_as_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/providers"))
        .and(header("authorization", "Bearer sk-test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"api": "vector_io", "provider_id": "faiss", "provider_type": "inline::faiss"}
        ]})))
        .mount(&server)
        .await;
    let config = LlamaStackConfig::for_url(&server.uri())
        .expect("url")
        .with_api_key(SecretString::from("sk-test-key"));
    let providers = LlamaStackClient::new(config)
        .expect("client")
        .list_providers()
        .await
        .expect("authorized");
    assert_eq!(providers[0].provider_id, "faiss");
}

#[tokio::test]
async fn a_streamed_turn_returns_the_text_of_turn_complete() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/agents/a1/session/s1/turn"))
        .respond_with(sse(&[
            json!({"event": {"payload": {"event_type": "turn_start", "turn_id": "t1"}}}),
            json!({"event": {"payload": {"event_type": "step_progress", "step_type": "inference", "delta": {"type": "text", "text": "ROUTE"}}}}),
            json!({"event": {"payload": {"event_type": "turn_complete", "turn": {
                "turn_id": "t1",
                "output_message": {"role": "assistant", "content": "ROUTE_TO: laptop-refresh", "stop_reason": "end_of_turn"}
            }}}}),
        ]))
        .mount(&server)
        .await;
    let answer = client_for(&server)
        .run_turn("a1", "s1", "my laptop is old")
        .await
        .expect("complete turn");
    assert_eq!(answer.content, "ROUTE_TO: laptop-refresh");
    let request = &server.received_requests().await.expect("recorded")[0];
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json body");
    assert_eq!(
        body,
        json!({"messages": [{"role": "user", "content": "my laptop is old"}], "stream": true})
    );
}

#[tokio::test]
async fn an_error_event_with_http_200_fails_the_turn() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/agents/a1/session/s1/turn"))
        .respond_with(sse(&[
            json!({"error": {"message": "400: model does not support tools"}}),
        ]))
        .mount(&server)
        .await;
    let error = client_for(&server)
        .run_turn("a1", "s1", "hi")
        .await
        .expect_err("in-stream error");
    assert!(
        matches!(&error, LlamaStackError::TurnFailed { message, .. } if message.contains("does not support tools")),
        "{error}"
    );
}

#[tokio::test]
async fn a_stream_without_turn_complete_is_an_incomplete_turn() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/agents/a1/session/s1/turn"))
        .respond_with(sse(&[
            json!({"event": {"payload": {"event_type": "step_start", "step_type": "inference", "step_id": "x"}}}),
        ]))
        .mount(&server)
        .await;
    let error = client_for(&server)
        .run_turn("a1", "s1", "hi")
        .await
        .expect_err("no turn_complete");
    assert!(
        matches!(error, LlamaStackError::TurnIncomplete { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn the_newest_agent_of_a_name_is_found() {
    let server = MockServer::start().await;
    let agent = |id: &str, created: &str| {
        json!({"agent_id": id, "created_at": created,
               "agent_config": {"name": "routing-agent", "model": "m", "instructions": "i"}})
    };
    Mock::given(method("GET"))
        .and(path("/v1/agents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            agent("newer", "2025-09-02T00:00:00Z"),
            agent("older", "2025-09-01T00:00:00Z"),
        ], "has_more": false})))
        .mount(&server)
        .await;
    let id = client_for(&server)
        .find_agent_id("routing-agent")
        .await
        .expect("listed");
    assert_eq!(id.as_deref(), Some("newer"));
}

#[tokio::test]
async fn files_are_uploaded_as_multipart_with_their_purpose() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/openai/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "file-1", "object": "file", "bytes": 5, "created_at": 1, "filename": "a.txt", "purpose": "assistants"
        })))
        .mount(&server)
        .await;
    let file = client_for(&server)
        .upload_file("a.txt", b"hello", "assistants")
        .await
        .expect("uploaded");
    assert_eq!(file.id, "file-1");
    let request = &server.received_requests().await.expect("recorded")[0];
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/form-data"),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains("name=\"purpose\""), "{body}");
    assert!(body.contains("filename=\"a.txt\""), "{body}");
    assert!(body.contains("hello"), "{body}");
}

#[tokio::test]
async fn wait_until_ready_gives_up_after_its_timeout() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = LlamaStackConfig::for_url(&format!("http://127.0.0.1:{port}")).expect("url");
    let started = std::time::Instant::now();
    let error = LlamaStackClient::new(config)
        .expect("client")
        .wait_until_ready(Duration::from_millis(600))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, LlamaStackError::Unavailable { .. }),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
