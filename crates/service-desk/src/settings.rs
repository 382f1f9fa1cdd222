//! Which backend, and how to reach it, from the environment.

use std::path::PathBuf;
use std::time::Duration;

use app_support::{ConfigError, Seconds, from_env};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::RefreshPolicy;

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    servicenow_instance_url: String,
    servicenow_api_key: Option<SecretString>,
    servicenow_api_key_header: String,
    servicenow_username: String,
    servicenow_password: Option<SecretString>,
    servicenow_laptop_refresh_id: String,
    servicenow_timeout: Seconds,
    servicenow_retries: usize,
    servicenow_laptop_request_limits: String,
    servicenow_laptop_avoid_duplicates: String,
    ticket_idempotency_window: Seconds,
    employee_data_file: Option<PathBuf>,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            servicenow_instance_url: String::new(),
            servicenow_api_key: None,
            servicenow_api_key_header: "x-sn-apikey".into(),
            servicenow_username: String::new(),
            servicenow_password: None,
            servicenow_laptop_refresh_id: String::new(),
            servicenow_timeout: Seconds::new(30),
            servicenow_retries: 3,
            servicenow_laptop_request_limits: String::new(),
            servicenow_laptop_avoid_duplicates: "false".into(),
            ticket_idempotency_window: Seconds::new(300),
            employee_data_file: None,
        }
    }
}

/// How the server authenticates to ServiceNow.
#[derive(Clone)]
pub enum ServiceNowAuth {
    /// An API key in a header (`SERVICENOW_API_KEY`, `SERVICENOW_API_KEY_HEADER`).
    ApiKey { header: String, key: SecretString },
    /// Basic auth (`SERVICENOW_USERNAME`, `SERVICENOW_PASSWORD`).
    Basic {
        username: String,
        password: SecretString,
    },
}

impl std::fmt::Debug for ServiceNowAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceNowAuth::ApiKey { header, .. } => write!(f, "ApiKey({header})"),
            ServiceNowAuth::Basic { username, .. } => write!(f, "Basic({username})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceNowSettings {
    /// `https://<instance>.service-now.com`, without a trailing slash.
    pub instance_url: String,
    pub auth: ServiceNowAuth,
    /// The laptop refresh catalog item's `sys_id` (the snow server needs it).
    pub laptop_refresh_id: Option<String>,
    /// Per HTTP request.
    pub timeout: Duration,
    /// Further attempts after a connection error or a 5xx answer.
    pub retries: usize,
}

/// Everything the backends read from the environment.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    /// `None`: the demo backend (`SERVICENOW_INSTANCE_URL` unset).
    pub servicenow: Option<ServiceNowSettings>,
    /// The demo's data file; `None`: the compiled-in sample.
    pub employee_data_file: Option<PathBuf>,
    pub refresh: RefreshPolicy,
}

impl BackendSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_raw(from_env()?)
    }

    fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let request_limit = match raw.servicenow_laptop_request_limits.trim() {
            "" => None,
            text => match text.parse::<usize>() {
                Ok(limit) if limit > 0 => Some(limit),
                _ => {
                    problems.push(format!(
                        "SERVICENOW_LAPTOP_REQUEST_LIMITS: expected a whole number of at least 1, found '{text}'"
                    ));
                    None
                }
            },
        };
        let avoid_duplicates = match raw
            .servicenow_laptop_avoid_duplicates
            .trim()
            .to_lowercase()
            .as_str()
        {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            other => {
                problems.push(format!(
                    "SERVICENOW_LAPTOP_AVOID_DUPLICATES: expected true or false, found '{other}'"
                ));
                false
            }
        };
        let servicenow = servicenow(&raw, &mut problems);
        ConfigError::check(problems)?;
        Ok(Self {
            servicenow,
            employee_data_file: raw
                .employee_data_file
                .filter(|path| !path.as_os_str().is_empty()),
            refresh: RefreshPolicy {
                request_limit,
                avoid_duplicates,
                idempotency_window: raw.ticket_idempotency_window.duration(),
            },
        })
    }
}

