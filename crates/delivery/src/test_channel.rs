//! TEST: logs what would be delivered, and answers delivered.

use std::time::Instant;

use crate::{Channel, Delivered, Delivery, DeliveryError, IntegrationType};

#[derive(Debug, Clone, Copy, Default)]
pub struct TestChannel;

#[async_trait::async_trait]
impl Channel for TestChannel {
    fn kind(&self) -> IntegrationType {
        IntegrationType::Test
    }

    async fn deliver(&self, delivery: &Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let started = Instant::now();
        let config = crate::redact(IntegrationType::Test, delivery.config);
        tracing::info!(
            delivery_id = delivery.id,
            attempt = delivery.attempt,
            request_id = delivery.request_id,
            session_id = delivery.session_id,
            user_id = delivery.user_id,
            agent_id = delivery.agent_id,
            subject = %delivery.message.subject,
            content = %delivery.message.text,
            config = %config,
            "TEST delivery"
        );
        Ok(Delivered::new(IntegrationType::Test, started.elapsed()).with("logged", true))
    }
}
