//! The service's own settings (the database and LlamaStack have theirs in
//! `shared-db` and `shared-clients`), from environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use app_support::{ConfigError, Seconds, from_env};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::auth::AuthMode;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct RawServiceConfig {
    listen_addr: String,
    expected_migration_version: String,
    auth_mode: String,
    user_id_header: String,
    api_keys_file: Option<PathBuf>,
    request_timeout: Seconds,
    shutdown_timeout: Seconds,
    max_body_bytes: usize,
    body_read_timeout: Seconds,
    header_read_timeout: Seconds,
    keepalive_timeout: Seconds,
    max_connections: usize,
    routing_agent: String,
    max_agent_handoffs: u32,
    mcp_auth_token: Option<SecretString>,
    asset_config_dir: PathBuf,
    asset_reload_interval: Seconds,
    vector_store_recheck_interval: Seconds,
    worker_concurrency: usize,
    worker_poll_interval: Seconds,
    delivery_ttl: Seconds,
    dispatcher_enabled: bool,
    dispatch_concurrency: usize,
    dispatch_poll_interval: Seconds,
    delivery_max_backoff: Seconds,
    admin_users: String,
    trusted_proxies: String,
}

impl Default for RawServiceConfig {
    fn default() -> Self {
        Self {
            listen_addr: "0.0.0.0:8080".into(),
            expected_migration_version: shared_db::latest_alembic_revision().into(),
            auth_mode: "header".into(),
            user_id_header: "x-user-id".into(),
            api_keys_file: None,
            request_timeout: Seconds::new(120),
            shutdown_timeout: Seconds::new(30),
            max_body_bytes: 1024 * 1024,
            body_read_timeout: Seconds::new(30),
            header_read_timeout: Seconds::new(10),
            keepalive_timeout: Seconds::new(75),
            max_connections: 4096,
            routing_agent: "routing-agent".into(),
            max_agent_handoffs: 3,
            mcp_auth_token: None,
            asset_config_dir: PathBuf::from("/app/config"),
            asset_reload_interval: Seconds::new(30),
            vector_store_recheck_interval: Seconds::new(10),
            worker_concurrency: 64,
            worker_poll_interval: Seconds::new(2),
            delivery_ttl: Seconds::new(24 * 60 * 60),
            dispatcher_enabled: true,
            dispatch_concurrency: 16,
            dispatch_poll_interval: Seconds::new(1),
            delivery_max_backoff: Seconds::new(60 * 60),
            admin_users: String::new(),
            trusted_proxies: "127.0.0.1,::1".into(),
        }
    }
}

