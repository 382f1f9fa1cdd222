//! Clients of the services the project talks to: LlamaStack (the agents'
//! runtime) and, for `self-service-agent chat`, the request API.
//! Knows nothing of the database.

pub mod llamastack;
pub mod request_api;

pub use llamastack::{LlamaStackClient, LlamaStackConfig, LlamaStackError};
pub use request_api::{RequestApiClient, RequestApiError};
