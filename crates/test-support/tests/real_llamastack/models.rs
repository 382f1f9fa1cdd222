//! Health, the models, usage, the launcher.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;

use crate::common::*;

pub async fn health_and_version_answer(api: Api) {
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, json!({"status": "OK"}));
    let (status, version) = api.get("/v1/version").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["version"], api.version().number());
}

pub async fn the_stub_models_are_listed_provider_prefixed(api: Api) {
    let (status, models) = api.get("/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{models}");
    // 0.2.18 lists LlamaStack's shape, the later ones OpenAI's
    let (id, metadata) = match api.version() {
        ServerVersion::V0_2_18 => ("identifier", "metadata"),
        ServerVersion::V0_7_3 | ServerVersion::Ogx1_5 => ("id", "custom_metadata"),
    };
    let listed = |wanted: &str| -> Value {
        models["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|model| model[id] == wanted)
            .unwrap_or_else(|| panic!("{wanted} listed: {models}"))
            .clone()
    };
    let llm = listed(RealLlamaStack::LLM_MODEL);
    let embedding = listed(RealLlamaStack::EMBEDDING_MODEL);
    assert_eq!(
        embedding[metadata]["embedding_dimension"], 384,
        "{embedding}"
    );
    let model_type = |model: &Value| match api.version() {
        ServerVersion::V0_2_18 => model["model_type"].clone(),
        _ => model["custom_metadata"]["model_type"].clone(),
    };
    assert_eq!(model_type(&llm), "llm");
    assert_eq!(model_type(&embedding), "embedding");
}

pub async fn an_unknown_model_is_refused(api: Api) {
    let answer = |model: &'static str| {
        let api = &api;
        async move {
            api.post("/responses", json!({"model": model, "input": "hello"}))
                .await
        }
    };
    // a model id no provider serves: 404 everywhere
    let (status, body) = answer("no-such-model").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body["detail"],
        "Model 'no-such-model' not found. Use 'client.models.list()' to list available Models."
    );
    // a provider prefix with a model that provider does not serve: 0.7.3
    // and OGX ask the provider, and pass its refusal on
    let (status, body) = answer("vllm/no-such-model").await;
    let expected = match api.version() {
        ServerVersion::V0_2_18 => (
            StatusCode::NOT_FOUND,
            "Model 'vllm/no-such-model' not found. Use 'client.models.list()' to list available Models.",
        ),
        ServerVersion::V0_7_3 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The model `no-such-model` does not exist.",
        ),
        ServerVersion::Ogx1_5 => (
            StatusCode::BAD_REQUEST,
            "Invalid value for 'model': vllm/no-such-model. The model `no-such-model` does not exist.",
        ),
    };
    assert_eq!(
        (status, body["detail"].as_str().unwrap_or_default()),
        expected,
        "{body}"
    );
    // the registered model without its provider prefix: only 0.2.18 takes it
    let (status, body) = answer("stub-llm").await;
    match api.version() {
        ServerVersion::V0_2_18 => assert_eq!(output_text(&body), "You said: hello", "{body}"),
        _ => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
    }
}

pub async fn usage_is_the_models_count(api: Api) {
    let response = api
        .respond(json!({"model": RealLlamaStack::LLM_MODEL, "input": "count these three"}))
        .await;
    // the stub counts words: 3 in, "You said: count these three" out
    match api.version() {
        ServerVersion::V0_2_18 => assert!(response.get("usage").is_none(), "{response}"),
        _ => {
            let usage = &response["usage"];
            assert_eq!(
                (
                    &usage["input_tokens"],
                    &usage["output_tokens"],
                    &usage["total_tokens"]
                ),
                (&json!(3), &json!(5), &json!(8)),
                "{usage}"
            );
        }
    }
}

#[test]
fn a_server_of_its_own_is_gone_when_dropped() {
    let version = ServerVersion::Ogx1_5;
    if !RealLlamaStack::available_or_skip(version, "a_server_of_its_own_is_gone_when_dropped") {
        return;
    }
    let stack = RealLlamaStack::start(version).expect("the server starts");
    let port: u16 = stack
        .url()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("port in the URL");
    let state_dir = stack.state_dir().to_path_buf();
    assert!(state_dir.join("run.yaml").is_file());
    assert!(
        stack.server_log().contains("Uvicorn running"),
        "{}",
        stack.server_log()
    );
    drop(stack);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port} any more"
    );
    assert!(!state_dir.exists(), "{} removed", state_dir.display());
}
