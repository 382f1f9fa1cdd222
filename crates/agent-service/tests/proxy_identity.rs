//! `AUTH_MODE=proxy`: an authenticating proxy beside the service names the
//! user in `x-forwarded-user` / `x-remote-user` / `x-forwarded-email`; the
//! service believes them only from the peers of `TRUSTED_PROXIES`.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use agent_service::auth::AuthMode;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::{ROUTING_GREETING, TestApp};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn start() -> TestApp {
    common::start_with(|config| {
        config.auth_mode = AuthMode::Proxy;
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
}

/// A message from `peer` (none: the peer is unknown) with `headers`.
fn message(peer: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri("/api/v1/requests/generic")
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder
        .body(Body::from(
            json!({"content": "hello", "integration_type": "CLI"}).to_string(),
        ))
        .unwrap();
    if let Some(peer) = peer {
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    request
}

async fn session_user(app: &TestApp, session_id: &str) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use shared_db::entities::request_sessions;
    request_sessions::Entity::find()
        .filter(request_sessions::Column::SessionId.eq(session_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .user_id
}

#[tokio::test]
async fn the_proxys_user_header_from_the_trusted_peer_names_the_caller() {
    let app = start().await;

    let (status, answer) = app
        .call(message(
            Some("127.0.0.1:40000"),
            &[
                ("x-forwarded-user", "alice"),
                ("x-forwarded-email", "a@example.com"),
            ],
        ))
        .await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"]["content"], ROUTING_GREETING);
    let user = session_user(&app, answer["session_id"].as_str().unwrap()).await;
    assert_eq!(user, "alice", "x-forwarded-user comes first");
}

#[tokio::test]
async fn without_a_user_the_remote_user_then_the_email_name_the_caller() {
    let app = start().await;

    let (_, remote) = app
        .call(message(
            Some("127.0.0.1:40000"),
            &[
                ("x-remote-user", "bob"),
                ("x-forwarded-email", "b@example.com"),
            ],
        ))
        .await;
    let (_, email) = app
        .call(message(
            Some("127.0.0.1:40001"),
            &[("x-forwarded-email", "carol@example.com")],
        ))
        .await;

    assert_eq!(
        session_user(&app, remote["session_id"].as_str().unwrap()).await,
        "bob"
    );
    assert_eq!(
        session_user(&app, email["session_id"].as_str().unwrap()).await,
        "carol@example.com"
    );
}

#[tokio::test]
async fn the_same_headers_from_any_other_peer_are_refused() {
    let app = start().await;
    for peer in [Some("10.1.2.3:5000"), Some("127.0.0.2:5000"), None] {
        let (status, body) = app
            .call(message(peer, &[("x-forwarded-user", "alice")]))
            .await;

        assert_eq!(status, 401, "{peer:?}: {body}");
        assert_eq!(body["error"], "unauthorized");
        assert!(body["detail"].as_str().unwrap().contains("TRUSTED_PROXIES"));
    }
}

#[tokio::test]
async fn the_mesh_header_is_not_an_identity_in_proxy_mode() {
    let app = start().await;

    let (status, body) = app
        .call(message(
            Some("127.0.0.1:40000"),
            &[("x-user-id", "mallory")],
        ))
        .await;

    assert_eq!(status, 401, "{body}");
}

/// Through the service's own listener over TCP: the peer is the socket's.
#[tokio::test]
async fn over_tcp_the_listener_tells_the_peer() {
    let app = start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = agent_service::server::Limits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(5),
        keepalive_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(1),
    };
    tokio::spawn(agent_service::server::serve(
        listener,
        app.router.clone(),
        std::future::pending(),
        limits,
    ));
    let body = json!({"content": "hello", "integration_type": "CLI"}).to_string();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/v1/requests/generic HTTP/1.1\r\nhost: x\r\nx-forwarded-user: dave\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(20), socket.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(ROUTING_GREETING), "{answer}");
}
