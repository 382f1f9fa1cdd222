//! The LlamaStack client's HTTP core against scripted answers (wiremock):
//! retry policy, error context, authentication, bounded reads, files and
//! vector stores under the API base, and the legacy listings of 0.2.18.

mod common;

use std::time::Duration;

use common::{client_for, client_of};
use secrecy::SecretString;
use serde_json::json;
use shared_clients::llamastack::{
    ApiBase, AttachFile, JsonObject, LlamaStackClient, LlamaStackConfig, LlamaStackError,
    ResponsesFailure,
};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    let models = client_for(&server, ApiBase::current())
        .list_models()
        .await
        .expect("third attempt succeeds");
    assert_eq!(models[0].id, "vllm/llama");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 3);
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_names_method_path_status_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/vector_stores"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            "{{\"detail\":\"Invalid value: embedding model not found\"}}{}",
            "x".repeat(1000)
        )))
        .mount(&server)
        .await;
    let request = shared_clients::llamastack::CreateVectorStore {
        name: "kb".into(),
        metadata: JsonObject::new(),
        embedding_model: Some("nope".into()),
        embedding_dimension: None,
        provider_id: None,
    };
    let error = client_for(&server, ApiBase::current())
        .create_vector_store(&request)
        .await
        .expect_err("400 is an error");
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
    let message = error.to_string();
    assert!(message.contains("POST /v1/vector_stores"), "{message}");
    assert!(message.contains("400"), "{message}");
    assert!(message.contains("embedding model not found"), "{message}");
    assert!(message.len() < 400, "body is cut: {message}");
}

#[tokio::test]
async fn persistent_5xx_fails_after_the_configured_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/providers"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let error = client_of(&server.uri())
        .list_providers()
        .await
        .expect_err("always 500");
    assert_eq!(error.status(), Some(500));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 4);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_unavailable() {
    let port = common::free_port();
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
async fn an_endless_error_body_is_read_only_in_part() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/providers"))
        .respond_with(ResponseTemplate::new(400).set_body_string("e".repeat(8 * 1024 * 1024)))
        .mount(&server)
        .await;
    let error = client_of(&server.uri())
        .list_providers()
        .await
        .expect_err("400");
    assert_eq!(error.status(), Some(400));
    assert!(error.to_string().len() < 400);
}

#[tokio::test]
async fn files_are_uploaded_as_multipart_under_the_api_base() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/openai/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "file-1", "object": "file", "bytes": 5, "created_at": 1, "filename": "a.txt", "purpose": "assistants"
        })))
        .mount(&server)
        .await;
    let file = client_for(&server, ApiBase::legacy())
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
async fn vector_store_files_are_listed_page_by_page() {
    let server = MockServer::start().await;
    let file = |id: &str| json!({"id": id, "object": "vector_store.file", "attributes": {"document_id": id}, "status": "completed"});
    Mock::given(method("GET"))
        .and(path("/v1/vector_stores/vs_1/files"))
        .and(query_param("after", "f2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [file("f3")], "has_more": false, "last_id": "f3"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/vector_stores/vs_1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [file("f1"), file("f2")], "has_more": true, "last_id": "f2"})))
        .mount(&server)
        .await;
    let files = client_for(&server, ApiBase::current())
        .list_vector_store_files("vs_1")
        .await
        .expect("listed");
    let ids: Vec<&str> = files.iter().map(|file| file.id.as_str()).collect();
    assert_eq!(ids, ["f1", "f2", "f3"]);
    assert_eq!(files[2].attributes["document_id"], json!("f3"));
}

#[tokio::test]
async fn attaching_to_a_missing_vector_store_is_told_apart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/openai/v1/vector_stores/vs_gone/files"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "detail": "Invalid value: Vector_db 'vs_gone' not found"})))
        .mount(&server)
        .await;
    let request = AttachFile {
        file_id: "file-1".into(),
        attributes: JsonObject::new(),
    };
    let error = client_for(&server, ApiBase::legacy())
        .attach_file("vs_gone", &request)
        .await
        .expect_err("400");
    assert_eq!(
        error.responses_failure(),
        ResponsesFailure::UnknownVectorStore
    );
}

#[tokio::test]
async fn the_legacy_listings_read_0_2_18_and_are_empty_where_the_routes_are_gone() {
    let legacy = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/agents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"agent_id": "a1", "created_at": "2025-09-01T10:00:00Z",
             "agent_config": {"name": "routing-agent", "model": "m", "instructions": "i", "toolgroups": ["mcp::snow"]}},
            {"agent_id": "a2", "agent_config": {"model": "m", "instructions": "i"}}
        ], "has_more": false})))
        .mount(&legacy)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/toolgroups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"identifier": "mcp::snow", "provider_id": "model-context-protocol", "mcp_endpoint": {"uri": "http://snow/mcp"}, "args": null}
        ]})))
        .mount(&legacy)
        .await;
    let client = client_of(&legacy.uri());
    let agents = client.list_agents().await.expect("listed");
    assert_eq!(agents[0].agent_id, "a1");
    assert_eq!(agents[0].name.as_deref(), Some("routing-agent"));
    assert_eq!(agents[1].name, None);
    let groups = client.list_toolgroups().await.expect("listed");
    assert_eq!(
        groups[0].mcp_endpoint.as_ref().map(|e| e.uri.as_str()),
        Some("http://snow/mcp")
    );

    let current = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not Found"})))
        .mount(&current)
        .await;
    let client = client_of(&current.uri());
    assert!(client.list_agents().await.expect("404 is none").is_empty());
    assert!(
        client
            .list_toolgroups()
            .await
            .expect("404 is none")
            .is_empty()
    );
    assert!(
        client
            .list_vector_dbs()
            .await
            .expect("404 is none")
            .is_empty()
    );
}

#[tokio::test]
async fn wait_until_ready_gives_up_after_its_timeout() {
    let port = common::free_port();
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

#[tokio::test]
async fn health_is_ok_only_when_the_server_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "OK"})))
        .mount(&server)
        .await;
    client_of(&server.uri()).health().await.expect("healthy");
    let sick = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "Error"})))
        .mount(&sick)
        .await;
    let error = client_of(&sick.uri()).health().await.expect_err("not OK");
    assert!(error.to_string().contains("health status Error"), "{error}");
}
