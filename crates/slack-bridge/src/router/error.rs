//! Refusals, in the service's error shape: `{"detail": …, "error": …}`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::verify::VerifyError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BridgeError {
    #[error("not a request from Slack: {0}")]
    Unauthorized(VerifyError),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    BadRequest(String),
    #[error("expected a body of Content-Type {0}")]
    UnsupportedMediaType(&'static str),
    #[error("only POST is served here")]
    MethodNotAllowed,
    #[error("{0}; Slack will deliver it again")]
    Unavailable(String),
}

impl BridgeError {
    fn kind(&self) -> (StatusCode, &'static str) {
        match self {
            BridgeError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            BridgeError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            BridgeError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            BridgeError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            BridgeError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            BridgeError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "inbox_unavailable"),
        }
    }
}

impl IntoResponse for BridgeError {
    fn into_response(self) -> Response {
        let (status, kind) = self.kind();
        match &self {
            BridgeError::Unavailable(_) => tracing::error!(error = %self, "Slack request failed"),
            _ => tracing::warn!(status = status.as_u16(), error = %self, "Slack request refused"),
        }
        let mut response = (
            status,
            Json(json!({"detail": self.to_string(), "error": kind})),
        )
            .into_response();
        // A body Slack sent that cannot be read will not read better next
        // time: no redelivery (Slack honours this header on events).
        if matches!(
            self,
            BridgeError::BadRequest(_) | BridgeError::UnsupportedMediaType(_)
        ) {
            response
                .headers_mut()
                .insert("x-slack-no-retry", HeaderValue::from_static("1"));
        }
        if matches!(self, BridgeError::MethodNotAllowed) {
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}
