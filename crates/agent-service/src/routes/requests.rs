//! `POST /api/v1/requests/{generic,cli,web}/sync` and `GET /api/v1/requests/{id}`,
//! as the Python request manager's clients expect them.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use shared_clients::request_api::{AgentResponse, RequestState, RequestStatus, SyncResponse};
use shared_db::entities::IntegrationType;

use crate::auth::Identity;
use crate::conversation::{self, Message};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests/generic/sync", post(generic_sync))
        .route("/api/v1/requests/cli/sync", post(cli_sync))
        .route("/api/v1/requests/web/sync", post(web_sync))
        .route("/api/v1/requests/{request_id}", get(get_request))
}

/// The body existing clients send. Fields this service does not use (such
/// as `use_responses`) are accepted and ignored, so older and newer
/// clients keep working.
#[derive(Debug, Deserialize)]
pub struct SyncRequestBody {
    pub user_id: Option<String>,
    pub content: String,
    pub integration_type: Option<IntegrationType>,
    #[serde(default = "default_request_type")]
    pub request_type: String,
    #[serde(default)]
    pub metadata: Option<Value>,
}

fn default_request_type() -> String {
    "message".into()
}

async fn generic_sync(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<SyncRequestBody>,
) -> Result<Json<SyncResponse>, ApiError> {
    let integration = body.integration_type.ok_or_else(|| {
        ApiError::Unprocessable("integration_type: missing field (e.g. \"CLI\", \"WEB\")".into())
    })?;
    sync(state, caller, body, integration).await
}

async fn cli_sync(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<SyncRequestBody>,
) -> Result<Json<SyncResponse>, ApiError> {
    sync(state, caller, body, IntegrationType::Cli).await
}

async fn web_sync(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<SyncRequestBody>,
) -> Result<Json<SyncResponse>, ApiError> {
    sync(state, caller, body, IntegrationType::Web).await
}

/// The longest `request_type` the schema stores (`varchar(50)`).
const MAX_REQUEST_TYPE_LEN: usize = 50;

async fn sync(
    state: AppState,
    caller: Identity,
    body: SyncRequestBody,
    integration: IntegrationType,
) -> Result<Json<SyncResponse>, ApiError> {
    caller.check_claimed(body.user_id.as_deref())?;
    if body.content.trim().is_empty() {
        return Err(ApiError::Unprocessable("content: must not be empty".into()));
    }
    if body.request_type.is_empty() || body.request_type.len() > MAX_REQUEST_TYPE_LEN {
        return Err(ApiError::Unprocessable(format!(
            "request_type: must be 1 to {MAX_REQUEST_TYPE_LEN} characters"
        )));
    }
    let metadata = match body.metadata {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(object @ Value::Object(_)) => object,
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "metadata: must be a JSON object".into(),
            ));
        }
    };
    let completed = conversation::handle(
        state,
        Message {
            user_id: caller.as_str().to_owned(),
            integration,
            request_type: body.request_type,
            content: body.content,
            metadata,
        },
    )
    .await?;
    Ok(Json(SyncResponse {
        request_id: completed.request_id,
        session_id: completed.session_id,
        status: RequestState::Completed,
        response: AgentResponse {
            content: completed.content,
            agent_id: completed.agent,
            metadata: completed.metadata,
            processing_time_ms: i64::from(completed.processing_time_ms),
        },
    }))
}

async fn get_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(request_id): Path<String>,
) -> Result<Json<RequestStatus>, ApiError> {
    let not_found = || ApiError::NotFound(format!("request {request_id} not found"));
    let (log, session) = store::get_request(&state.db, &request_id)
        .await?
        .ok_or_else(not_found)?;
    let owner = session.map(|session| session.user_id);
    if owner.as_deref() != Some(caller.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "request {request_id} belongs to another user"
        )));
    }
    let failed_reason = log
        .response_metadata
        .as_ref()
        .filter(|meta| meta.get("status").and_then(Value::as_str) == Some("failed"))
        .map(|meta| {
            meta.get("error")
                .and_then(Value::as_str)
                .unwrap_or("failed")
                .to_owned()
        });
    let status = match (&failed_reason, &log.response_content) {
        (Some(_), _) => RequestState::Failed,
        (None, Some(_)) => RequestState::Completed,
        (None, None) => RequestState::Processing,
    };
    let response = log.response_content.map(|content| AgentResponse {
        content,
        agent_id: log.agent_id.clone().unwrap_or_default(),
        metadata: log.response_metadata.clone().unwrap_or(Value::Null),
        processing_time_ms: i64::from(log.processing_time_ms.unwrap_or_default()),
    });
    Ok(Json(RequestStatus {
        request_id: log.request_id,
        session_id: log.session_id,
        status,
        request_type: log.request_type,
        created_at: log.created_at,
        completed_at: log.completed_at,
        response,
        error: failed_reason,
    }))
}
