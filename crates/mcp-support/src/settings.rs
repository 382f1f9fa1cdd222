//! The settings every MCP server reads from its environment.

use std::net::SocketAddr;
use std::time::Duration;

use app_support::{ConfigError, Seconds, from_env};
use secrecy::SecretString;
use serde::Deserialize;

/// What `MCP_TRANSPORT` may say. The image template sets `streamable-http`;
/// the Python servers' deployments set `sse` or `http`. Every one of them is
/// served as streamable HTTP, at `/mcp` and at `/sse`.
const TRANSPORTS: &[&str] = &["streamable-http", "http", "sse"];

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    listen_addr: String,
    mcp_auth_token: Option<SecretString>,
    mcp_allow_any_employee: String,
    mcp_allowed_hosts: String,
    mcp_transport: String,
    shutdown_timeout: Seconds,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            listen_addr: "0.0.0.0:8000".into(),
            mcp_auth_token: None,
            mcp_allow_any_employee: "false".into(),
            mcp_allowed_hosts: String::new(),
            mcp_transport: "streamable-http".into(),
            shutdown_timeout: Seconds::new(10),
        }
    }
}

/// Validated server settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen_addr: SocketAddr,
    /// When set, MCP calls need `Authorization: Bearer <token>`.
    pub auth_token: Option<SecretString>,
    /// Help-desk mode: a tool may act for any employee named in its
    /// arguments, whoever the caller is.
    pub allow_any_employee: bool,
    /// `Host` values the MCP endpoint accepts (DNS rebinding protection);
    /// empty accepts any, as a Kubernetes Service is reached by its own name.
    pub allowed_hosts: Vec<String>,
    /// After SIGTERM, how long in-flight calls get to finish.
    pub shutdown_timeout: Duration,
}

impl ServerSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_raw(from_env()?)
    }

    fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let listen_addr = raw.listen_addr.parse::<SocketAddr>().map_err(|_| {
            problems.push(format!(
                "LISTEN_ADDR: expected host:port such as 0.0.0.0:8000, found '{}'",
                raw.listen_addr
            ));
        });
        let allow_any_employee = parse_bool(&raw.mcp_allow_any_employee).ok_or_else(|| {
            problems.push(format!(
                "MCP_ALLOW_ANY_EMPLOYEE: expected true or false, found '{}'",
                raw.mcp_allow_any_employee
            ));
        });
        if !TRANSPORTS.contains(&raw.mcp_transport.as_str()) {
            problems.push(format!(
                "MCP_TRANSPORT: expected one of {}, found '{}'",
                TRANSPORTS.join(", "),
                raw.mcp_transport
            ));
        }
        if raw.mcp_transport == "sse" {
            tracing::info!(
                "MCP_TRANSPORT=sse: the legacy SSE transport is not served; streamable HTTP is, \
                 at /mcp and at /sse (LlamaStack tries it first at any uri)"
            );
        }
        let auth_token = raw.mcp_auth_token.filter(|token| {
            use secrecy::ExposeSecret as _;
            !token.expose_secret().is_empty()
        });
        ConfigError::check(problems)?;
        match (listen_addr, allow_any_employee) {
            (Ok(listen_addr), Ok(allow_any_employee)) => Ok(Self {
                listen_addr,
                auth_token,
                allow_any_employee,
                allowed_hosts: raw
                    .mcp_allowed_hosts
                    .split(',')
                    .map(str::trim)
                    .filter(|host| !host.is_empty())
                    .map(str::to_owned)
                    .collect(),
                shutdown_timeout: raw.shutdown_timeout.duration(),
            }),
            _ => Err(ConfigError::new("invalid settings")),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        match Self::from_raw(RawSettings::default()) {
            Ok(settings) => settings,
            Err(error) => unreachable!("the defaults are valid: {error}"),
        }
    }
}

/// Two settings results as one, so a server reports every bad variable of
/// both at once.
pub fn both<A, B>(
    a: Result<A, ConfigError>,
    b: Result<B, ConfigError>,
) -> Result<(A, B), ConfigError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let problems: Vec<String> = [a.err(), b.err()]
                .into_iter()
                .flatten()
                .flat_map(|error| error.problems().to_vec())
                .collect();
            ConfigError::check(problems)?;
            Err(ConfigError::new("invalid settings"))
        }
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), any case.
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_8000_without_a_token_in_self_service_mode() {
        let settings = ServerSettings::default();
        assert_eq!(settings.listen_addr.port(), 8000);
        assert!(settings.auth_token.is_none());
        assert!(!settings.allow_any_employee);
        assert!(settings.allowed_hosts.is_empty());
    }

    #[test]
    fn every_bad_setting_is_named() {
        let error = ServerSettings::from_raw(RawSettings {
            listen_addr: "anywhere".into(),
            mcp_allow_any_employee: "sometimes".into(),
            mcp_transport: "carrier-pigeon".into(),
            ..RawSettings::default()
        })
        .unwrap_err()
        .to_string();
        for var in ["LISTEN_ADDR", "MCP_ALLOW_ANY_EMPLOYEE", "MCP_TRANSPORT"] {
            assert!(error.contains(var), "{var} missing from: {error}");
        }
    }

    #[test]
    fn an_empty_token_means_no_token() {
        let settings = ServerSettings::from_raw(RawSettings {
            mcp_auth_token: Some(SecretString::from("")),
            ..RawSettings::default()
        })
        .unwrap();
        assert!(settings.auth_token.is_none());
    }

    #[test]
    fn allowed_hosts_are_a_comma_separated_list() {
        let settings = ServerSettings::from_raw(RawSettings {
            mcp_allowed_hosts: " snow:8000, snow.agents.svc ,".into(),
            ..RawSettings::default()
        })
        .unwrap();
        assert_eq!(settings.allowed_hosts, ["snow:8000", "snow.agents.svc"]);
    }
}
