//! The fake's HTTP surface: the LlamaStack 0.2.18 routes of `docs/llamastack.md`,
//! answering with the real server's shapes and status codes (a missing
//! agent is a 400 "Invalid value", a missing vector DB or toolgroup a 404,
//! a non-streaming turn a 501).

#![allow(clippy::result_large_err)] // handlers answer errors as ready `Response`s

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::state::RecordedRequest;
use super::{Inner, lock};

mod agents;
mod openai;
mod resources;

use agents::*;
use openai::*;
use resources::*;

pub(crate) use agents::insert_agent;

type Shared = State<Arc<Inner>>;
type Answer = Result<Response, Response>;

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async { axum::Json(json!({"status": "OK"})) }),
        )
        .route("/v1/models", get(list_models))
        .route("/v1/providers", get(list_providers))
        .route(
            "/v1/vector-dbs",
            get(list_vector_dbs).post(register_vector_db),
        )
        .route(
            "/v1/vector-dbs/{id}",
            get(get_vector_db).delete(unregister_vector_db),
        )
        .route("/v1/tool-runtime/rag-tool/insert", post(rag_insert))
        .route(
            "/v1/toolgroups",
            get(list_toolgroups).post(register_toolgroup),
        )
        .route(
            "/v1/toolgroups/{id}",
            get(get_toolgroup).delete(unregister_toolgroup),
        )
        .route("/v1/agents", get(list_agents).post(create_agent))
        .route("/v1/agents/{id}", get(get_agent).delete(delete_agent))
        .route("/v1/agents/{id}/session", post(create_session))
        .route("/v1/agents/{id}/session/{session}/turn", post(create_turn))
        .route("/v1/openai/v1/files", get(list_files).post(upload_file))
        .route(
            "/v1/openai/v1/files/{id}",
            get(get_file).delete(delete_file),
        )
        .route("/v1/openai/v1/files/{id}/content", get(file_content))
        .route(
            "/v1/openai/v1/vector_stores",
            get(list_stores).post(create_store),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}",
            get(get_store).post(update_store).delete(delete_store),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}/files",
            get(list_store_files).post(attach_file),
        )
        .route(
            "/v1/openai/v1/vector_stores/{id}/files/{file}",
            get(get_store_file).delete(detach_file),
        )
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(Arc::clone(&inner), gate))
        // The real server takes uploads of hundreds of MB; axum's default is 2 MB.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(inner)
}

/// The largest request body the fake reads (recorded, then handed on).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Records the request, applies the added latency and the injected answers
/// (a fault names the path or its route, e.g. `/v1/agents/{id}`).
async fn gate(State(inner): Shared, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the fake LlamaStack reads bodies of at most {MAX_BODY_BYTES} bytes"),
        );
    };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    lock(&inner.requests).push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let (latency, injected) = {
        let mut faults = lock(&inner.faults);
        let injected = faults.paths.iter_mut().find(|fault| {
            fault.remaining > 0
                && (fault.path == path || Some(&fault.path) == route.as_ref())
                && fault.method.as_ref().is_none_or(|m| *m == method)
        });
        let status = injected.map(|fault| {
            fault.remaining -= 1;
            fault.status
        });
        faults.paths.retain(|fault| fault.remaining > 0);
        (faults.latency, status)
    };
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return detail(
            status,
            "Internal server error: An unexpected error occurred.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": message }))).into_response()
}

fn bad_request(message: String) -> Response {
    detail(
        StatusCode::BAD_REQUEST,
        &format!("Invalid value: {message}"),
    )
}

fn not_found(message: String) -> Response {
    detail(StatusCode::NOT_FOUND, &message)
}

/// FastAPI's answer to a missing or mistyped body field.
fn invalid_field(location: &[&str], message: &str) -> Response {
    let mut loc = vec!["body"];
    loc.extend_from_slice(location);
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"error": {"detail": {"errors": [{"loc": loc, "msg": message, "type": "missing"}]}}}),
        ),
    )
        .into_response()
}

fn json_body(bytes: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_field(&[], "Input should be a valid dictionary")),
    }
}

fn required_str(body: &Map<String, Value>, field: &str) -> Result<String, Response> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid_field(&[field], "Field required"))
}

fn ok(value: Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

/// What the legacy API answers to a successful DELETE.
fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn list(data: Vec<Value>) -> Answer {
    ok(json!({ "data": data }))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A strictly increasing ISO 8601 timestamp, as pydantic writes datetimes.
fn next_timestamp(inner: &Inner) -> String {
    let mut clock = lock(&inner.clock);
    let now = chrono::Utc::now().timestamp_micros();
    *clock = now.max(*clock + 1);
    chrono::DateTime::from_timestamp_micros(*clock)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}
