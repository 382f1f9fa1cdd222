//! `POST /api/v1/sessions`, `GET` and `PUT /api/v1/sessions/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared_db::entities::{IntegrationType, SessionStatus};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Caller, MaybeCaller};
use crate::state::AppState;
use crate::store::{self, NewSession, Session, SessionChanges};

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

/// The longest value of a `varchar(255)` column, in characters.
const MAX_TEXT_LEN: usize = 255;

fn check_length(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(value) if value.chars().count() > MAX_TEXT_LEN => Err(ApiError::Unprocessable(
            format!("{field}: at most {MAX_TEXT_LEN} characters"),
        )),
        _ => Ok(()),
    }
}

async fn create_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    caller.check_claimed(body.user_id.as_deref())?;
    check_length("channel_id", body.channel_id.as_deref())?;
    check_length("thread_id", body.thread_id.as_deref())?;
    check_length("external_session_id", body.external_session_id.as_deref())?;
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

/// The session, when it exists and the caller (if any) owns it. Another
/// user's session answers exactly as an unknown one, so ids cannot be
/// probed.
async fn owned_session(
    state: &AppState,
    session_id: &str,
    caller: Option<&Identity>,
) -> Result<Session, ApiError> {
    let not_found = || ApiError::NotFound(format!("session {session_id} not found"));
    let session = store::get_session(&state.db, session_id)
        .await?
        .ok_or_else(not_found)?;
    match caller {
        Some(caller) if caller.as_str() != session.user_id => Err(not_found()),
        _ => Ok(session),
    }
}

async fn get_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(
        owned_session(&state, &session_id, Some(&caller)).await?,
    ))
}

/// What a client may change on a session.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    pub status: Option<SessionStatus>,
    pub current_agent_id: Option<String>,
    pub integration_metadata: Option<Value>,
    pub user_context: Option<Value>,
}

impl UpdateSession {
    /// `{"status": "INACTIVE"}` and nothing else: the reset.
    fn is_reset(&self) -> bool {
        *self
            == UpdateSession {
                status: Some(SessionStatus::Inactive),
                current_agent_id: None,
                integration_metadata: None,
                user_context: None,
            }
    }
}

/// The answer to a reset by a caller that did not identify itself: no
/// session data, only what it asked for.
#[derive(Debug, Serialize)]
struct ResetAnswer {
    session_id: String,
    status: SessionStatus,
}

/// The existing chat client resets its session with
/// `PUT {"status": "INACTIVE"}` and sends no identity: the session id it got
/// back from its own request is its proof. That reset, and only that, is
/// accepted without identity (in header mode), and is answered without the
/// session's data. Anything else needs the session's owner.
async fn update_session(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    ApiPath(session_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateSession>,
) -> Result<Response, ApiError> {
    let Some(caller) = caller else {
        if state.auth.mode().accepts_api_keys() || !body.is_reset() {
            return Err(ApiError::Unauthorized(format!(
                "{}; without it only {{\"status\": \"INACTIVE\"}} (a reset) is accepted",
                state.auth.missing_identity_message()
            )));
        }
        let session = owned_session(&state, &session_id, None).await?;
        store::update_session(
            &state.db,
            &session,
            SessionChanges {
                status: Some(SessionStatus::Inactive),
                ..SessionChanges::default()
            },
        )
        .await?;
        return Ok(Json(ResetAnswer {
            session_id,
            status: SessionStatus::Inactive,
        })
        .into_response());
    };
    let session = owned_session(&state, &session_id, Some(&caller)).await?;
    check_length("current_agent_id", body.current_agent_id.as_deref())?;
    if let Some(agent) = &body.current_agent_id
        && state.runtime.catalog().agent(agent).is_none()
    {
        return Err(ApiError::Unprocessable(format!(
            "current_agent_id: no agent named '{agent}' in the asset directory"
        )));
    }
    let updated = store::update_session(
        &state.db,
        &session,
        SessionChanges {
            status: body.status,
            current_agent_id: body.current_agent_id,
            integration_metadata: body.integration_metadata,
            user_context: body.user_context,
        },
    )
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("session {session_id} not found")))?;
    Ok(Json(updated).into_response())
}
