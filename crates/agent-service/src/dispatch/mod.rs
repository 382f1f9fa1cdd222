//! The delivery dispatcher: answers reach the users' channels (email,
//! webhooks, Slack, …) through the `delivery_logs` rows that storing an
//! answer queued (`crate::queue::sql::finish`).
//!
//! Every `DISPATCH_POLL_INTERVAL`, and at once when an answer queued
//! deliveries (told in process by this replica's workers, and by the
//! others' through PostgreSQL `NOTIFY` on [`DELIVERIES_CHANNEL`], which the
//! dispatcher `LISTEN`s to on one connection of the pool), a dispatcher
//! claims due rows with `FOR UPDATE SKIP LOCKED`, highest priority first, up to its free capacity (`DISPATCH_CONCURRENCY`),
//! marking them with its lease id; attempts each through the channel of the
//! row's type (`delivery::Channels`); and records the outcome:
//!
//! - delivered → `DELIVERED`;
//! - a temporary failure → `RETRYING`, due again after
//!   `retry_delay_seconds × 2^(attempt−1)` with ±20 % jitter, capped at
//!   `DELIVERY_MAX_BACKOFF`, and never sooner than a `Retry-After` — until
//!   `max_attempts`, then `FAILED`;
//! - a permanent failure → `FAILED` at once;
//! - past `expires_at` → `EXPIRED`.
//!
//! Rows held by a dispatcher whose lease ended (killed mid-attempt) are
//! freed by the next sweep: due again, the attempt counted, sent again
//! under the same webhook id.

pub mod sql;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delivery::{Channels, Delivery, DeliveryError, IntegrationType, RenderContext, TemplateSource};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::metrics;
use crate::state::{AppState, DELIVERIES_CHANNEL};

/// A replica's dispatcher.
pub struct Dispatcher {
    channels: Channels,
    permits: Arc<Semaphore>,
    concurrency: usize,
    /// Row id below which no delivery is unfinished.
    low_water: AtomicI32,
    /// Deliveries attempted here right now.
    running: Mutex<HashSet<i32>>,
    stopping: AtomicBool,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("channels", &self.channels)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub fn new(channels: Channels, concurrency: usize) -> Self {
        Self {
            channels,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            concurrency: concurrency.max(1),
            low_water: AtomicI32::new(0),
            running: Mutex::new(HashSet::new()),
            stopping: AtomicBool::new(false),
        }
    }

    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// Deliveries attempted here right now.
    pub fn busy(&self) -> usize {
        self.running
            .lock()
            .map(|running| running.len())
            .unwrap_or(0)
    }