fn servicenow(raw: &RawSettings, problems: &mut Vec<String>) -> Option<ServiceNowSettings> {
    let url = raw.servicenow_instance_url.trim().trim_end_matches('/');
    if url.is_empty() {
        return None;
    }
    // The URL is not echoed: it could carry credentials.
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {}
        _ => problems.push("SERVICENOW_INSTANCE_URL: expected an http(s) URL such as https://example.service-now.com".into()),
    }
    let key = raw
        .servicenow_api_key
        .clone()
        .filter(|key| !key.expose_secret().is_empty());
    let password = raw
        .servicenow_password
        .clone()
        .filter(|p| !p.expose_secret().is_empty());
    let auth = match (key, raw.servicenow_username.trim(), password) {
        (Some(key), _, _) => {
            let header = raw.servicenow_api_key_header.trim().to_owned();
            if reqwest::header::HeaderName::try_from(header.as_str()).is_err() {
                problems.push(format!(
                    "SERVICENOW_API_KEY_HEADER: '{header}' is not a valid header name"
                ));
            }
            Some(ServiceNowAuth::ApiKey { header, key })
        }
        (None, username, Some(password)) if !username.is_empty() => Some(ServiceNowAuth::Basic {
            username: username.to_owned(),
            password,
        }),
        _ => {
            problems.push(
                "SERVICENOW_API_KEY: required with SERVICENOW_INSTANCE_URL (or SERVICENOW_USERNAME and SERVICENOW_PASSWORD)".into(),
            );
            None
        }
    };
    if raw.servicenow_timeout.is_zero() {
        problems.push("SERVICENOW_TIMEOUT: must be at least 1 second".into());
    }
    Some(ServiceNowSettings {
        instance_url: url.to_owned(),
        auth: auth?,
        laptop_refresh_id: Some(raw.servicenow_laptop_refresh_id.trim().to_owned())
            .filter(|id| !id.is_empty()),
        timeout: raw.servicenow_timeout.duration(),
        retries: raw.servicenow_retries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_instance_url_the_demo_backend_is_used() {
        let settings = BackendSettings::from_raw(RawSettings::default()).unwrap();
        assert!(settings.servicenow.is_none());
        assert_eq!(settings.refresh, RefreshPolicy::default());
    }

    #[test]
    fn an_instance_url_without_credentials_is_refused() {
        let error = BackendSettings::from_raw(RawSettings {
            servicenow_instance_url: "https://dev1.service-now.com".into(),
            ..RawSettings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("SERVICENOW_API_KEY"), "{error}");
    }

    #[test]
    fn basic_auth_is_taken_when_there_is_no_key() {
        let settings = BackendSettings::from_raw(RawSettings {
            servicenow_instance_url: "https://dev1.service-now.com/".into(),
            servicenow_username: "agent".into(),
            servicenow_password: Some(SecretString::from("pw")),
            ..RawSettings::default()
        })
        .unwrap();
        let servicenow = settings.servicenow.unwrap();
        assert_eq!(servicenow.instance_url, "https://dev1.service-now.com");
        assert!(matches!(servicenow.auth, ServiceNowAuth::Basic { .. }));
    }

    #[test]
    fn every_bad_setting_is_named_and_the_url_is_not_echoed() {
        let error = BackendSettings::from_raw(RawSettings {
            servicenow_instance_url: "ftp://user:hunter2@host".into(),
            servicenow_api_key: Some(SecretString::from("k")),
            servicenow_laptop_request_limits: "many".into(),
            servicenow_laptop_avoid_duplicates: "perhaps".into(),
            ..RawSettings::default()
        })
        .unwrap_err()
        .to_string();
        for var in [
            "SERVICENOW_INSTANCE_URL",
            "SERVICENOW_LAPTOP_REQUEST_LIMITS",
            "SERVICENOW_LAPTOP_AVOID_DUPLICATES",
        ] {
            assert!(error.contains(var), "{var} missing from: {error}");
        }
        assert!(!error.contains("hunter2"), "{error}");
    }
}
