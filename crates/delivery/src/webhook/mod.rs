//! WEBHOOK: the answer as JSON to the config's URL, signed per Standard
//! Webhooks. Two HTTP clients (certificates verified, or not for
//! `verify_ssl: false`), neither following redirects.

mod answer;
mod signing;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use answer::{BODY_EXCERPT_CHARS, MAX_RETRY_AFTER};
pub use signing::{SigningSecret, sign, webhook_id};

use crate::config::{ConfigProblem, WebhookAuth, WebhookConfig};
use crate::secrets::{origin, scrub};
use crate::{Channel, Delivered, Delivery, DeliveryError, DeliverySettings, IntegrationType};

/// The JSON body of every webhook request (`docs/delivery.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// Always `request.completed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When this attempt was made (RFC 3339, UTC).
    pub timestamp: String,
    /// The same across retries (`webhook-id` is `msg_<delivery_id>`).
    pub delivery_id: i64,
    pub attempt: u32,
    pub request_id: String,
    pub session_id: String,
    pub user_id: String,
    pub agent_id: Option<String>,
    pub subject: String,
    /// The rendered text body (by default, the answer itself).
    pub content: String,
    /// When the answer was created (RFC 3339, UTC).
    pub created_at: String,
}

pub const EVENT_TYPE: &str = "request.completed";

#[derive(Debug, Clone)]
pub struct WebhookChannel {
    verifying: reqwest::Client,
    insecure: reqwest::Client,
    secret: Option<SigningSecret>,
    timeout: Duration,
}

impl WebhookChannel {
    pub fn new(settings: &DeliverySettings) -> Result<Self, app_support::ConfigError> {
        let secret = settings
            .webhook_signing_secret
            .as_ref()
            .map(|secret| SigningSecret::parse(secret.expose_secret()))
            .transpose()
            .map_err(|problem| {
                app_support::ConfigError::new(format!("WEBHOOK_SIGNING_SECRET: {problem}"))
            })?;
        let client = |verify: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("self-service-agent/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                // The queue retries, with the same webhook-id; the client never does.
                .retry(reqwest::retry::never())
                .tls_danger_accept_invalid_certs(!verify)
                .build()
                .map_err(|error| {
                    app_support::ConfigError::new(format!("WEBHOOK: no HTTP client ({error})"))
                })
        };
        Ok(Self {
            verifying: client(true)?,
            insecure: client(false)?,
            secret,
            timeout: settings.webhook_timeout.duration(),
        })
    }

