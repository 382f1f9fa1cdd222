//! Extractors whose rejections use the API's error shape: a JSON body
//! (malformed JSON, wrong types, bad enum values, oversized, slow or
//! NUL-holding bodies), path parameters and the caller's identity.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Authenticator, Identity};
use crate::error::ApiError;

/// What every JSON body must respect besides its type.
#[derive(Debug, Clone, Copy)]
pub struct BodyRules {
    /// The longest a client may take to send the body.
    pub read_timeout: Duration,
}

/// A JSON body: a JSON object with `Content-Type: application/json`, read
/// within [`BodyRules::read_timeout`], with no NUL character in any key or
/// string (PostgreSQL text cannot hold one), deserialised into `T` with
/// errors naming the field. Every rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    BodyRules: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        let rules = BodyRules::from_ref(state);
        let bytes = tokio::time::timeout(rules.read_timeout, Bytes::from_request(request, state))
            .await
            .map_err(|_| {
                ApiError::RequestTimeout(format!(
                    "the request body did not arrive within {}s (BODY_READ_TIMEOUT)",
                    rules.read_timeout.as_secs_f64()
                ))
            })?
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(
                    "request body is larger than the configured limit (MAX_BODY_BYTES)".into(),
                ),
                _ => ApiError::BadRequest(rejection.body_text()),
            })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| ApiError::BadRequest(format!("invalid JSON: {error}")))?;
        if !value.is_object() {
            return Err(ApiError::Unprocessable(format!(
                "invalid type: the body must be a JSON object, found {}",
                kind(&value)
            )));
        }
        if let Some(path) = nul_path(&value, &mut String::new()) {
            return Err(ApiError::Unprocessable(format!(
                "{path}: must not contain a NUL character (\\u0000)"
            )));
        }
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                if path == "." {
                    ApiError::Unprocessable(inner.to_string())
                } else {
                    ApiError::Unprocessable(format!("{path}: {inner}"))
                }
            })
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The path (`metadata.notes[2]`) of the first key or string holding NUL.
fn nul_path(value: &Value, path: &mut String) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(display_path(path)),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let length = path.len();
            path.push_str(&format!("[{index}]"));
            let found = nul_path(item, path);
            path.truncate(length);
            found
        }),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let length = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key.replace('\0', "\\u0000"));
            let found = if key.contains('\0') {
                Some(display_path(path))
            } else {
                nul_path(item, path)
            };
            path.truncate(length);
            found
        }),
        _ => None,
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// `axum::extract::Path` with rejections (a segment that is not UTF-8, say)
/// turned into [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
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
        // The listener records each connection's peer.
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(Self(
            Authenticator::from_ref(state).identify_from(&parts.headers, peer)?,
        ))
    }
}
