//! The request API of the self-service agent: sessions and requests
//! persisted in PostgreSQL, answered by LlamaStack agents with hand-off
//! between them, plus health, readiness and metrics. Compatible with the
//! Python request manager's clients.

pub mod auth;
pub mod config;
pub mod conversation;
pub mod dispatch;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod queue;
pub mod routes;
pub mod server;
pub mod slack;
pub mod state;
pub mod store;

use app_support::{ConfigError, ExitStatus, Fatal};
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use shared_db::DbConfig;

pub use config::ServiceConfig;
pub use server::{Limits, app, serve, shutdown_signal};
pub use state::AppState;

use crate::auth::{ApiKeys, Authenticator};

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceConfig,
    pub database: DbConfig,
    pub llamastack: LlamaStackConfig,
    /// SMTP and webhook settings of the delivery channels.
    pub delivery: delivery::DeliverySettings,
    /// Slack, when configured.
    pub slack: Option<slack_bridge::SlackSettings>,
}

impl Settings {
    /// Reads all settings and reports every bad variable at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        let service = ServiceConfig::from_env();
        let database = DbConfig::from_env();
        let llamastack = LlamaStackConfig::from_env();
        let delivery = delivery::DeliverySettings::from_env()
            .and_then(|settings| settings.check().map(|()| settings));
        let slack = slack_bridge::SlackSettings::from_env();
        let problems: Vec<String> = [
            service.as_ref().err(),
            database.as_ref().err(),
            llamastack.as_ref().err(),
            delivery.as_ref().err(),
            slack.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .flat_map(|error| error.problems().to_vec())
        .collect();
        ConfigError::check(problems)?;
        match (service, database, llamastack, delivery, slack) {
            (Ok(service), Ok(database), Ok(llamastack), Ok(delivery), Ok(slack)) => Ok(Self {
                service,
                database: database.with_application_name("self-service-agent"),
                llamastack,
                delivery,
                slack,
            }),
            _ => Err(ConfigError::new("invalid settings")),
        }
    }
}

/// Builds the application state: a lazy database pool (the service starts
/// and reports "not ready" while PostgreSQL is away), the LlamaStack
/// client, the authenticator and the request workers, whose lease and
/// sweep start here (inside a tokio runtime).
pub fn state(settings: Settings) -> Result<AppState, Fatal> {
    state_for(settings, Role::Serve)
}

/// [`state`] for `role`: only `serve` runs request workers (their sweep).
pub fn state_for(settings: Settings, role: Role) -> Result<AppState, Fatal> {
    let keys = match &settings.service.api_keys_file {
        Some(path) if settings.service.auth_mode.accepts_api_keys() => ApiKeys::load(path)?,
        _ => ApiKeys::default(),
    };
    let auth = Authenticator::new(
        settings.service.auth_mode,
        &settings.service.user_id_header,
        keys,
    )
    .with_trusted_proxies(&settings.service.trusted_proxies);
    let db = shared_db::connect_lazy(&settings.database);
    let llama = LlamaStackClient::new(settings.llamastack)?;
    let runtime = std::sync::Arc::new(runtime(&settings.service, llama.clone(), role)?);
    let workers = queue::Workers::new(
        shared_db::Lease::new(&settings.database, shared_db::Lease::fresh_id()),
        settings.service.worker_concurrency,
        settings.service.worker_poll_interval,
    );
    let slack = match &settings.slack {
        Some(slack) => Some(
            slack_bridge::SlackBridge::new(slack)
                .map_err(|error| ConfigError::new(format!("Slack: {error}")))?,
        ),
        None => None,
    };
    let mut channels = delivery::Channels::from_settings(&settings.delivery)?;
    channels = match &slack {
        Some(bridge) => channels.with(std::sync::Arc::new(slack::SlackChannel::new(
            bridge.client().clone(),
        ))),
        None => channels.without(
            shared_db::entities::IntegrationType::Slack,
            "Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)",
        ),
    };
    let state = AppState::new(
        settings.service,
        db,
        llama,
        runtime,
        auth,
        workers,
        channels,
        slack,
    );
    match role {
        Role::Serve => {
            queue::start_background(&state);
            watch_assets(&state);
        }
        // The dispatcher's lease: the mark on the deliveries it holds.
        Role::Dispatch => drop(
            state
                .workers
                .lease()
                .keep(std::time::Duration::from_secs(5)),
        ),
    }
    Ok(state)
}