    /// Stops claiming, and waits at most `grace` for the attempts in
    /// flight. What is left keeps its lease mark: once this process ends,
    /// another dispatcher frees and sends it.
    pub async fn stop(&self, grace: Duration) {
        self.stopping.store(true, Ordering::Release);
        let started = Instant::now();
        while self.busy() > 0 && started.elapsed() < grace {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs the dispatcher of `state` until it is stopped.
pub async fn run(state: AppState, dispatcher: Arc<Dispatcher>) {
    let poll = state.config.dispatch_poll_interval;
    let _listening = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(listen(state.clone())));
    loop {
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = state.deliveries.notified() => {}
        }
        if dispatcher.stopping.load(Ordering::Acquire) {
            return;
        }
        if let Err(error) = tick(&state, &dispatcher).await {
            tracing::debug!(%error, "dispatch sweep failed; trying again");
        }
    }
}

/// Wakes the dispatcher whenever another process announces deliveries
/// (`AppState::announce_deliveries`); this process's own announcements
/// woke it already. Listens again after a lost connection: what is
/// announced meanwhile, the poll finds.
async fn listen(state: AppState) {
    loop {
        if let Err(error) = listen_until_lost(&state).await {
            tracing::debug!(%error, "delivery notifications interrupted; polling, then listening again");
        }
        tokio::time::sleep(state.config.dispatch_poll_interval).await;
    }
}

async fn listen_until_lost(state: &AppState) -> Result<(), sea_orm::sqlx::Error> {
    let pool = state.db.get_postgres_connection_pool();
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(DELIVERIES_CHANNEL).await?;
    tracing::info!(
        channel = DELIVERIES_CHANNEL,
        "listening for deliveries queued elsewhere"
    );
    loop {
        if listener.recv().await?.payload() != state.workers.id() {
            state.deliveries_queued();
        }
    }
}

async fn tick(state: &AppState, dispatcher: &Arc<Dispatcher>) -> Result<(), sea_orm::DbErr> {
    let me = state.workers.id();
    let from = dispatcher.low_water.load(Ordering::Acquire);
    let from = sql::low_water(&state.db, from).await?;
    dispatcher.low_water.store(from, Ordering::Release);
    let mut alive: HashMap<String, bool> = HashMap::new();
    for held in sql::held(&state.db, from).await? {
        if held.worker == me || alive.contains_key(&held.worker) {
            continue;
        }
        let lives = state
            .workers
            .lease()
            .is_alive(&held.worker)
            .await
            .unwrap_or(true);
        alive.insert(held.worker.clone(), lives);
        if !lives {
            let freed = sql::free(&state.db, &held.worker, from).await?;
            tracing::warn!(dead = %held.worker, freed, "freed the deliveries of a dispatcher that is gone");
        }
    }
    let depth = sql::depth(&state.db, from).await?;
    metrics::record_delivery_queue(&depth);
    let free = dispatcher.permits.available_permits();
    if free == 0 {
        return Ok(());
    }
    let claimed = sql::claim(&state.db, from, me, i64::try_from(free).unwrap_or(1)).await?;
    for delivery in claimed {
        let Ok(permit) = dispatcher.permits.clone().try_acquire_owned() else {
            break;
        };
        if let Ok(mut running) = dispatcher.running.lock() {
            running.insert(delivery.id);
        }
        let state = state.clone();
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            attempt(&state, &dispatcher, &delivery).await;
            if let Ok(mut running) = dispatcher.running.lock() {
                running.remove(&delivery.id);
            }
            drop(permit);
            // There may be more due right away.
            state.deliveries_queued();
        });
    }
    Ok(())
}

/// One attempt at one claimed delivery, and its outcome stored.
async fn attempt(state: &AppState, dispatcher: &Dispatcher, claimed: &sql::Claimed) {
    let started = Instant::now();
    let kind: Option<IntegrationType> =
        serde_json::from_value(Value::String(claimed.integration_type.clone())).ok();
    let template = match sql::template(&state.db, &claimed.integration_type).await {
        Ok(template) => template,
        Err(error) => {
            tracing::warn!(delivery = claimed.id, %error, "templates unreadable; this attempt uses the built-in one");
            None
        }
    };
    let agent_id = claimed
        .integration_metadata
        .as_ref()
        .and_then(|meta| meta.get("agent_id"))
        .and_then(Value::as_str);
    let created_at = claimed.created_at.with_timezone(&chrono::Utc);
    let result = match kind {
        None => Err(DeliveryError::permanent(
            format!("unknown channel type {}", claimed.integration_type),
            json!({}),
        )),
        Some(kind) => {
            let context = RenderContext {
                content: &claimed.content,
                agent_id,
                request_id: &claimed.request_id,
                session_id: &claimed.session_id,
                user_id: &claimed.user_id,
                created_at,
            };
            let source = template
                .as_ref()
                .map(|(name, subject, body)| TemplateSource {
                    name,
                    subject: subject.as_deref(),
                    body,
                });
            match delivery::render(kind, source, &context) {
                Err(error) => Err(error),
                Ok(rendered) => {
                    let config =
                        with_reply_to(&claimed.config, claimed.integration_metadata.as_ref());
                    let attempt = Delivery {
                        id: i64::from(claimed.id),
                        attempt: u32::try_from(claimed.attempts).unwrap_or(1),
                        channel: kind,
                        request_id: &claimed.request_id,
                        session_id: &claimed.session_id,
                        user_id: &claimed.user_id,
                        agent_id,
                        message: &rendered.message,
                        created_at,
                        config: &config,
                    };
                    let result = dispatcher.channels.deliver(&attempt).await;
                    return store(state, claimed, result, Some(&rendered), started).await;
                }
            }
        }
    };
    store(state, claimed, result, None, started).await;
}

