//! EMAIL: a multipart/alternative message (text and HTML) over SMTP
//! (lettre on tokio and rustls), one connection per message.

use std::time::Instant;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::EmailConfig;
use crate::webhook::invalid_config;
use crate::{
    Channel, Delivered, Delivery, DeliveryError, DeliverySettings, IntegrationType, SmtpSecurity,
};

#[derive(Clone)]
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for reasons and logs.
    server: String,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("server", &self.server)
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// `None` when `SMTP_HOST` is unset: EMAIL is then unavailable.
    pub fn new(settings: &DeliverySettings) -> Result<Option<Self>, app_support::ConfigError> {
        let Some(host) = settings.smtp_host.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let bad = |problem: String| app_support::ConfigError::new(problem);
        let builder = match settings.smtp_security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|error| bad(format!("SMTP_HOST: {error}")))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|error| bad(format!("SMTP_HOST: {error}")))?,
        };
        let mut builder = builder
            .port(settings.smtp_port)
            .timeout(Some(settings.smtp_timeout.duration()));
        if let (Some(user), Some(password)) = (&settings.smtp_username, &settings.smtp_password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let address: Address = settings
            .from_email
            .trim()
            .parse()
            .map_err(|_| bad("FROM_EMAIL: not an email address (user@domain)".to_owned()))?;
        let name = settings.from_name.trim();
        let from = Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address);
        Ok(Some(Self {
            transport: builder.build(),
            from,
            server: format!("{host}:{}", settings.smtp_port),
        }))
    }

    fn message(
        &self,
        delivery: &Delivery<'_>,
        to: &Address,
    ) -> Result<lettre::Message, DeliveryError> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(delivery.message.subject.clone())
            .date_now()
            .message_id(Some(message_id(delivery.id, self.from.email.domain())));
        for (name, value) in [
            ("X-Request-ID", Some(delivery.request_id)),
            ("X-Session-ID", Some(delivery.session_id)),
            ("X-Agent-ID", delivery.agent_id),
        ] {
            if let Some(value) = value {
                builder = builder.raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str(name),
                    header_text(value),
                ));
            }
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                delivery.message.text.clone(),
                delivery.message.html.clone(),
            ))
            .map_err(|error| {
                DeliveryError::permanent(format!("the message cannot be built: {error}"), json!({}))
            })
    }
}

/// The same for every attempt of a delivery, so that a message sent twice
/// (the reply to DATA was lost) is recognisable as one.
pub(crate) fn message_id(delivery_id: i64, domain: &str) -> String {
    format!("<delivery-{delivery_id}@{domain}>")
}

/// Ids are printable ASCII; anything else is replaced rather than sent.
fn header_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect()
}

#[async_trait::async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> IntegrationType {
        IntegrationType::Email
    }

    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let config = EmailConfig::from_json(delivery.config).map_err(invalid_config)?;
        let message = self.message(delivery, &config.email_address)?;
        let started = Instant::now();
        match self.transport.send(message).await {
            Ok(response) => {
                let elapsed = started.elapsed();
                let reply = response.message().collect::<Vec<_>>().join(" ");
                tracing::debug!(
                    delivery_id = delivery.id,
                    attempt = delivery.attempt,
                    server = %self.server,
                    code = %response.code(),
                    "email accepted"
                );
                Ok(Delivered::new(IntegrationType::Email, elapsed)
                    .with(
                        "message_id",
                        message_id(delivery.id, self.from.email.domain()),
                    )
                    .with("smtp_code", response.code().to_string())
                    .with("smtp_reply", reply))
            }
            Err(error) => Err(self.failure(&error)),
        }
    }
}

impl EmailChannel {
    /// 5xx fails now; 4xx, refused connections, timeouts, TLS and other
    /// transport trouble may pass later.
    fn failure(&self, error: &lettre::transport::smtp::Error) -> DeliveryError {
        let text = crate::error::chain(error);
        let mut details = json!({ "server": self.server, "error": text });
        if let Some(code) = error.status() {
            details["smtp_code"] = code.to_string().into();
        }
        let reason = format!("SMTP {}: {text}", self.server);
        if error.is_permanent() {
            DeliveryError::permanent(reason, details)
        } else {
            details["timeout"] = error.is_timeout().into();
            DeliveryError::temporary(reason, details)
        }
    }
}
