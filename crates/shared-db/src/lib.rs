//! The request database: sea-orm entities for its seven tables, the
//! migrations that create them (schema-compatible with the Python system's
//! alembic revisions), configuration from the environment, and connecting,
//! waiting and health checks. Knows nothing of HTTP or LlamaStack.

pub mod config;
pub mod database;
pub mod entities;
pub mod error;
pub mod lease;
pub mod migrate;
pub mod migration;

pub use config::DbConfig;
pub use database::{
    connect_lazy, current_alembic_revision, is_unavailable, is_unique_violation, ping,
    revision_satisfies, wait_for_database, wait_for_migration,
};
pub use error::DbError;
pub use lease::Lease;
pub use migration::{Migrator, latest_alembic_revision};
