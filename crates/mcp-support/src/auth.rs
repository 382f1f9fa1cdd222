//! `MCP_AUTH_TOKEN`: the MCP endpoint answers only calls that carry
//! `Authorization: Bearer <token>`. The comparison is constant-time on
//! SHA-256 digests (so neither the content nor the length leaks through
//! timing), the token is never logged, and the header is removed before the
//! request goes further.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The expected token, held only as its digest.
#[derive(Clone)]
pub struct BearerToken {
    digest: Arc<[u8; 32]>,
}

impl BearerToken {
    pub fn new(token: &SecretString) -> Self {
        Self {
            digest: Arc::new(Sha256::digest(token.expose_secret().as_bytes()).into()),
        }
    }

    fn accepts(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(presented.ct_eq(&*self.digest))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

/// Middleware: 401 unless the request carries the token.
pub async fn require_token(
    State(token): State<BearerToken>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, credentials) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| credentials.trim())
        });
    match presented {
        Some(presented) if token.accepts(presented) => {
            request.headers_mut().remove(header::AUTHORIZATION);
            next.run(request).await
        }
        presented => {
            let detail = if presented.is_some() {
                "the bearer token is not valid"
            } else {
                "this MCP server needs an Authorization: Bearer <token> header"
            };
            tracing::warn!(path = %request.uri().path(), "MCP call refused: {detail}");
            unauthorized(detail)
        }
    }
}

fn unauthorized(detail: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({"error": "unauthorized", "detail": detail})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_is_accepted() {
        let token = BearerToken::new(&SecretString::from("s3cret-token"));
        assert!(token.accepts("s3cret-token"));
        assert!(!token.accepts("s3cret-toke"));
        assert!(!token.accepts(""));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let token = BearerToken::new(&SecretString::from("s3cret-token"));
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
