//! The fake's HTTP surface: what the project calls on each server
//! (`docs/llamastack.md`), with the real servers' shapes and status codes,
//! under the flavour's API base. Anything else answers FastAPI's 404.

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

use super::flavor::detail;
use super::state::RecordedRequest;
use super::{Inner, lock};

mod files;
mod resources;
mod responses;

type Shared = State<Arc<Inner>>;
type Answer = Result<Response, Response>;

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let base = inner.flavor.api_base();
    let at = |path: &str| format!("{base}{path}");
    let mut router = Router::new()
        .route(
            "/v1/health",
            get(|| async { axum::Json(json!({"status": "OK"})) }),
        )
        .route("/v1/version", get(resources::version))
        .route("/v1/models", get(resources::list_models))
        .route("/v1/providers", get(resources::list_providers))
        .route(&at("/responses"), post(responses::create))
        .route(&at("/responses/{id}"), get(responses::get))
        .route(
            &at("/files"),
            get(files::list_files).post(files::upload_file),
        )
        .route(
            &at("/files/{id}"),
            get(files::get_file).delete(files::delete_file),
        )
        .route(&at("/files/{id}/content"), get(files::file_content))
        .route(
            &at("/vector_stores"),
            get(files::list_stores).post(files::create_store),
        )
        .route(
            &at("/vector_stores/{id}"),
            get(files::get_store)
                .post(files::update_store)
                .delete(files::delete_store),
        )
        .route(
            &at("/vector_stores/{id}/files"),
            get(files::list_store_files).post(files::attach_file),
        )
        .route(
            &at("/vector_stores/{id}/files/{file}"),
            get(files::get_store_file).delete(files::detach_file),
        );
    if inner.flavor.is_legacy() {
        router = router
            .route("/v1/openai/v1/models", get(resources::list_openai_models))
            .route("/v1/agents", get(resources::list_agents))
            .route(
                "/v1/agents/{id}",
                axum::routing::delete(resources::delete_agent),
            )
            .route("/v1/toolgroups", get(resources::list_toolgroups))
            .route(
                "/v1/toolgroups/{id}",
                axum::routing::delete(resources::unregister_toolgroup),
            )
            .route("/v1/vector-dbs", get(resources::list_vector_dbs))
            .route(
                "/v1/vector-dbs/{id}",
                axum::routing::delete(resources::unregister_vector_db),
            );
    }
    router
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(Arc::clone(&inner), gate))
        // The real servers take uploads of hundreds of MB; axum's default is 2 MB.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(inner)
}

/// The largest request body the fake reads (recorded, then handed on).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Records the request, applies the added latency and the injected answers
/// (a fault names the path or its route, e.g. `/v1/vector_stores/{id}`).
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

fn json_body(inner: &Inner, bytes: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(inner
            .flavor
            .invalid(&[], "Input should be a valid dictionary")),
    }
}

fn required_str(inner: &Inner, body: &Map<String, Value>, field: &str) -> Result<String, Response> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| inner.flavor.invalid(&[json!(field)], "Field required"))
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

pub(crate) fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}
