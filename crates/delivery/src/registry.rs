//! The channels this service offers, by type.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::{
    Channel, ConfigProblem, Delivered, Delivery, DeliveryError, DeliverySettings, EmailChannel,
    IntegrationType, TestChannel, ValidConfig, WebhookChannel,
};

/// The registered channels, and for each type that has none, why.
/// Cheap to clone (the channels are shared).
#[derive(Clone)]
pub struct Channels {
    channels: BTreeMap<&'static str, Arc<dyn Channel>>,
    unavailable: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("available", &self.channels.keys().collect::<Vec<_>>())
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl Channels {
    /// EMAIL (when `SMTP_HOST` is set), WEBHOOK and TEST, from the
    /// environment ([`DeliverySettings::from_env`]).
    pub fn from_env() -> Result<Self, app_support::ConfigError> {
        Self::from_settings(&DeliverySettings::from_env()?)
    }

    pub fn from_settings(settings: &DeliverySettings) -> Result<Self, app_support::ConfigError> {
        settings.check()?;
        let mut channels = Self {
            channels: BTreeMap::new(),
            unavailable: BTreeMap::new(),
        };
        match EmailChannel::new(settings)? {
            Some(email) => channels = channels.with(Arc::new(email)),
            None => channels = channels.without(IntegrationType::Email, "SMTP_HOST is not set"),
        }
        Ok(channels
            .with(Arc::new(WebhookChannel::new(settings)?))
            .with(Arc::new(TestChannel)))
    }

    /// Adds (or replaces) the channel of `channel.kind()`: how SLACK joins.
    pub fn with(mut self, channel: Arc<dyn Channel>) -> Self {
        let kind = channel.kind().label();
        self.unavailable.remove(kind);
        self.channels.insert(kind, channel);
        self
    }

    /// Records why `kind` is not offered (shown in its failures).
    pub fn without(mut self, kind: IntegrationType, why: impl Into<String>) -> Self {
        let kind = kind.label();
        self.channels.remove(kind);
        self.unavailable.insert(kind, why.into());
        self
    }

    /// The types deliveries can be made to.
    pub fn available(&self) -> Vec<IntegrationType> {
        self.channels
            .values()
            .map(|channel| channel.kind())
            .collect()
    }

    pub fn is_available(&self, kind: IntegrationType) -> bool {
        self.channels.contains_key(kind.label())
    }

    /// Why `kind` is not offered, if it is not.
    pub fn unavailable_reason(&self, kind: IntegrationType) -> Option<String> {
        if self.is_available(kind) {
            return None;
        }
        Some(
            self.unavailable
                .get(kind.label())
                .cloned()
                .unwrap_or_else(|| "no channel of this type is built in".to_owned()),
        )
    }

    /// [`crate::validate`], then the checks of the type's channel (e.g. a
    /// WEBHOOK config without `signing_secret` where the service has none).
    /// For the API that stores configs.
    pub fn check(
        &self,
        kind: IntegrationType,
        config: &Value,
    ) -> Result<ValidConfig, ConfigProblem> {
        let valid = crate::validate(kind, config)?;
        if let Some(channel) = self.channels.get(kind.label()) {
            channel.check(config)?;
        }
        Ok(valid)
    }

    /// One attempt of `delivery` over the channel of its type. A type this
    /// service does not offer fails permanently, saying why.
    pub async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let Some(channel) = self.channels.get(delivery.channel.label()) else {
            let why = self
                .unavailable_reason(delivery.channel)
                .unwrap_or_default();
            return Err(DeliveryError::permanent(
                format!(
                    "{} deliveries are unavailable: {why}",
                    delivery.channel.label()
                ),
                json!({ "channel": delivery.channel.label(), "unavailable": why }),
            ));
        };
        channel.deliver(delivery).await
    }
}
