//! Where LlamaStack is and how patiently to talk to it. Read from the same
//! environment variables as the Python system (`LLAMA_STACK_URL`, or the
//! Kubernetes-style `LLAMASTACK_SERVICE_HOST` with the default port 8321).
//! The optional API key is kept in a [`SecretString`] and never formatted.

use std::fmt;
use std::time::Duration;

use app_support::{ConfigError, from_env};
use reqwest::Url;
use secrecy::SecretString;
use serde::Deserialize;

use super::base::ApiBase;

/// LlamaStack's port when only a host is given (`LLAMASTACK_SERVICE_HOST`).
pub const DEFAULT_PORT: u16 = 8321;
/// Per-request timeout unless configured (the asset `config.yaml` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Retries after the first attempt on connection errors and 5xx answers.
pub const DEFAULT_RETRIES: u32 = 3;

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfig {
    llama_stack_url: Option<String>,
    llamastack_service_host: Option<String>,
    llama_stack_api_key: Option<SecretString>,
    llama_stack_timeout: Option<f64>,
    llama_stack_retries: Option<u32>,
    llama_stack_api_base: Option<String>,
}

/// Settings of a [`crate::llamastack::LlamaStackClient`].
#[derive(Clone)]
pub struct LlamaStackConfig {
    pub(crate) base_url: Url,
    pub(crate) api_key: Option<SecretString>,
    /// Whole-request timeout, streaming turns included.
    pub timeout: Duration,
    /// How long to wait for a TCP connection before counting an attempt as failed.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (connection errors and 5xx only).
    pub retries: u32,
    /// First pause between attempts; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Where the OpenAI-compatible API lives (`LLAMA_STACK_API_BASE`);
    /// `None`: ask the server ([`LlamaStackClient::api_base`](super::LlamaStackClient::api_base)).
    pub api_base: Option<ApiBase>,
}

impl LlamaStackConfig {
    /// Reads and validates the settings; every bad variable is named.
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw: RawConfig = from_env()?;
        let mut problems = Vec::new();
        let base_url = match (&raw.llama_stack_url, &raw.llamastack_service_host) {
            (Some(url), _) if !url.trim().is_empty() => {
                parse_base_url(url.trim()).map_err(|why| format!("LLAMA_STACK_URL: {why}"))
            }
            (_, Some(host)) if !host.trim().is_empty() => {
                url_for_host(host.trim()).map_err(|why| format!("LLAMASTACK_SERVICE_HOST: {why}"))
            }
            _ => Err(
                "LLAMA_STACK_URL: not set (nor LLAMASTACK_SERVICE_HOST); where is LlamaStack?"
                    .to_owned(),
            ),
        };
        let base_url = base_url.map_err(|problem| problems.push(problem));
        let timeout = match raw.llama_stack_timeout {
            Some(seconds) => duration_from_secs(seconds)
                .map_err(|why| problems.push(format!("LLAMA_STACK_TIMEOUT: {why}"))),
            None => Ok(DEFAULT_TIMEOUT),
        };
        let api_base = match raw.llama_stack_api_base.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => ApiBase::parse(text)
                .map(Some)
                .map_err(|why| problems.push(format!("LLAMA_STACK_API_BASE: {why}"))),
            _ => Ok(None),
        };
        ConfigError::check(problems)?;
        let (Ok(base_url), Ok(timeout), Ok(api_base)) = (base_url, timeout, api_base) else {
            return Err(ConfigError::new("LLAMA_STACK_URL: invalid"));
        };
        let mut config = Self::new(base_url);
        config.api_key = raw
            .llama_stack_api_key
            .filter(|key| !secrecy::ExposeSecret::expose_secret(key).is_empty());
        config.timeout = timeout;
        config.retries = raw.llama_stack_retries.unwrap_or(DEFAULT_RETRIES);
        config.api_base = api_base;
        Ok(config)
    }

    /// Settings for a known base URL (tests, tools), with default timeouts.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(5),
            retries: DEFAULT_RETRIES,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            api_base: None,
        }
    }

    /// Parses `url` as the base URL (`http://host:8321`, a path prefix is kept).
    pub fn for_url(url: &str) -> Result<Self, ConfigError> {
        parse_base_url(url)
            .map(Self::new)
            .map_err(|why| ConfigError::new(format!("LlamaStack URL: {why}")))
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_retries(mut self, retries: u32, min_backoff: Duration) -> Self {
        self.retries = retries;
        self.min_backoff = min_backoff;
        self.max_backoff = self.max_backoff.max(min_backoff);
        self
    }

    /// Use this API base instead of asking the server.
    pub fn with_api_base(mut self, base: ApiBase) -> Self {
        self.api_base = Some(base);
        self
    }

    pub fn with_api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `scheme://host:port` of the server, for logs: never a path, query or
    /// user information.
    pub fn target(&self) -> String {
        let host = self.base_url.host_str().unwrap_or("?");
        match self.base_url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", self.base_url.scheme()),
            None => format!("{}://{host}", self.base_url.scheme()),
        }
    }
}

