//! A service wired to a fresh migrated database, an asset directory with a
//! routing agent and a laptop-refresh agent, and a fake LlamaStack scripted
//! to play them, driven in-process.

#![allow(dead_code)]

use std::time::Duration;

use agent_service::auth::AuthMode;
use agent_service::{AppState, ServiceConfig, Settings};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shared_clients::llamastack::LlamaStackConfig;
use shared_db::DbConfig;
use shared_db::migrate::{self, Timeouts};
use test_support::agent_assets::TestAssets;
use test_support::fake_llamastack::{FakeLlamaStack, Scripted};
use test_support::{TestDatabase, test_database};
use tower::ServiceExt as _;

pub const ROUTING_GREETING: &str = "Hello, I am the routing agent. What do you need?";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: TestDatabase,
    pub fake: FakeLlamaStack,
    /// The service's `ASSET_CONFIG_DIR`.
    pub assets: TestAssets,
}

pub async fn start() -> TestApp {
    start_with(|_| {}).await
}

pub async fn start_with(configure: impl FnOnce(&mut ServiceConfig)) -> TestApp {
    start_with_settings(|settings| configure(&mut settings.service)).await
}

/// [`start`] with every setting open to `configure` (delivery channels,
/// Slack).
pub async fn start_with_settings(configure: impl FnOnce(&mut Settings)) -> TestApp {
    start_on(FakeLlamaStack::start().await, configure).await
}

/// [`start`] on a fake playing LlamaStack 0.2.18 (no `usage` reported).
pub async fn start_on_0_2_18() -> TestApp {
    let fake = FakeLlamaStack::builder()
        .flavor(test_support::fake_llamastack::Flavor::V0_2_18)
        .start()
        .await
        .unwrap();
    start_on(fake, |_| {}).await
}

async fn start_on(fake: FakeLlamaStack, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = test_database().await.unwrap();
    let db_config = DbConfig::from_url(&db.url()).unwrap();
    migrate::up(
        &db_config,
        Timeouts {
            connect: Duration::from_secs(30),
            lock: Duration::from_secs(10),
        },
    )
    .await
    .unwrap();
    add_agents(&fake);
    let assets = TestAssets::routing_and_laptop();
    let service = ServiceConfig {
        asset_config_dir: assets.path_buf(),
        ..ServiceConfig::default()
    };
    let mut settings = Settings {
        service,
        database: db_config,
        llamastack: LlamaStackConfig::for_url(&fake.url())
            .unwrap()
            .with_retries(1, Duration::from_millis(10)),
        delivery: delivery::DeliverySettings::default(),
        slack: None,
    };
    configure(&mut settings);
    let state = agent_service::state(settings).unwrap();
    TestApp {
        router: agent_service::app(state.clone()),
        state,
        db,
        fake,
        assets,
    }
}

/// The two agents of the fixture, scripted: the routing agent hands laptop
/// questions over by calling `transfer_to_laptop-refresh`, the laptop
/// agent answers everything itself.
pub fn add_agents(fake: &FakeLlamaStack) {
    fake.set_agent_responder("routing-agent", |input| {
        if input.function_output().is_some() {
            return Scripted::Text("Transferring you to the laptop-refresh agent.".into());
        }
        let laptop = input
            .last_user_text()
            .is_some_and(|text| text.to_lowercase().contains("laptop"));
        if laptop && input.offers_function("transfer_to_laptop-refresh") {
            Scripted::FunctionCall {
                name: "transfer_to_laptop-refresh".into(),
                arguments: json!({}),
            }
        } else {
            Scripted::Text(ROUTING_GREETING.into())
        }
    });
    fake.set_reply("laptop-refresh", |message| {
        format!("laptop-refresh agent: about '{message}'")
    });
}

impl TestApp {
    pub async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        call(&self.router, request).await
    }

    /// `POST /api/v1/requests/generic/sync` as `user` over the CLI channel.
    pub async fn send(&self, user: &str, content: &str) -> (StatusCode, Value) {
        self.call(sync_request(user, content)).await
    }
}

pub async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

pub fn sync_request(user: &str, content: &str) -> Request<Body> {
    json_request(
        "POST",
        "/api/v1/requests/generic/sync",
        Some(user),
        &json!({
            "user_id": user,
            "content": content,
            "integration_type": "CLI",
            "request_type": "message",
            "metadata": {},
        }),
    )
}

pub fn json_request(method: &str, uri: &str, user: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(user) = user {
        builder = builder.header("x-user-id", user);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

/// `request` asking for the asynchronous answer (`Prefer: respond-async`).
pub fn prefer_async(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert(
        "prefer",
        axum::http::HeaderValue::from_static("respond-async"),
    );
    request
}

pub fn get(uri: &str, user: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method("GET").uri(uri);
    if let Some(user) = user {
        builder = builder.header("x-user-id", user);
    }
    builder.body(Body::empty()).unwrap()
}

pub fn api_key_mode(keys_file: &std::path::Path) -> impl FnOnce(&mut ServiceConfig) + '_ {
    move |config| {
        config.auth_mode = AuthMode::ApiKey;
        config.api_keys_file = Some(keys_file.to_path_buf());
    }
}

/// GETs `uri` as `user` until `done` holds for the answer (at most 20 s).
pub async fn eventually(
    app: &TestApp,
    uri: &str,
    user: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (status, body) = app.call(get(uri, Some(user))).await;
        if status == StatusCode::OK && done(&body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{uri} never got there; last answer {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