/// Validated settings of the request API.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub listen_addr: SocketAddr,
    /// `/ready` fails until the schema is at this alembic revision.
    pub expected_migration_version: String,
    pub auth_mode: AuthMode,
    /// Header carrying the caller's identity, set by a trusted proxy or mesh.
    pub user_id_header: String,
    /// `<user_id> <key>` per line; `*` as user id marks a service key that
    /// acts for the user named in the identity header.
    pub api_keys_file: Option<PathBuf>,
    /// The longest one request (all its agent turns) may take.
    pub request_timeout: Duration,
    /// After SIGTERM, how long in-flight requests get to finish.
    pub shutdown_timeout: Duration,
    pub max_body_bytes: usize,
    /// The longest a client may take to send a request body.
    pub body_read_timeout: Duration,
    /// The longest a client may take to send a request's head, from its
    /// first byte (slow clients hold a connection each).
    pub header_read_timeout: Duration,
    /// A keep-alive connection idle this long is closed; keep it above the
    /// idle timeout of the load balancer in front.
    pub keepalive_timeout: Duration,
    /// The most connections served at once (also bounded by the open-files
    /// limit, less room for the database pool and LlamaStack).
    pub max_connections: usize,
    /// The agent every new session starts with.
    pub routing_agent: String,
    /// The most hand-offs (`transfer_to_<agent>` calls or `ROUTE_TO:`
    /// lines) one request follows.
    pub max_agent_handoffs: u32,
    /// Sent to the agents' MCP servers as a Bearer token, in the `headers`
    /// of every MCP tool, when they require one.
    pub mcp_auth_token: Option<SecretString>,
    /// The asset directory (agents, prompts, MCP servers, knowledge bases):
    /// loaded at start, reloaded when it changes.
    pub asset_config_dir: PathBuf,
    /// How often the asset directory is read again besides its change
    /// events (for filesystems that send none).
    pub asset_reload_interval: Duration,
    /// How long the knowledge bases' vector stores, once listed, are used
    /// before they are listed again (a search over a deleted store is no
    /// error on the server: it finds nothing).
    pub vector_store_recheck: Duration,
    /// Requests this replica runs at once.
    pub worker_concurrency: usize,
    /// How often a replica looks for work no one runs (a replica that died,
    /// requests that waited for a free worker).
    pub worker_poll_interval: Duration,
    /// A delivery not done by then is EXPIRED.
    pub delivery_ttl: Duration,
    /// Whether `serve` also delivers answers (`dispatch` runs the dispatcher alone).
    pub dispatcher_enabled: bool,
    /// Deliveries this replica attempts at once.
    pub dispatch_concurrency: usize,
    /// How often the dispatcher looks for due deliveries.
    pub dispatch_poll_interval: Duration,
    /// The longest pause between two attempts of one delivery.
    pub delivery_max_backoff: Duration,
    /// Users who may manage anyone's integrations (`ADMIN_USERS`, comma-separated).
    pub admin_users: Vec<String>,
    /// The peers whose identity headers `AUTH_MODE=proxy` believes
    /// (`TRUSTED_PROXIES`, comma-separated addresses; default the pod's
    /// own loopback, where an authenticating proxy runs beside the service).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl ServiceConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_raw(from_env()?)
    }

    fn from_raw(raw: RawServiceConfig) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let listen_addr = raw.listen_addr.parse().map_err(|_| {
            problems.push(format!(
                "LISTEN_ADDR: expected host:port such as 0.0.0.0:8080, found '{}'",
                raw.listen_addr
            ));
        });
        let auth_mode = raw.auth_mode.parse::<AuthMode>().map_err(|error| {
            problems.push(format!("AUTH_MODE: {error}"));
        });
        if matches!(auth_mode, Ok(mode) if mode.accepts_api_keys()) && raw.api_keys_file.is_none() {
            problems.push(format!(
                "API_KEYS_FILE: required when AUTH_MODE is '{}'",
                raw.auth_mode
            ));
        }
        if raw.user_id_header.trim().is_empty()
            || axum::http::HeaderName::try_from(raw.user_id_header.as_str()).is_err()
        {
            problems.push(format!(
                "USER_ID_HEADER: '{}' is not a valid header name",
                raw.user_id_header
            ));
        }
        if raw.request_timeout.is_zero() {
            problems.push("REQUEST_TIMEOUT: must be at least 1 second".into());
        }
        for (var, value) in [
            ("BODY_READ_TIMEOUT", raw.body_read_timeout),
            ("HEADER_READ_TIMEOUT", raw.header_read_timeout),
            ("KEEPALIVE_TIMEOUT", raw.keepalive_timeout),
        ] {
            if value.duration() < Duration::from_millis(100) {
                problems.push(format!("{var}: must be at least 0.1 seconds"));
            }
        }
        if raw.dispatch_concurrency == 0 {
            problems.push("DISPATCH_CONCURRENCY: must be at least 1".into());
        }
        for (var, value) in [
            ("DISPATCH_POLL_INTERVAL", raw.dispatch_poll_interval),
            ("DELIVERY_TTL", raw.delivery_ttl),
            ("DELIVERY_MAX_BACKOFF", raw.delivery_max_backoff),
        ] {
            if value.duration() < Duration::from_millis(50) {
                problems.push(format!("{var}: must be at least 0.05 seconds"));
            }
        }
        if raw.worker_concurrency == 0 {
            problems.push("WORKER_CONCURRENCY: must be at least 1".into());
        }
        if raw.worker_poll_interval.duration() < Duration::from_millis(50) {
            problems.push("WORKER_POLL_INTERVAL: must be at least 0.05 seconds".into());
        }
        if raw.max_connections == 0 {
            problems.push("MAX_CONNECTIONS: must be at least 1".into());
        }
        if raw.max_body_bytes < 1024 {
            problems.push("MAX_BODY_BYTES: must be at least 1024".into());
        }
        if raw.routing_agent.trim().is_empty() {
            problems.push("ROUTING_AGENT: must not be empty".into());
        }
        if raw.asset_reload_interval.duration() < Duration::from_millis(100) {
            problems.push("ASSET_RELOAD_INTERVAL: must be at least 0.1 seconds".into());
        }
        if raw.expected_migration_version.trim().is_empty() {
            problems.push("EXPECTED_MIGRATION_VERSION: must not be empty".into());
        }
        let mut trusted_proxies = Vec::new();
        for address in raw
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match address.parse() {
                Ok(address) => trusted_proxies.push(address),
                Err(_) => {
                    problems.push(format!("TRUSTED_PROXIES: '{address}' is not an IP address"))
                }
            }
        }
        ConfigError::check(problems)?;
        match (listen_addr, auth_mode) {
            (Ok(listen_addr), Ok(auth_mode)) => Ok(Self {
                listen_addr,
                expected_migration_version: raw.expected_migration_version,
                auth_mode,
                user_id_header: raw.user_id_header.to_ascii_lowercase(),
                api_keys_file: raw.api_keys_file,
                request_timeout: raw.request_timeout.duration(),
                shutdown_timeout: raw.shutdown_timeout.duration(),
                max_body_bytes: raw.max_body_bytes,
                body_read_timeout: raw.body_read_timeout.duration(),
                header_read_timeout: raw.header_read_timeout.duration(),
                keepalive_timeout: raw.keepalive_timeout.duration(),
                max_connections: raw.max_connections,
                routing_agent: raw.routing_agent,
                max_agent_handoffs: raw.max_agent_handoffs,
                mcp_auth_token: raw
                    .mcp_auth_token
                    .filter(|token| !token.expose_secret().is_empty()),
                asset_config_dir: raw.asset_config_dir,
                asset_reload_interval: raw.asset_reload_interval.duration(),
                vector_store_recheck: raw.vector_store_recheck_interval.duration(),
                worker_concurrency: raw.worker_concurrency,
                worker_poll_interval: raw.worker_poll_interval.duration(),
                delivery_ttl: raw.delivery_ttl.duration(),
                dispatcher_enabled: raw.dispatcher_enabled,
                dispatch_concurrency: raw.dispatch_concurrency,
                dispatch_poll_interval: raw.dispatch_poll_interval.duration(),
                delivery_max_backoff: raw.delivery_max_backoff.duration(),
                admin_users: raw
                    .admin_users
                    .split(',')
                    .map(str::trim)
                    .filter(|user| !user.is_empty())
                    .map(str::to_owned)
                    .collect(),
                trusted_proxies,
            }),
            _ => Err(ConfigError::new("invalid settings")),
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        match Self::from_raw(RawServiceConfig::default()) {
            Ok(config) => config,
            Err(error) => unreachable!("the defaults are valid: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_8080_with_header_identity() {
        let config = ServiceConfig::default();
        assert_eq!(config.listen_addr.port(), 8080);
        assert_eq!(config.auth_mode, AuthMode::Header);
        assert_eq!(config.expected_migration_version, "001");
    }

    #[test]
    fn every_bad_setting_is_named() {
        let error = ServiceConfig::from_raw(RawServiceConfig {
            listen_addr: "everywhere".into(),
            auth_mode: "api-key".into(),
            request_timeout: Seconds::new(0),
            ..RawServiceConfig::default()
        })
        .unwrap_err()
        .to_string();
        for var in ["LISTEN_ADDR", "API_KEYS_FILE", "REQUEST_TIMEOUT"] {
            assert!(error.contains(var), "{var} missing from: {error}");
        }
    }

    #[test]
    fn proxy_mode_trusts_the_loopback_by_default_and_names_a_bad_address() {
        let config = ServiceConfig::from_raw(RawServiceConfig {
            auth_mode: "proxy".into(),
            ..RawServiceConfig::default()
        })
        .unwrap();
        assert_eq!(config.auth_mode, AuthMode::Proxy);
        let loopback: Vec<std::net::IpAddr> =
            vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        assert_eq!(config.trusted_proxies, loopback);
        let error = ServiceConfig::from_raw(RawServiceConfig {
            trusted_proxies: "10.0.0.1, proxy.local".into(),
            ..RawServiceConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("TRUSTED_PROXIES") && error.contains("proxy.local"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_auth_mode_lists_the_valid_ones() {
        let error = ServiceConfig::from_raw(RawServiceConfig {
            auth_mode: "magic".into(),
            ..RawServiceConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("AUTH_MODE") && error.contains("header-or-api-key"),
            "{error}"
        );
    }
}
