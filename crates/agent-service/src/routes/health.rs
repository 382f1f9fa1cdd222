//! `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::metrics;
use crate::state::AppState;

/// How long a readiness check may wait on each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
}

/// Liveness: the process serves. It reports the database but does not fail
/// on it, so an outage of PostgreSQL does not restart every pod.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database_connected = database_reachable(&state).await.is_ok();
    Json(json!({
        "status": "healthy",
        "service": "self-service-agent",
        "version": env!("CARGO_PKG_VERSION"),
        "database_connected": database_connected,
    }))
}

/// Readiness: the database answers, its schema is at the expected revision
/// and LlamaStack answers.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let expected = state.config.expected_migration_version.as_str();
    let (database, schema) = match database_reachable(&state).await {
        Err(reason) => (Err(reason), Err("database unreachable".to_owned())),
        Ok(()) => {
            let schema = match tokio::time::timeout(
                CHECK_TIMEOUT,
                shared_db::current_alembic_revision(&state.db),
            )
            .await
            {
                Ok(Ok(Some(revision))) if shared_db::revision_satisfies(&revision, expected) => {
                    Ok(revision)
                }
                Ok(Ok(Some(revision))) => {
                    Err(format!("at revision {revision}, expected {expected}"))
                }
                Ok(Ok(None)) => Err(format!("not migrated, expected {expected}")),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("no answer".to_owned()),
            };
            (Ok(()), schema)
        }
    };
    let llamastack = state
        .llama
        .ping(CHECK_TIMEOUT)
        .await
        .map_err(|error| error.to_string());
    let ready = database.is_ok() && schema.is_ok() && llamastack.is_ok();
    let check = |result: &Result<_, String>| match result {
        Ok(_) => json!({"ok": true}),
        Err(reason) => json!({"ok": false, "reason": reason}),
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": check(&database),
            "schema": match &schema {
                Ok(revision) => json!({"ok": true, "revision": revision}),
                Err(reason) => json!({"ok": false, "reason": reason}),
            },
            "llamastack": check(&llamastack),
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn database_reachable(state: &AppState) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, shared_db::ping(&state.db)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer".to_owned()),
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&state.metrics, &state.db),
    )
}