impl fmt::Debug for LlamaStackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlamaStackConfig")
            .field("target", &self.target())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// `config.yaml`'s `timeout` and `LLAMA_STACK_TIMEOUT` are (fractional) seconds.
pub fn duration_from_secs(seconds: f64) -> Result<Duration, String> {
    if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "expected a number of seconds between 0 and 86400, found {seconds}"
        ))
    }
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    // The URL may carry credentials: say what is wrong, never echo it.
    let url = Url::parse(text).map_err(|error| format!("not a valid URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme must be http or https, found {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or fragment".to_owned());
    }
    Ok(url)
}

fn url_for_host(host: &str) -> Result<Url, String> {
    if host.contains("://") {
        return parse_base_url(host);
    }
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]") // a bare IPv6 address
    } else {
        host.to_owned()
    };
    parse_base_url(&format!("http://{host}:{DEFAULT_PORT}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::result_large_err)] // figment's Jail closure returns its own error type
    fn with_env(vars: &[(&str, &str)]) -> Result<LlamaStackConfig, ConfigError> {
        let mut result = None;
        figment::Jail::expect_with(|jail| {
            for (name, value) in vars {
                jail.set_env(name, value);
            }
            result = Some(LlamaStackConfig::from_env());
            Ok(())
        });
        result.expect("the jail ran")
    }

    #[test]
    fn a_bare_service_host_gets_the_default_port() {
        let config = with_env(&[("LLAMASTACK_SERVICE_HOST", "10.0.0.7")]).expect("valid");
        assert_eq!(config.base_url().as_str(), "http://10.0.0.7:8321/");
    }

    #[test]
    fn llama_stack_url_wins_over_the_service_host() {
        let config = with_env(&[
            ("LLAMA_STACK_URL", "https://llama.example:9000"),
            ("LLAMASTACK_SERVICE_HOST", "10.0.0.7"),
        ])
        .expect("valid");
        assert_eq!(config.target(), "https://llama.example:9000");
    }

    #[test]
    fn a_missing_location_names_the_variable() {
        let error = with_env(&[]).expect_err("nothing set");
        assert!(error.to_string().contains("LLAMA_STACK_URL"), "{error}");
    }

    #[test]
    fn a_bad_url_is_reported_without_echoing_it() {
        let error = with_env(&[("LLAMA_STACK_URL", "ftp://user:hunter2@host")])
            .expect_err("ftp is not http");
        let message = error.to_string();
        assert!(message.contains("LLAMA_STACK_URL"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn the_api_key_never_appears_in_debug_output() {
        let config = with_env(&[
            ("LLAMA_STACK_URL", "http://127.0.0.1:8321"),
            ("LLAMA_STACK_API_KEY", "sk-very-secret"),
        ])
        .expect("valid");
        assert!(config.api_key.is_some());
        assert!(!format!("{config:?}").contains("sk-very-secret"));
    }

    #[test]
    fn the_api_base_is_read_and_checked() {
        let config = with_env(&[
            ("LLAMA_STACK_URL", "http://vllm:8000/v1"),
            ("LLAMA_STACK_API_BASE", "/"),
        ])
        .expect("valid");
        assert_eq!(config.api_base, Some(ApiBase::root()));
        let unset = with_env(&[("LLAMA_STACK_URL", "http://127.0.0.1:8321")]).expect("valid");
        assert_eq!(unset.api_base, None);
        let error = with_env(&[
            ("LLAMA_STACK_URL", "http://127.0.0.1:8321"),
            ("LLAMA_STACK_API_BASE", "v1"),
        ])
        .expect_err("relative");
        assert!(
            error.to_string().contains("LLAMA_STACK_API_BASE"),
            "{error}"
        );
    }

    #[test]
    fn timeouts_are_fractional_seconds_within_bounds() {
        assert_eq!(duration_from_secs(120.0), Ok(Duration::from_secs(120)));
        assert_eq!(duration_from_secs(0.5), Ok(Duration::from_millis(500)));
        assert!(duration_from_secs(0.0).is_err());
        assert!(duration_from_secs(f64::NAN).is_err());
    }
}
