//! The service-wide settings of the channels, from the environment
//! (`app_support::from_env`: each variable is a field's name in upper case).

use app_support::{ConfigError, Seconds};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::SigningSecret;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (587).
    #[default]
    Starttls,
    /// TLS from the first byte (465).
    Tls,
    /// No TLS at all: a relay on the same host or in the same pod only.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DeliverySettings {
    /// Without it, EMAIL is unavailable and its deliveries fail permanently.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_security: SmtpSecurity,
    /// For connecting and for each SMTP command.
    pub smtp_timeout: Seconds,
    pub from_email: String,
    pub from_name: String,
    /// Signs webhooks whose config has no `signing_secret` (`whsec_<base64>`).
    pub webhook_signing_secret: Option<SecretString>,
    /// Per attempt, when the config has no `timeout_seconds`.
    pub webhook_timeout: Seconds,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: 587,
            smtp_username: None,
            smtp_password: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_timeout: Seconds::new(30),
            from_email: "noreply@localhost".into(),
            from_name: "Self-Service Agent".into(),
            webhook_signing_secret: None,
            webhook_timeout: Seconds::new(10),
        }
    }
}

impl DeliverySettings {
    /// From the environment; every bad variable is named. An empty
    /// variable counts as unset (charts often set `""` for "none").
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut settings: Self = app_support::from_env()?;
        settings.smtp_host = settings.smtp_host.filter(|host| !host.trim().is_empty());
        settings.smtp_username = settings.smtp_username.filter(|user| !user.is_empty());
        settings.smtp_password = settings
            .smtp_password
            .filter(|password| !password.expose_secret().is_empty());
        settings.webhook_signing_secret = settings
            .webhook_signing_secret
            .filter(|secret| !secret.expose_secret().trim().is_empty());
        settings.check()?;
        Ok(settings)
    }

    /// The problems `from_env` reports beyond types, one per variable.
    pub fn check(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.from_email.trim().parse::<lettre::Address>().is_err() {
            problems.push("FROM_EMAIL: not an email address (user@domain)".to_owned());
        }
        if self.from_name.contains(['\r', '\n']) {
            problems.push("FROM_NAME: must not contain CR or LF".to_owned());
        }
        if self.smtp_port == 0 {
            problems.push("SMTP_PORT: must be from 1 to 65535".to_owned());
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            problems.push(
                "SMTP_PASSWORD: SMTP_USERNAME and SMTP_PASSWORD are set together or not at all"
                    .to_owned(),
            );
        }
        if self.smtp_timeout.is_zero() {
            problems.push("SMTP_TIMEOUT: must be more than 0".to_owned());
        }
        if self.webhook_timeout.is_zero() {
            problems.push("WEBHOOK_TIMEOUT: must be more than 0".to_owned());
        }
        if let Some(secret) = &self.webhook_signing_secret
            && let Err(problem) = SigningSecret::parse(secret.expose_secret())
        {
            problems.push(format!("WEBHOOK_SIGNING_SECRET: {problem}"));
        }
        ConfigError::check(problems)
    }
}
