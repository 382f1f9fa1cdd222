//! sea-orm entities for the seven tables of alembic revision `001`.

pub mod delivery_logs;
pub mod enums;
pub mod integration_credentials;
pub mod integration_templates;
pub mod processed_events;
pub mod request_logs;
pub mod request_sessions;
pub mod user_integration_configs;

pub use enums::{DeliveryStatus, IntegrationType, SessionStatus};
