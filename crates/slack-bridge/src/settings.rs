//! `SLACK_*` settings. Slack is optional for the service: with neither
//! secret set it is off ([`SlackSettings::from_env`] answers `Ok(None)`);
//! with one of the two set, the other one is named as missing.

use std::time::Duration;

use app_support::{ConfigError, Seconds, from_env};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    slack_bot_token: Option<SecretString>,
    slack_signing_secret: Option<SecretString>,
    slack_api_url: String,
    slack_command: String,
    slack_max_body_bytes: usize,
    slack_api_timeout: Seconds,
    slack_ack_timeout: Seconds,
    slack_user_cache_ttl: Seconds,
    slack_inline_retry_max: Seconds,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            slack_bot_token: None,
            slack_signing_secret: None,
            slack_api_url: "https://slack.com/api/".into(),
            slack_command: "/it-help".into(),
            slack_max_body_bytes: 1024 * 1024,
            slack_api_timeout: Seconds::new(10),
            slack_ack_timeout: Seconds::new(2),
            slack_user_cache_ttl: Seconds::new(15 * 60),
            slack_inline_retry_max: Seconds::new(2),
        }
    }
}

/// Validated Slack settings. `Debug` shows the secrets as redacted.
#[derive(Debug, Clone)]
pub struct SlackSettings {
    /// `SLACK_BOT_TOKEN`: the bot user OAuth token (`xoxb-…`).
    pub bot_token: SecretString,
    /// `SLACK_SIGNING_SECRET`: the app's signing secret.
    pub signing_secret: SecretString,
    /// `SLACK_API_URL`: the Web API base, method names appended.
    pub api_url: Url,
    /// `SLACK_COMMAND`: the slash command this app answers.
    pub command: String,
    /// `SLACK_MAX_BODY_BYTES`: the largest request body read.
    pub max_body_bytes: usize,
    /// `SLACK_API_TIMEOUT`: one Web API call, connection included.
    pub api_timeout: Duration,
    /// `SLACK_ACK_TIMEOUT`: how long a request waits for the inbox before
    /// it is acknowledged anyway (Slack gives up after 3 s).
    pub ack_timeout: Duration,
    /// `SLACK_USER_CACHE_TTL`: how long a `users.info` answer is reused.
    pub user_cache_ttl: Duration,
    /// `SLACK_INLINE_RETRY_MAX`: a 429 whose `Retry-After` is at most this
    /// is retried once in place; a longer one is reported.
    pub inline_retry_max: Duration,
}

impl SlackSettings {
    /// `Ok(None)` when neither `SLACK_BOT_TOKEN` nor `SLACK_SIGNING_SECRET`
    /// is set (Slack is off); an error naming every bad variable otherwise.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_raw(from_env()?)
    }

    /// Settings for `token` and `secret` with every other value at its
    /// default and the Web API at `api_url` (tests, benchmarks).
    pub fn for_api(api_url: &str, token: &str, secret: &str) -> Result<Self, ConfigError> {
        let raw = RawSettings {
            slack_bot_token: Some(SecretString::from(token)),
            slack_signing_secret: Some(SecretString::from(secret)),
            slack_api_url: api_url.to_owned(),
            ..RawSettings::default()
        };
        Self::from_raw(raw)?.ok_or_else(|| ConfigError::new("SLACK_BOT_TOKEN: not set"))
    }

    fn from_raw(raw: RawSettings) -> Result<Option<Self>, ConfigError> {
        let bot_token = raw.slack_bot_token.filter(not_blank);
        let signing_secret = raw.slack_signing_secret.filter(not_blank);
        let mut problems = Vec::new();
        match (&bot_token, &signing_secret) {
            (None, None) => return Ok(None),
            (Some(_), None) => problems.push(
                "SLACK_SIGNING_SECRET: not set, but SLACK_BOT_TOKEN is; set both to connect Slack, or neither"
                    .to_owned(),
            ),
            (None, Some(_)) => problems.push(
                "SLACK_BOT_TOKEN: not set, but SLACK_SIGNING_SECRET is; set both to connect Slack, or neither"
                    .to_owned(),
            ),
            (Some(token), Some(_)) if !token.expose_secret().starts_with("xox") => problems.push(
                "SLACK_BOT_TOKEN: not a Slack token (a bot token starts with xoxb-); is it the signing secret?"
                    .to_owned(),
            ),
            (Some(_), Some(_)) => {}
        }
        let api_url = parse_api_url(&raw.slack_api_url).map_err(|problem| problems.push(problem));
        let command = raw.slack_command.trim().to_owned();
        if !command.starts_with('/') || command.len() < 2 || command.contains(char::is_whitespace) {
            problems.push(format!(
                "SLACK_COMMAND: expected a slash command such as /it-help, found '{}'",
                raw.slack_command
            ));
        }
        if raw.slack_max_body_bytes < 1024 {
            problems.push(format!(
                "SLACK_MAX_BODY_BYTES: must be at least 1024, found {}",
                raw.slack_max_body_bytes
            ));
        }
        if raw.slack_ack_timeout.duration() >= Duration::from_secs(3) {
            problems.push(format!(
                "SLACK_ACK_TIMEOUT: must be under 3 s, Slack's limit for an acknowledgement; found {}",
                raw.slack_ack_timeout
            ));
        }
        if raw.slack_api_timeout.is_zero() {
            problems.push("SLACK_API_TIMEOUT: must be more than 0".to_owned());
        }
        ConfigError::check(problems)?;
        match (bot_token, signing_secret, api_url) {
            (Some(bot_token), Some(signing_secret), Ok(api_url)) => Ok(Some(Self {
                bot_token,
                signing_secret,
                api_url,
                command,
                max_body_bytes: raw.slack_max_body_bytes,
                api_timeout: raw.slack_api_timeout.duration(),
                ack_timeout: raw.slack_ack_timeout.duration(),
                user_cache_ttl: raw.slack_user_cache_ttl.duration(),
                inline_retry_max: raw.slack_inline_retry_max.duration(),
            })),
            _ => Err(ConfigError::new("invalid Slack settings")),
        }
    }
}

