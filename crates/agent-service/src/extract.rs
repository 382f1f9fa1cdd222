//! Extractors whose rejections use the API's error shape: a JSON body
//! (malformed JSON, wrong types, bad enum values, oversized bodies) and the
//! caller's identity.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::{Authenticator, Identity};
use crate::error::ApiError;

/// `axum::Json` with rejections turned into [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let message = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(
            "request body is larger than the configured limit (MAX_BODY_BYTES)".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "expected a body with Content-Type: application/json".into(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(message),
        _ => ApiError::BadRequest(message),
    }
}

/// The authenticated caller; rejects with 401 when there is none.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl<S> FromRequestParts<S> for Caller
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(identity)) => Ok(Self(identity)),
            MaybeCaller(None) => Err(ApiError::Unauthorized(
                Authenticator::from_ref(state).missing_identity_message(),
            )),
        }
    }
}

/// The caller when one identified itself; credentials that are present
/// but invalid are still rejected.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Identity>);

impl<S> FromRequestParts<S> for MaybeCaller
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            Authenticator::from_ref(state).identify(&parts.headers)?,
        ))
    }
}
