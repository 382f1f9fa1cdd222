//! The application state every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;
use shared_clients::llamastack::LlamaStackClient;

use crate::agents::AgentDirectory;
use crate::auth::Authenticator;
use crate::config::ServiceConfig;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub llama: LlamaStackClient,
    pub agents: Arc<AgentDirectory>,
    pub config: Arc<ServiceConfig>,
    pub auth: Authenticator,
}

impl AppState {
    pub fn new(
        config: ServiceConfig,
        db: DatabaseConnection,
        llama: LlamaStackClient,
        auth: Authenticator,
    ) -> Self {
        Self {
            agents: Arc::new(AgentDirectory::new(llama.clone())),
            db,
            llama,
            config: Arc::new(config),
            auth,
        }
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