fn not_blank(secret: &SecretString) -> bool {
    !secret.expose_secret().trim().is_empty()
}

/// An http(s) URL ending in `/`, so that `chat.postMessage` joins onto it.
fn parse_api_url(text: &str) -> Result<Url, String> {
    let with_slash = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    match Url::parse(&with_slash) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        // The value is an address, not a secret: naming it helps.
        _ => Err(format!(
            "SLACK_API_URL: expected an http(s) URL such as https://slack.com/api/, found '{text}'"
        )),
    }
}

#[cfg(test)]
// figment::Jail's closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn with_secrets() -> RawSettings {
        RawSettings {
            slack_bot_token: Some(SecretString::from("xoxb-1-2-abc")),
            slack_signing_secret: Some(SecretString::from("0123456789abcdef")),
            ..RawSettings::default()
        }
    }

    #[test]
    fn neither_secret_means_slack_is_off() {
        figment::Jail::expect_with(|_jail| {
            assert!(
                SlackSettings::from_env()
                    .map_err(|e| e.to_string())?
                    .is_none()
            );
            Ok(())
        });
    }

    #[test]
    fn a_signing_secret_without_a_token_names_the_token() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SLACK_SIGNING_SECRET", "0123456789abcdef");
            let error = SlackSettings::from_env().unwrap_err().to_string();
            assert!(error.contains("SLACK_BOT_TOKEN: not set"), "{error}");
            assert!(!error.contains("0123456789abcdef"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_token_without_a_signing_secret_names_the_secret() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SLACK_BOT_TOKEN", "xoxb-1-2-abc");
            let error = SlackSettings::from_env().unwrap_err().to_string();
            assert!(error.contains("SLACK_SIGNING_SECRET: not set"), "{error}");
            assert!(!error.contains("xoxb-1-2-abc"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn both_secrets_and_the_defaults_make_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SLACK_BOT_TOKEN", "xoxb-1-2-abc");
            jail.set_env("SLACK_SIGNING_SECRET", "0123456789abcdef");
            jail.set_env("SLACK_ACK_TIMEOUT", "1.5");
            let settings = SlackSettings::from_env()
                .map_err(|e| e.to_string())?
                .ok_or("configured")?;
            assert_eq!(settings.api_url.as_str(), "https://slack.com/api/");
            assert_eq!(settings.command, "/it-help");
            assert_eq!(settings.ack_timeout, Duration::from_millis(1500));
            Ok(())
        });
    }

    #[test]
    fn every_bad_setting_is_named() {
        let error = SlackSettings::from_raw(RawSettings {
            slack_api_url: "slack".into(),
            slack_command: "it-help".into(),
            slack_max_body_bytes: 10,
            slack_ack_timeout: Seconds::new(3),
            slack_api_timeout: Seconds::new(0),
            ..with_secrets()
        })
        .unwrap_err()
        .to_string();
        for var in [
            "SLACK_API_URL",
            "SLACK_COMMAND",
            "SLACK_MAX_BODY_BYTES",
            "SLACK_ACK_TIMEOUT",
            "SLACK_API_TIMEOUT",
        ] {
            assert!(error.contains(var), "{var} missing from: {error}");
        }
    }

    #[test]
    fn a_signing_secret_given_as_the_token_is_refused_without_echoing_it() {
        let error = SlackSettings::from_raw(RawSettings {
            slack_bot_token: Some(SecretString::from("8f742231b10e8888abcd99")),
            ..with_secrets()
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("SLACK_BOT_TOKEN: not a Slack token"),
            "{error}"
        );
        assert!(!error.contains("8f742231"), "{error}");
    }

    #[test]
    fn the_api_url_gets_its_trailing_slash() {
        let settings = SlackSettings::from_raw(RawSettings {
            slack_api_url: "http://127.0.0.1:9/api".into(),
            ..with_secrets()
        })
        .unwrap()
        .unwrap();
        assert_eq!(settings.api_url.as_str(), "http://127.0.0.1:9/api/");
    }

    #[test]
    fn every_variable_is_in_the_settings_table_of_docs_slack_md() {
        let doc = include_str!("../../../docs/slack.md");
        let vars = app_support::env_vars::<RawSettings>();
        assert_eq!(vars.len(), 9);
        for var in vars {
            assert!(
                doc.contains(&format!("| `{var}` |")),
                "{var} is not documented"
            );
        }
    }

    #[test]
    fn debug_output_redacts_both_secrets() {
        let settings = SlackSettings::from_raw(with_secrets()).unwrap().unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("xoxb-1-2-abc"), "{debug}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
    }
}