/// The user's config, plus the conversation to answer in when the request
/// asked for a reply there (`integration_metadata.reply_to`, e.g. a Slack
/// thread): channels read it as `reply_to`.
fn with_reply_to(config: &Value, metadata: Option<&Value>) -> Value {
    match (config, metadata.and_then(|meta| meta.get("reply_to"))) {
        (Value::Object(fields), Some(reply_to)) => {
            let mut fields = fields.clone();
            fields.insert("reply_to".into(), reply_to.clone());
            Value::Object(fields)
        }
        _ => config.clone(),
    }
}

async fn store(
    state: &AppState,
    claimed: &sql::Claimed,
    result: Result<delivery::Delivered, DeliveryError>,
    rendered: Option<&delivery::Rendered>,
    started: Instant,
) {
    let subject = rendered.map(|rendered| rendered.message.subject.as_str());
    let template = rendered.map(|rendered| rendered.template.as_str());
    let (outcome, attempted) = match &result {
        Ok(delivered) => (
            "delivered",
            sql::Attempted::Delivered {
                metadata: delivered.metadata(),
                subject,
                template,
            },
        ),
        Err(DeliveryError::Permanent { reason, details }) => (
            "failed",
            sql::Attempted::Failed {
                reason,
                details: details.clone(),
                subject,
                template,
            },
        ),
        Err(DeliveryError::Temporary {
            reason,
            details,
            retry_after,
        }) if claimed.attempts < claimed.max_attempts => (
            "retrying",
            sql::Attempted::Retry {
                reason,
                details: details.clone(),
                after_secs: backoff(
                    claimed.attempts,
                    claimed.retry_delay_seconds,
                    *retry_after,
                    state.config.delivery_max_backoff,
                )
                .as_secs_f64(),
                subject,
                template,
            },
        ),
        Err(DeliveryError::Temporary {
            reason, details, ..
        }) => (
            "failed",
            sql::Attempted::Failed {
                reason,
                details: json!({"attempts": claimed.attempts, "last": details}),
                subject,
                template,
            },
        ),
    };
    let record = || sql::record(&state.db, claimed.id, state.workers.id(), &attempted);
    let stored = backon::Retryable::retry(
        record,
        backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(20),
    )
    .when(shared_db::is_unavailable)
    .await;
    match stored {
        Ok(true) => {
            tracing::info!(delivery = claimed.id, request_id = %claimed.request_id, channel = %claimed.integration_type, attempt = claimed.attempts, outcome, "delivery attempt");
            let since_answer = chrono::Utc::now()
                .signed_duration_since(claimed.created_at)
                .to_std()
                .unwrap_or_default();
            metrics::record_delivery(
                &claimed.integration_type,
                outcome,
                started.elapsed(),
                since_answer,
            );
        }
        Ok(false) => tracing::warn!(
            delivery = claimed.id,
            "the delivery was freed meanwhile (this dispatcher's lease lapsed); another one owns it now"
        ),
        Err(error) => {
            tracing::error!(delivery = claimed.id, %error, "the attempt's outcome could not be stored; the delivery is freed when this process ends")
        }
    }
}

/// The pause before the next attempt: `base × 2^(attempt−1)`, ±20 % jitter,
/// at most `cap`, at least what the peer asked for.
pub fn backoff(
    attempt: i32,
    base_seconds: i32,
    retry_after: Option<Duration>,
    cap: Duration,
) -> Duration {
    let base = f64::from(base_seconds.max(1));
    let exponent = attempt.saturating_sub(1).clamp(0, 30);
    let jitter = 0.8 + 0.4 * fastrand::f64();
    let pause =
        Duration::from_secs_f64((base * f64::powi(2.0, exponent) * jitter).min(cap.as_secs_f64()));
    match retry_after {
        Some(asked) if asked > pause => asked.min(cap.max(asked)),
        _ => pause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_with_jitter_and_is_capped() {
        let cap = Duration::from_secs(3600);
        for _ in 0..100 {
            let first = backoff(1, 10, None, cap).as_secs_f64();
            let third = backoff(3, 10, None, cap).as_secs_f64();
            assert!((8.0..=12.0).contains(&first), "{first}");
            assert!((32.0..=48.0).contains(&third), "{third}");
        }
        assert_eq!(backoff(40, 60, None, cap), cap);
    }

    #[test]
    fn a_retry_after_longer_than_the_pause_wins() {
        let cap = Duration::from_secs(3600);
        let pause = backoff(1, 1, Some(Duration::from_secs(30)), cap);
        assert_eq!(pause, Duration::from_secs(30));
    }
}
