//! Bad input and missing or foreign identity: always a 4xx with a JSON
//! body that says what is wrong, never a 5xx.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{get, json_request, start, start_with};
use serde_json::json;

#[tokio::test]
async fn bad_inputs_get_a_4xx_with_a_json_message() {
    let app = start_with(|config| config.max_body_bytes = 4096).await;
    let sync = "/api/v1/requests/generic/sync";
    let raw = |body: &str, content_type: Option<&str>| {
        let mut builder = Request::builder()
            .method("POST")
            .uri(sync)
            .header("x-user-id", "alice");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(Body::from(body.to_owned())).unwrap()
    };
    let json_ct = Some("application/json");
    let cases: Vec<(&str, Request<Body>, u16, &str)> = vec![
        ("malformed JSON", raw("{\"content\": ", json_ct), 400, "JSON"),
        ("not an object", raw("[1, 2]", json_ct), 422, "invalid type"),
        ("missing content", raw(r#"{"integration_type": "CLI"}"#, json_ct), 422, "content"),
        ("content of the wrong type", raw(r#"{"content": 42, "integration_type": "CLI"}"#, json_ct), 422, "content"),
        ("unknown channel", raw(r#"{"content": "hi", "integration_type": "FAX"}"#, json_ct), 422, "FAX"),
        ("missing channel", raw(r#"{"content": "hi"}"#, json_ct), 422, "integration_type"),
        ("empty content", raw(r#"{"content": "  ", "integration_type": "CLI"}"#, json_ct), 422, "content"),
        ("metadata not an object", raw(r#"{"content": "hi", "integration_type": "CLI", "metadata": 3}"#, json_ct), 422, "metadata"),
        ("overlong request type", raw(&json!({"content": "hi", "integration_type": "CLI", "request_type": "x".repeat(51)}).to_string(), json_ct), 422, "request_type"),
        ("no content type", raw(r#"{"content": "hi", "integration_type": "CLI"}"#, None), 415, "Content-Type"),
        ("oversized body", raw(&json!({"content": "x".repeat(10_000), "integration_type": "CLI"}).to_string(), json_ct), 413, "MAX_BODY_BYTES"),
        ("another user's id in the body", json_request("POST", sync, Some("alice"), &json!({"user_id": "bob", "content": "hi", "integration_type": "CLI"})), 403, "user_id"),
        ("unknown session field", json_request("PUT", "/api/v1/sessions/s-1", Some("alice"), &json!({"stauts": "INACTIVE"})), 422, "stauts"),
        ("unknown session status", json_request("PUT", "/api/v1/sessions/s-1", Some("alice"), &json!({"status": "SLEEPING"})), 422, "SLEEPING"),
        ("unknown route", get("/api/v1/nothing-here", Some("alice")), 404, "no route"),
        ("wrong method", get(sync, Some("alice")), 405, "GET"),
        ("unknown request", get("/api/v1/requests/does-not-exist", Some("alice")), 404, "not found"),
        ("overlong identity", get("/api/v1/requests/r", Some(&"u".repeat(300))), 400, "x-user-id"),
    ];
    for (name, request, expected, needle) in cases {
        let (status, body) = app.call(request).await;
        assert_eq!(status.as_u16(), expected, "{name}: {body}");
        let detail = body["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no JSON detail in {body}"));
        assert!(
            detail.contains(needle),
            "{name}: '{needle}' not in '{detail}'"
        );
        assert!(body["error"].is_string(), "{name}: {body}");
    }
}

#[tokio::test]
async fn without_an_identity_the_api_answers_401() {
    let app = start().await;
    let (status, body) = app.call(get("/api/v1/requests/anything", None)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("x-user-id"));

    let request = json_request(
        "POST",
        "/api/v1/requests/generic/sync",
        None,
        &json!({"content": "hi", "integration_type": "CLI"}),
    );
    assert_eq!(app.call(request).await.0, 401);
}

#[tokio::test]
async fn another_users_request_and_session_answer_exactly_as_unknown_ones() {
    let app = start().await;
    let (_, sent) = app.send("alice", "hello").await;
    let request_id = sent["request_id"].as_str().unwrap();
    let session_id = sent["session_id"].as_str().unwrap();
    let unknown = "00000000-0000-4000-8000-000000000000";

    for (theirs, nobodys) in [
        (
            format!("/api/v1/requests/{request_id}"),
            format!("/api/v1/requests/{unknown}"),
        ),
        (
            format!("/api/v1/sessions/{session_id}"),
            format!("/api/v1/sessions/{unknown}"),
        ),
    ] {
        let (status, body) = app.call(get(&theirs, Some("mallory"))).await;
        let (unknown_status, unknown_body) = app.call(get(&nobodys, Some("mallory"))).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(unknown_status, 404, "{unknown_body}");
        assert_eq!(body["error"], unknown_body["error"]);
        assert_eq!(
            body["detail"]
                .as_str()
                .unwrap()
                .replace(request_id, "ID")
                .replace(session_id, "ID"),
            unknown_body["detail"]
                .as_str()
                .unwrap()
                .replace(unknown, "ID"),
        );
    }
    let (status, _) = app
        .call(json_request(
            "PUT",
            &format!("/api/v1/sessions/{session_id}"),
            Some("mallory"),
            &json!({"status": "INACTIVE"}),
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn api_keys_name_the_user_and_a_missing_or_wrong_key_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "alice alice-key-0123456789abcdef\n").unwrap();
    let app = start_with(common::api_key_mode(&keys)).await;
    let with_key = |key: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/requests/generic/sync")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {key}"))
            .header("x-user-id", "mallory")
            .body(Body::from(
                json!({"content": "hi", "integration_type": "CLI"}).to_string(),
            ))
            .unwrap()
    };

    let (status, body) = app.call(with_key("alice-key-0123456789abcdef")).await;
    assert_eq!(status, 200, "{body}");
    let (_, read) = app
        .call(get(
            &format!("/api/v1/sessions/{}", body["session_id"].as_str().unwrap()),
            None,
        ))
        .await;
    assert_eq!(read["error"], "unauthorized", "{read}");

    let (status, body) = app.call(with_key("wrong-key-0123456789abcdef")).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.to_string().contains("wrong-key-0123456789abcdef"));

    let (status, _) = app.send("alice", "no key, just the header").await;
    assert_eq!(status, 401);
}
