//! One error type for every handler. 4xx answers carry a message the caller
//! can act on; database and internal failures are logged here and answered
//! without their details.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::WWW_AUTHENTICATE;
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    /// The agent turn failed; the request is stored as failed.
    #[error("{message}")]
    AgentFailed {
        message: String,
        request_id: String,
        session_id: String,
    },
    /// The agent turn took longer than the request timeout; stored as failed.
    #[error("{message}")]
    AgentTimeout {
        message: String,
        request_id: String,
        session_id: String,
    },
    /// The request took longer than its outer deadline.
    #[error("{0}")]
    Timeout(String),
    /// This replica stopped before answering; the request goes on elsewhere.
    #[error("{message}")]
    Requeued {
        message: String,
        request_id: String,
        session_id: String,
    },
    #[error("the database is unavailable; try again shortly")]
    DatabaseUnavailable,
    #[error("LlamaStack is unavailable; try again shortly")]
    LlamaStackUnavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::AgentFailed { .. } => StatusCode::BAD_GATEWAY,
            ApiError::AgentTimeout { .. } | ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Requeued { .. }
            | ApiError::DatabaseUnavailable
            | ApiError::LlamaStackUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable name of the error kind.
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unprocessable(_) => "invalid_body",
            ApiError::AgentFailed { .. } => "agent_failed",
            ApiError::AgentTimeout { .. } => "agent_timeout",
            ApiError::Timeout(_) => "timeout",
            ApiError::Requeued { .. } => "requeued",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::LlamaStackUnavailable => "llamastack_unavailable",
            ApiError::Internal => "internal",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        if shared_db::is_unavailable(&error) {
            tracing::warn!(%error, "database unavailable");
            ApiError::DatabaseUnavailable
        } else {
            tracing::error!(%error, "database error");
            ApiError::Internal
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({ "detail": self.to_string(), "error": self.code() });
        if let ApiError::AgentFailed {
            request_id,
            session_id,
            ..
        }
        | ApiError::AgentTimeout {
            request_id,
            session_id,
            ..
        }
        | ApiError::Requeued {
            request_id,
            session_id,
            ..
        } = &self
        {
            body["request_id"] = json!(request_id);
            body["session_id"] = json!(session_id);
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
