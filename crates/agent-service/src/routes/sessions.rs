//! `POST /api/v1/sessions`, `GET` and `PUT /api/v1/sessions/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sea_orm::ActiveValue::Set;
use sea_orm::IntoActiveModel;
use serde::Deserialize;
use serde_json::Value;
use shared_db::entities::{IntegrationType, SessionStatus};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, MaybeCaller};
use crate::state::AppState;
use crate::store::{self, NewSession, Session};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(create_session))
        .route(
            "/api/v1/sessions/{session_id}",
            get(get_session).put(update_session),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    pub user_id: Option<String>,
    pub integration_type: IntegrationType,
    pub channel_id: Option<String>,
    pub thread_id: Option<String>,
    pub external_session_id: Option<String>,
    pub integration_metadata: Option<Value>,
    pub user_context: Option<Value>,
}

async fn create_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    caller.check_claimed(body.user_id.as_deref())?;
    for (field, value) in [
        ("channel_id", &body.channel_id),
        ("thread_id", &body.thread_id),
        ("external_session_id", &body.external_session_id),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > 255) {
            return Err(ApiError::Unprocessable(format!(
                "{field}: at most 255 characters"
            )));
        }
    }
    let session = store::open_session(
        &state.db,
        caller.as_str(),
        body.integration_type,
        NewSession {
            channel_id: body.channel_id,
            thread_id: body.thread_id,
            external_session_id: body.external_session_id,
            integration_metadata: body.integration_metadata,
            user_context: body.user_context,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn owned_session(
    state: &AppState,
    session_id: &str,
    caller: Option<&Identity>,
) -> Result<Session, ApiError> {
    let session = store::get_session(&state.db, session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session {session_id} not found")))?;
    match caller {
        Some(caller) if caller.as_str() != session.user_id => Err(ApiError::Forbidden(format!(
            "session {session_id} belongs to another user"
        ))),
        _ => Ok(session),
    }
}

async fn get_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(session_id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(
        owned_session(&state, &session_id, Some(&caller)).await?,
    ))
}

/// What a client may change on a session.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    pub status: Option<SessionStatus>,
    pub current_agent_id: Option<String>,
    pub integration_metadata: Option<Value>,
    pub user_context: Option<Value>,
}

/// The existing chat client resets its session with
/// `PUT {"status": "INACTIVE"}` and sends no identity: the session id it got
/// back from its own request is its proof. When the caller does identify
/// itself it must own the session; with API keys an identity is required.
async fn update_session(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<UpdateSession>,
) -> Result<Json<Session>, ApiError> {
    if caller.is_none() && state.auth.mode().accepts_api_keys() {
        return Err(ApiError::Unauthorized(
            state.auth.missing_identity_message(),
        ));
    }
    let session = owned_session(&state, &session_id, caller.as_ref()).await?;
    if body
        .current_agent_id
        .as_ref()
        .is_some_and(|agent| agent.len() > 255)
    {
        return Err(ApiError::Unprocessable(
            "current_agent_id: at most 255 characters".into(),
        ));
    }
    let mut active = match body.status {
        // Only one ACTIVE session per user and channel: others step down.
        Some(SessionStatus::Active) => {
            store::reactivate_session(&state.db, &session).await?;
            let mut active = session.into_active_model();
            active.status = Set(SessionStatus::Active);
            active
        }
        Some(status) => {
            let mut active = session.into_active_model();
            active.status = Set(status);
            active
        }
        None => session.into_active_model(),
    };
    if let Some(agent) = body.current_agent_id {
        active.current_agent_id = Set(Some(agent));
    }
    if let Some(metadata) = body.integration_metadata {
        active.integration_metadata = Set(Some(metadata));
    }
    if let Some(context) = body.user_context {
        active.user_context = Set(Some(context));
    }
    active.updated_at = Set(chrono::Utc::now().fixed_offset());
    Ok(Json(store::save_session(&state.db, active).await?))
}
