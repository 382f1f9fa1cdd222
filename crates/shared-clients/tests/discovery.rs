//! Where the API lives, found by asking the server as each version answers
//! (`tests/data/*-models.json` are the real listings), or given.

mod common;

use std::time::Duration;

use common::{client_for, client_of, recorded};
use serde_json::{Value, json};
use shared_clients::llamastack::{
    ApiBase, LlamaStackClient, LlamaStackConfig, ModelType, resolve_model,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn listing(file: &str) -> Value {
    serde_json::from_str(&recorded(file)).expect("recorded listing")
}

/// A server answering `routes` (path → JSON) with 200 and every other
/// path with FastAPI's 404.
async fn server_with(routes: &[(&str, Value)]) -> MockServer {
    let server = MockServer::start().await;
    for (route, body) in routes {
        Mock::given(method("GET"))
            .and(path(*route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not Found"})))
        .mount(&server)
        .await;
    server
}

async fn probed(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn llama_stack_0_2_18_is_found_under_v1_openai_v1() {
    let server = server_with(&[
        (
            "/v1/openai/v1/models",
            json!({"data": [{"id": "vllm/stub-llm", "object": "model"}]}),
        ),
        ("/v1/models", listing("0.2.18-models.json")),
    ])
    .await;
    let client = client_of(&server.uri());
    let base = client.api_base().await.expect("found");
    assert_eq!(base.path(), "/v1/openai/v1");
    assert!(base.is_legacy_0_2());
    let models = client.list_models().await.expect("listed");
    assert_eq!(
        models[1].embedding_dimension,
        Some(384),
        "read from /v1/models"
    );
    assert_eq!(
        probed(&server).await,
        ["/v1/openai/v1/models", "/v1/models"]
    );
}

#[tokio::test]
async fn current_servers_are_found_under_v1() {
    for file in ["0.7.3-models.json", "ogx-1.5.0-models.json"] {
        let server = server_with(&[("/v1/models", listing(file))]).await;
        let client = client_of(&server.uri());
        let base = client.api_base().await.expect("found");
        assert_eq!(base, ApiBase::current(), "{file}");
        let models = client.list_models().await.expect("listed");
        assert_eq!(models[0].id, "vllm/stub-llm");
        assert_eq!(models[1].model_type, ModelType::Embedding);
        assert_eq!(models[1].embedding_dimension, Some(384));
        assert_eq!(
            resolve_model(&models, "stub-llm"),
            Ok("vllm/stub-llm".to_owned())
        );
    }
}

#[tokio::test]
async fn a_url_ending_in_v1_is_its_own_base() {
    let server = server_with(&[(
        "/v1/models",
        json!({"object": "list", "data": [{"id": "Qwen/Qwen3-8B", "object": "model", "owned_by": "vllm"}]}),
    )])
    .await;
    let client = client_of(&format!("{}/v1", server.uri()));
    assert_eq!(client.api_base().await.expect("found"), ApiBase::root());
    let models = client.list_models().await.expect("listed");
    assert_eq!(models[0].id, "Qwen/Qwen3-8B");
    assert!(models[0].is_llm());
}

#[tokio::test]
async fn a_given_base_is_used_without_asking() {
    let server = server_with(&[("/v1/models", listing("0.7.3-models.json"))]).await;
    let client = client_for(&server, ApiBase::current());
    assert_eq!(client.api_base().await.expect("given"), ApiBase::current());
    client.list_models().await.expect("listed");
    assert_eq!(probed(&server).await, ["/v1/models"]);
}

#[tokio::test]
async fn the_base_is_asked_once_for_every_clone() {
    let server = server_with(&[("/v1/models", listing("0.7.3-models.json"))]).await;
    let client = client_of(&server.uri());
    let clone = client.clone();
    let (a, b) = tokio::join!(client.api_base(), clone.api_base());
    assert_eq!(a.expect("found"), b.expect("found"));
    client.api_base().await.expect("remembered");
    assert_eq!(
        probed(&server).await,
        ["/v1/openai/v1/models", "/v1/models"]
    );
}

#[tokio::test]
async fn a_failed_discovery_is_not_remembered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/openai/v1/models"))
        .respond_with(ResponseTemplate::new(503).set_body_string("starting"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/openai/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    let config = LlamaStackConfig::for_url(&server.uri())
        .expect("url")
        .with_retries(0, Duration::from_millis(5));
    let client = LlamaStackClient::new(config).expect("client");
    let error = client.api_base().await.expect_err("503, no retries");
    assert_eq!(error.status(), Some(503));
    assert_eq!(
        client.api_base().await.expect("asked again"),
        ApiBase::legacy()
    );
}

#[tokio::test]
async fn a_server_without_the_api_says_how_to_set_it() {
    let server = server_with(&[]).await;
    let error = client_of(&server.uri())
        .api_base()
        .await
        .expect_err("nothing answers");
    assert!(
        error.to_string().contains("LLAMA_STACK_API_BASE"),
        "{error}"
    );
}

#[tokio::test]
async fn the_server_version_is_read_when_served() {
    let server = server_with(&[("/v1/version", json!({"version": "0.7.3"}))]).await;
    assert_eq!(
        client_of(&server.uri()).server_version().await.as_deref(),
        Some("0.7.3")
    );
    let bare = server_with(&[]).await;
    assert_eq!(client_of(&bare.uri()).server_version().await, None);
}
