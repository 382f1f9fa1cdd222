//! Bad input on the MCP endpoint is answered in JSON-RPC's own terms: a body
//! that is not JSON is a parse error (-32700), JSON that is not a JSON-RPC
//! message an invalid request (-32600), both with 400. rmcp itself answers
//! these (and a wrong `Accept` or `Content-Type`) in plain text; other
//! plain-text 4xx answers of the transport are wrapped the same way.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

/// The largest request body the MCP endpoint reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

/// Middleware: checks a POST body before rmcp sees it, and gives the
/// transport's plain-text refusals a JSON-RPC body.
pub async fn checked(request: Request, next: Next) -> Response {
    let request = if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Value::Null,
                    INVALID_REQUEST,
                    &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                );
            }
        };
        if let Err(rejection) = validate(&bytes) {
            return error(
                StatusCode::BAD_REQUEST,
                rejection.id,
                rejection.code,
                &rejection.message,
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    let response = next.run(request).await;
    if response.status().is_client_error() && !is_json(&response) {
        return rewrap(response).await;
    }
    response
}

/// Why a body was refused: the JSON-RPC error to answer.
#[derive(Debug)]
struct Rejection {
    id: Value,
    code: i64,
    message: String,
}

fn validate(bytes: &[u8]) -> Result<(), Rejection> {
    let value: Value = serde_json::from_slice(bytes).map_err(|problem| Rejection {
        id: Value::Null,
        code: PARSE_ERROR,
        message: format!("Parse error: the body is not JSON ({problem})"),
    })?;
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    serde_json::from_value::<ClientJsonRpcMessage>(value).map_err(|problem| Rejection {
        id,
        code: INVALID_REQUEST,
        message: format!(
            "Invalid Request: not a JSON-RPC 2.0 message of the MCP protocol ({problem})"
        ),
    })?;
    Ok(())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

async fn rewrap(response: Response) -> Response {
    let status = response.status();
    let allow = response.headers().get(header::ALLOW).cloned();
    let text = to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned()
    } else {
        text
    };
    let mut response = error(status, Value::Null, INVALID_REQUEST, &message);
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

fn error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code, "message": message},
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), Rejection>) -> Option<i64> {
        result.err().map(|rejection| rejection.code)
    }

    #[test]
    fn an_initialize_request_passes() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        assert_eq!(code(validate(body)), None);
    }

    #[test]
    fn a_body_that_is_not_json_is_a_parse_error() {
        assert_eq!(code(validate(b"{not json")), Some(PARSE_ERROR));
    }

    #[test]
    fn json_that_is_not_json_rpc_is_an_invalid_request_keeping_its_id() {
        let rejection = validate(br#"{"id": 4, "hello":"world"}"#).unwrap_err();
        assert_eq!(rejection.code, INVALID_REQUEST);
        assert_eq!(rejection.id, 4);
    }
}