    async fn send(
        &self,
        delivery: &Delivery<'_>,
        config: &WebhookConfig,
        secret: &SigningSecret,
    ) -> Result<Delivered, DeliveryError> {
        let now = SystemTime::now();
        let timestamp = now
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or(0);
        let payload = WebhookPayload {
            event_type: EVENT_TYPE.to_owned(),
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            delivery_id: delivery.id,
            attempt: delivery.attempt,
            request_id: delivery.request_id.to_owned(),
            session_id: delivery.session_id.to_owned(),
            user_id: delivery.user_id.to_owned(),
            agent_id: delivery.agent_id.map(str::to_owned),
            subject: delivery.message.subject.clone(),
            content: delivery.message.text.clone(),
            created_at: delivery
                .created_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        let body = serde_json::to_vec(&payload).map_err(|error| {
            DeliveryError::permanent(format!("payload not serialisable: {error}"), json!({}))
        })?;
        let id = webhook_id(delivery.id);
        let signature = sign(secret, &id, timestamp, &body);
        let timeout = config.timeout.unwrap_or(self.timeout);
        let client = if config.verify_ssl {
            &self.verifying
        } else {
            &self.insecure
        };
        let mut request = client
            .request(config.method.as_http(), config.url.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
        for (name, value) in &config.headers {
            request = request.header(name, value);
        }
        request = match &config.auth {
            None => request,
            Some(WebhookAuth::Bearer { token }) => request.header(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", token.expose_secret()))?,
            ),
            Some(WebhookAuth::ApiKey { header, key }) => {
                request.header(header, sensitive(key.expose_secret())?)
            }
            Some(WebhookAuth::Basic { username, password }) => {
                let pair = format!("{username}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                request.header(AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?)
            }
        };
        let started = Instant::now();
        let target = origin(&config.url);
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|error| transport_failure(error, &target, timeout, config))?;
        let status = response.status();
        if status.is_success() {
            let elapsed = started.elapsed();
            tracing::debug!(
                delivery_id = delivery.id,
                attempt = delivery.attempt,
                target = %target,
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "webhook delivered"
            );
            return Ok(Delivered::new(IntegrationType::Webhook, elapsed)
                .with("status", status.as_u16())
                .with("webhook_id", id)
                .with("target", target));
        }
        let headers = response.headers().clone();
        let text = read_excerpt(response).await;
        let error = answer::failure(status, &headers, &scrub(&text, &config.secret_values()));
        tracing::debug!(
            delivery_id = delivery.id,
            attempt = delivery.attempt,
            target = %target,
            status = status.as_u16(),
            permanent = error.is_permanent(),
            "webhook refused"
        );
        Err(with_target(error, &target))
    }
}

#[async_trait::async_trait]
impl Channel for WebhookChannel {
    fn kind(&self) -> IntegrationType {
        IntegrationType::Webhook
    }

    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let config = WebhookConfig::from_json(delivery.config).map_err(invalid_config)?;
        let secret = config
            .signing_secret
            .as_ref()
            .or(self.secret.as_ref())
            .ok_or_else(|| invalid_config(no_secret()))?;
        self.send(delivery, &config, secret).await
    }

    fn check(&self, config: &Value) -> Result<(), ConfigProblem> {
        let config = WebhookConfig::from_json(config)?;
        if config.signing_secret.is_none() && self.secret.is_none() {
            return Err(no_secret());
        }
        Ok(())
    }
}

fn no_secret() -> ConfigProblem {
    ConfigProblem::new(
        "signing_secret",
        "required (this service has no WEBHOOK_SIGNING_SECRET)",
    )
}

pub(crate) fn invalid_config(problem: ConfigProblem) -> DeliveryError {
    DeliveryError::permanent(
        format!("invalid config: {problem}"),
        json!({ "field": problem.field, "problem": problem.problem }),
    )
}

fn sensitive(text: &str) -> Result<HeaderValue, DeliveryError> {
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        DeliveryError::permanent(
            "invalid config: auth: not usable in a header",
            json!({"field": "auth"}),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn with_target(error: DeliveryError, target: &str) -> DeliveryError {
    match error {
        DeliveryError::Permanent {
            reason,
            mut details,
        } => {
            details["target"] = target.into();
            DeliveryError::Permanent { reason, details }
        }
        DeliveryError::Temporary {
            reason,
            mut details,
            retry_after,
        } => {
            details["target"] = target.into();
            DeliveryError::Temporary {
                reason,
                details,
                retry_after,
            }
        }
    }
}

/// A failure before any answer: every one of them may pass later (a
/// refused connection, a timeout, a TLS handshake the peer will fix).
fn transport_failure(
    error: reqwest::Error,
    target: &str,
    timeout: Duration,
    config: &WebhookConfig,
) -> DeliveryError {
    let error = error.without_url();
    let what = if error.is_timeout() {
        format!("no answer within {}s", timeout.as_secs_f64())
    } else if error.is_connect() {
        format!("cannot connect: {}", crate::error::chain(&error))
    } else {
        format!("request failed: {}", crate::error::chain(&error))
    };
    let what = scrub(&what, &config.secret_values());
    DeliveryError::temporary(
        format!("{target}: {what}"),
        json!({ "target": target, "error": what, "timeout": error.is_timeout() }),
    )
}

/// The start of an error answer's body (at most 4 KiB read).
async fn read_excerpt(mut response: reqwest::Response) -> String {
    const LIMIT: usize = 4096;
    let mut bytes = Vec::new();
    while bytes.len() < LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(LIMIT);
    String::from_utf8_lossy(&bytes).into_owned()
}
