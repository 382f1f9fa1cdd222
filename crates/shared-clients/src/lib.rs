//! Clients of the services the project talks to: LlamaStack (the agents'
//! runtime) and, for `self-service-agent chat`, the request API.
//! Knows nothing of the database.

pub mod llamastack;

pub use llamastack::{LlamaStackClient, LlamaStackConfig, LlamaStackError};