/// The agents of `ASSET_CONFIG_DIR`, checked: a bad directory is a
/// configuration error naming the file and field. A dispatcher runs no
/// agent and reads no directory.
fn runtime(
    config: &ServiceConfig,
    llama: LlamaStackClient,
    role: Role,
) -> Result<agent_runtime::Runtime, Fatal> {
    let settings = agent_runtime::RuntimeSettings {
        max_handoffs: config.max_agent_handoffs,
        mcp_auth_token: config.mcp_auth_token.clone(),
        vector_store_recheck: config.vector_store_recheck,
    };
    let catalog = match role {
        Role::Serve => {
            let started = std::time::Instant::now();
            let catalog =
                agent_runtime::Catalog::load(&config.asset_config_dir, &config.routing_agent)?;
            tracing::info!(
                dir = %config.asset_config_dir.display(),
                agents = catalog.agents().count(),
                took_ms = started.elapsed().as_millis() as u64,
                "asset directory loaded"
            );
            catalog
        }
        Role::Dispatch => agent_runtime::Catalog::empty(&config.routing_agent),
    };
    Ok(agent_runtime::Runtime::new(llama, catalog, settings))
}

/// Reloads the agents when `ASSET_CONFIG_DIR` changes.
fn watch_assets(state: &AppState) {
    let interval = state.config.asset_reload_interval;
    let _watching = agent_runtime::watch(
        state.runtime.clone(),
        state.config.asset_config_dir.clone(),
        interval,
        metrics::record_reload,
    );
}

/// What a process of the service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`: the request API and its workers, and the dispatcher unless
    /// `DISPATCHER_ENABLED=false`.
    Serve,
    /// `dispatch`: the dispatcher alone, with `/health`, `/ready` and
    /// `/metrics`.
    Dispatch,
}

/// Starts the dispatcher of `state` (the chart and tests call it; `run`
/// does for its role).
pub fn start_dispatcher(state: &AppState) -> std::sync::Arc<dispatch::Dispatcher> {
    let dispatcher = std::sync::Arc::new(dispatch::Dispatcher::new(
        state.channels.clone(),
        state.config.dispatch_concurrency,
    ));
    tracing::info!(channels = ?state.channels.available(), "delivering answers");
    tokio::spawn(dispatch::run(state.clone(), dispatcher.clone()));
    dispatcher
}

/// Runs the service in `role` until SIGTERM or Ctrl-C.
pub async fn run(settings: Settings, role: Role) -> Result<(), Fatal> {
    let listen_addr = settings.service.listen_addr;
    // Room for the database pool, LlamaStack's connections and files.
    let reserve = u64::from(settings.database.max_connections) + 64;
    let limits = Limits {
        max_connections: server::connection_cap(settings.service.max_connections, reserve),
        header_read_timeout: settings.service.header_read_timeout,
        keepalive_timeout: settings.service.keepalive_timeout,
        drain_timeout: settings.service.shutdown_timeout,
    };
    let database = settings.database.target();
    let llamastack = settings.llamastack.target();
    let state = state_for(settings, role)?;
    let dispatcher = (role == Role::Dispatch || state.config.dispatcher_enabled)
        .then(|| start_dispatcher(&state));
    let listener = tokio::net::TcpListener::bind(listen_addr)
        .await
        .map_err(|error| {
            Fatal::new(
                ExitStatus::Unavailable,
                format!("cannot listen on {listen_addr}: {error}"),
            )
        })?;
    tracing::info!(
        %listen_addr,
        %database,
        %llamastack,
        max_connections = limits.max_connections,
        ?role,
        "serving"
    );
    // One signal stops all: the server takes no new connections and
    // drains; the workers take no new requests, let what runs finish within
    // the grace, hand the rest back to the queue and tell their callers
    // (who then get an answer before the server's own deadline); the
    // dispatcher claims nothing more and lets its attempts finish.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stopped| *stopped).await;
    };
    let grace = worker_grace(limits.drain_timeout);
    let draining = {
        let state = state.clone();
        let stopped = until_stopped(stopped.clone());
        async move {
            stopped.await;
            let dispatching = async {
                if let Some(dispatcher) = &dispatcher {
                    dispatcher.stop(grace).await;
                }
            };
            tokio::join!(state.workers.drain(&state.db, grace), dispatching);
        }
    };
    let router = match role {
        Role::Serve => app(state.clone()),
        Role::Dispatch => server::health_app(state.clone()),
    };
    let (served, ()) = tokio::join!(
        serve(listener, router, until_stopped(stopped), limits),
        draining
    );
    // Closing the lease lets other replicas take what was handed back at
    // once. Bounded: when the database is gone, the process's end closes
    // the lease's socket all the same.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        state.workers.lease().release(),
    )
    .await;
    served.map_err(|error| Fatal::new(ExitStatus::Failure, format!("server error: {error}")))
}

/// How long running requests may go on after SIGTERM before they are handed
/// back: the drain deadline less the time to answer their callers.
fn worker_grace(drain: std::time::Duration) -> std::time::Duration {
    drain.saturating_sub(queue::HAND_BACK_TIME).max(drain / 2)
}
