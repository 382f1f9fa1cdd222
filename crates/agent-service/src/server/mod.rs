//! The axum application: routes and the layers every request passes
//! through; [`listen`] serves it with connection limits and a bounded drain.

mod listen;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::metrics;
use crate::routes;
use crate::state::AppState;

pub use listen::{Limits, connection_cap, serve};

/// Extra time the outer deadline grants over the request timeout, so the
/// request's own deadline fires first and the request is stored as failed.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let slack = state
        .slack
        .clone()
        .map(|bridge| slack_bridge::router(bridge, crate::slack::Inbox::new(state.clone())));
    let mut routes = Router::new()
        .merge(routes::requests::router())
        .merge(routes::conversations::router())
        .merge(routes::sessions::router())
        .merge(routes::integrations::router())
        .merge(routes::health::router())
        .with_state(state);
    if let Some(slack) = slack {
        routes = routes.merge(slack);
    }
    routes
        .route_layer(middleware::from_fn(metrics::label_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.max_body_bytes,
            refuse_oversized,
        ))
        .layer(middleware::from_fn(refuse_nul_in_path))
        .layer(middleware::from_fn_with_state(
            config.request_timeout + TIMEOUT_MARGIN,
            deadline,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::Internal.into_response()
        }))
        // outside everything that can answer, so every answer is counted
        .layer(middleware::from_fn(metrics::track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id = %request_id,
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A declared body length over the limit is refused before any of it is
/// read (the body limit alone would wait for a body that never comes).
async fn refuse_oversized(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u128>().ok());
    match declared {
        Some(length) if length > limit as u128 => ApiError::PayloadTooLarge(format!(
            "request body of {length} bytes is larger than the limit of {limit} (MAX_BODY_BYTES)"
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

/// PostgreSQL text cannot hold NUL: a path naming one is refused, whatever
/// the route (ids come from the path).
async fn refuse_nul_in_path(request: Request, next: Next) -> Response {
    if request.uri().path().to_ascii_lowercase().contains("%00") {
        return ApiError::BadRequest("the path must not contain a NUL character (%00)".into())
            .into_response();
    }
    next.run(request).await
}

/// The outer deadline of every request, answered in the API's error shape.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Timeout(format!("no answer within {}s", limit.as_secs_f64())).into_response()
        }
    }
}

/// The application of a dispatcher-only process: `/health`, `/ready`,
/// `/metrics`.
pub fn health_app(state: AppState) -> Router {
    routes::health::router()
        .with_state(state)
        .route_layer(middleware::from_fn(metrics::label_route))
        .fallback(not_found)
        .layer(middleware::from_fn(metrics::track))
}

async fn not_found(request: axum::extract::Request) -> Response {
    ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

async fn method_not_allowed(request: axum::extract::Request) -> Response {
    ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
