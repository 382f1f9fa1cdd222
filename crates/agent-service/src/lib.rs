//! The request API of the self-service agent: sessions and requests
//! persisted in PostgreSQL, answered by LlamaStack agents with hand-off
//! between them, plus health, readiness and metrics. Compatible with the
//! Python request manager's clients.

pub mod agents;
pub mod auth;
pub mod config;
pub mod conversation;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;

use app_support::{ConfigError, ExitStatus, Fatal};
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use shared_db::DbConfig;

pub use config::ServiceConfig;
pub use server::{app, serve, shutdown_signal};
pub use state::AppState;

use crate::auth::{ApiKeys, Authenticator};

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceConfig,
    pub database: DbConfig,
    pub llamastack: LlamaStackConfig,
}

impl Settings {
    /// Reads all settings and reports every bad variable at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let service = ServiceConfig::from_env();
        let database = DbConfig::from_env();
        let llamastack = LlamaStackConfig::from_env();
        match (service, database, llamastack) {
            (Ok(service), Ok(database), Ok(llamastack)) => Ok(Self {
                service,
                database: database.with_application_name("self-service-agent"),
                llamastack,
            }),
            (service, database, llamastack) => {
                let problems = [service.err(), database.err(), llamastack.err()]
                    .into_iter()
                    .flatten()
                    .flat_map(|error| error.problems().to_vec())
                    .collect();
                ConfigError::check(problems).map(|()| unreachable!("at least one setting failed"))
            }
        }
    }
}

/// Builds the application state: a lazy database pool (the service starts
/// and reports "not ready" while PostgreSQL is away), the LlamaStack
/// client and the authenticator.
pub fn state(settings: Settings) -> Result<AppState, Fatal> {
    let keys = match &settings.service.api_keys_file {
        Some(path) if settings.service.auth_mode.accepts_api_keys() => ApiKeys::load(path)?,
        _ => ApiKeys::default(),
    };
    let auth = Authenticator::new(
        settings.service.auth_mode,
        &settings.service.user_id_header,
        keys,
    );
    let db = shared_db::connect_lazy(&settings.database);
    let llama = LlamaStackClient::new(settings.llamastack)?;
    Ok(AppState::new(settings.service, db, llama, auth))
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(settings: Settings) -> Result<(), Fatal> {
    let listen_addr = settings.service.listen_addr;
    let drain_timeout = settings.service.shutdown_timeout;
    let database = settings.database.target();
    let llamastack = settings.llamastack.target();
    let state = state(settings)?;
    let listener = tokio::net::TcpListener::bind(listen_addr)
        .await
        .map_err(|error| {
            Fatal::new(
                ExitStatus::Unavailable,
                format!("cannot listen on {listen_addr}: {error}"),
            )
        })?;
    tracing::info!(%listen_addr, %database, %llamastack, "serving the request API");
    serve(listener, app(state), shutdown_signal(), drain_timeout)
        .await
        .map_err(|error| Fatal::new(ExitStatus::Failure, format!("server error: {error}")))
}
