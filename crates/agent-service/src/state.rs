//! The application state every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;
use shared_clients::llamastack::LlamaStackClient;

use crate::auth::Authenticator;
use crate::config::ServiceConfig;
use crate::extract::BodyRules;
use crate::queue::Workers;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub llama: LlamaStackClient,
    /// The agents (loaded from `ASSET_CONFIG_DIR`, reloaded when it
    /// changes) and the Responses client that runs them.
    pub runtime: Arc<agent_runtime::Runtime>,
    pub config: Arc<ServiceConfig>,
    pub auth: Authenticator,
    /// Renders `/metrics`. Created with the state, so the recorder is in
    /// place before the first request records anything.
    pub metrics: PrometheusHandle,
    /// This replica's request workers.
    pub workers: Arc<Workers>,
    /// Wakes the dispatcher when answers were queued for delivery.
    pub deliveries: Arc<tokio::sync::Notify>,
    /// The delivery channels this service offers (for checking configs;
    /// the dispatcher sends through them).
    pub channels: delivery::Channels,
    /// Slack, when `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` are set.
    pub slack: Option<slack_bridge::SlackBridge>,
    /// Callers streaming a request's answer, told of its turn's events.
    pub listeners: Arc<crate::conversation::Listeners>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: ServiceConfig,
        db: DatabaseConnection,
        llama: LlamaStackClient,
        runtime: Arc<agent_runtime::Runtime>,
        auth: Authenticator,
        workers: Workers,
        channels: delivery::Channels,
        slack: Option<slack_bridge::SlackBridge>,
    ) -> Self {
        Self {
            channels,
            slack,
            workers: Arc::new(workers),
            deliveries: Arc::new(tokio::sync::Notify::new()),
            runtime,
            db,
            llama,
            config: Arc::new(config),
            auth,
            metrics: crate::metrics::install(),
            listeners: Arc::default(),
        }
    }
}

/// The PostgreSQL channel on which a stored answer tells every dispatcher
/// that it queued deliveries (`docs/delivery.md`); the payload is the
/// sender's lease id.
pub const DELIVERIES_CHANNEL: &str = "ssa_deliveries";

impl AppState {
    /// Tells this replica's dispatcher that deliveries are due.
    pub fn deliveries_queued(&self) {
        self.deliveries.notify_one();
    }

    /// Tells every dispatcher that deliveries are due: this replica's at
    /// once, the others (`self-service-agent dispatch`, other replicas)
    /// through `NOTIFY`. A hint only: a dispatcher that misses it finds the
    /// rows at its next poll.
    pub async fn announce_deliveries(&self) {
        use sea_orm::ConnectionTrait as _;
        self.deliveries_queued();
        let notify = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [DELIVERIES_CHANNEL.into(), self.workers.id().into()],
        );
        if let Err(error) = self.db.execute_raw(notify).await {
            tracing::debug!(%error, "could not announce the deliveries; the dispatchers' poll finds them");
        }
    }
}

impl FromRef<AppState> for BodyRules {
    fn from_ref(state: &AppState) -> Self {
        BodyRules {
            read_timeout: state.config.body_read_timeout,
        }
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
