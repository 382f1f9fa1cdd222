//! What differs between the servers the fake plays (`docs/llamastack.md`,
//! "The three servers"): where the API lives, how ids and models look, and
//! how each answers an error.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The server a fake plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// LlamaStack 0.2.18: base `/v1/openai/v1`, the Agents API's legacy
    /// listings, `resp-<uuid>` ids, fewer stream events, no `usage`,
    /// `previous_response_id` not echoed, function tools need a
    /// `description`, a bare model name accepted.
    V0_2_18,
    /// LlamaStack 0.7.3 and OGX 1.5.0 as OGX answers: base `/v1`, no Agents
    /// API, `resp_<uuid>` ids, `usage`, only listed (provider-prefixed)
    /// model ids.
    #[default]
    Current,
}

impl Flavor {
    /// `--flavor` values: `0.2.18`, `current`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "0.2.18" => Some(Flavor::V0_2_18),
            "current" | "ogx" | "0.7.3" => Some(Flavor::Current),
            _ => None,
        }
    }

    /// The base of `responses`, `files`, `vector_stores`.
    pub fn api_base(self) -> &'static str {
        match self {
            Flavor::V0_2_18 => "/v1/openai/v1",
            Flavor::Current => "/v1",
        }
    }

    /// What `GET /v1/version` says.
    pub fn version(self) -> &'static str {
        match self {
            Flavor::V0_2_18 => "0.2.18",
            Flavor::Current => "1.5.0",
        }
    }

    pub(crate) fn is_legacy(self) -> bool {
        self == Flavor::V0_2_18
    }

    pub(crate) fn response_id(self) -> String {
        match self {
            Flavor::V0_2_18 => format!("resp-{}", uuid::Uuid::new_v4()),
            Flavor::Current => format!("resp_{}", uuid::Uuid::new_v4()),
        }
    }

    /// An unknown `previous_response_id` or response id: status and message.
    pub(crate) fn response_missing(self, id: &str) -> (StatusCode, String) {
        match self {
            Flavor::V0_2_18 => (
                StatusCode::BAD_REQUEST,
                format!("Invalid value: Response with id {id} not found"),
            ),
            Flavor::Current => (
                StatusCode::NOT_FOUND,
                format!(
                    "Response '{id}' not found. Use 'client.responses.list()' to list available Responses."
                ),
            ),
        }
    }

    pub(crate) fn model_missing(self, model: &str) -> (StatusCode, String) {
        (
            StatusCode::NOT_FOUND,
            format!(
                "Model '{model}' not found. Use 'client.models.list()' to list available Models."
            ),
        )
    }

    pub(crate) fn store_missing(self, id: &str) -> Response {
        match self {
            Flavor::V0_2_18 => bad_request(format!("Vector_db '{id}' not found")),
            Flavor::Current => detail(
                StatusCode::NOT_FOUND,
                &format!(
                    "Vector Store '{id}' not found. Use 'client.vector_dbs.list()' to list available Vector Stores."
                ),
            ),
        }
    }

    pub(crate) fn file_missing(self, id: &str) -> Response {
        match self {
            Flavor::V0_2_18 => bad_request(format!("File with id {id} not found")),
            Flavor::Current => detail(
                StatusCode::NOT_FOUND,
                &format!(
                    "File '{id}' not found. Use 'client.files.list()' to list available Files."
                ),
            ),
        }
    }

    /// A body that fails validation: FastAPI's answer as each server shapes it.
    pub(crate) fn invalid(self, location: &[Value], message: &str) -> Response {
        let mut loc = vec![json!("body")];
        loc.extend_from_slice(location);
        let error = json!({"loc": loc, "msg": message, "type": "missing"});
        let body = match self {
            Flavor::V0_2_18 => json!({"error": {"detail": {"errors": [error]}}}),
            Flavor::Current => json!({"detail": [error]}),
        };
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }

    /// The in-stream error event of a failure with `status` and `message`
    /// (each server's stream writer), `sequence` the next sequence number.
    pub(crate) fn error_event(self, status: StatusCode, message: &str, sequence: u64) -> Value {
        match self {
            Flavor::V0_2_18 => {
                json!({"error": {"message": format!("{}: {message}", status.as_u16())}})
            }
            Flavor::Current => {
                let code = if status.is_server_error() {
                    "server_error".to_owned()
                } else {
                    status.as_u16().to_string()
                };
                json!({"code": code, "message": message, "param": null, "sequence_number": sequence, "type": "error"})
            }
        }
    }

    /// A model as `GET /v1/models` lists it.
    pub(crate) fn listed_model(self, model: &super::FakeModel) -> Value {
        let (provider, resource) = model.provider_and_resource();
        match self {
            Flavor::V0_2_18 => {
                let metadata = match model.embedding_dimension {
                    Some(dimension) => json!({ "embedding_dimension": dimension }),
                    None => json!({}),
                };
                json!({"identifier": model.id, "provider_resource_id": resource, "provider_id": provider,
                       "type": "model", "metadata": metadata, "model_type": model.model_type})
            }
            Flavor::Current => {
                let mut custom = json!({"model_type": model.model_type, "provider_id": provider,
                                        "provider_resource_id": resource});
                if let Some(dimension) = model.embedding_dimension {
                    custom["embedding_dimension"] = json!(dimension);
                }
                json!({"id": model.id, "object": "model", "created": super::routes::now_seconds(),
                       "owned_by": "llama_stack", "custom_metadata": custom})
            }
        }
    }
}

pub(crate) fn detail(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "detail": message }))).into_response()
}

pub(crate) fn bad_request(message: String) -> Response {
    detail(
        StatusCode::BAD_REQUEST,
        &format!("Invalid value: {message}"),
    )
}
