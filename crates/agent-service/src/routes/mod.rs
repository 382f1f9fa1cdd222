//! The HTTP routes, one module per resource.

pub mod conversations;
pub mod health;
pub mod integrations;
pub mod requests;
pub mod sessions;
