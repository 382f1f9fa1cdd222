//! Webhook deliveries per second against a local receiver answering 204 at
//! once (`test_support::webhook_receiver::InstantReceiver`): the channel's
//! own cost (payload, signature, HTTP round trip on loopback), without a
//! queue or a database.
//!
//! `cargo run --release -p delivery --example webhook_throughput -- [deliveries] [concurrency]`
//! (defaults 20000 and 32).

use std::sync::Arc;
use std::time::Instant;

use delivery::{Channel, Delivery, DeliverySettings, IntegrationType, Message, WebhookChannel};
use serde_json::json;
use test_support::webhook_receiver::InstantReceiver;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let total: i64 = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20_000);
    let concurrency: i64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(32);
    let receiver = InstantReceiver::start()?;
    let channel = Arc::new(WebhookChannel::new(&DeliverySettings::default())?);
    let config = Arc::new(json!({
        "url": receiver.url("/hook"),
        "signing_secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    }));
    let message = Arc::new(Message::new(
        "Your IT request has been answered",
        "Your **new laptop** is ordered. ".repeat(20),
    ));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (channel, config, message) = (channel.clone(), config.clone(), message.clone());
        workers.push(tokio::spawn(async move {
            let mut failures = 0u64;
            let mut id = worker;
            while id < total {
                let delivery = Delivery {
                    id,
                    attempt: 1,
                    channel: IntegrationType::Webhook,
                    request_id: "3f1c9a52-6f1e-4a8b-9d3c-0a7e5b2c1d40",
                    session_id: "b7e2d1c0-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
                    user_id: "alice",
                    agent_id: Some("laptop-refresh"),
                    message: &message,
                    created_at: chrono::Utc::now(),
                    config: &config,
                };
                if channel.deliver(&delivery).await.is_err() {
                    failures += 1;
                }
                id += concurrency;
            }
            failures
        }));
    }
    let mut failures = 0;
    for worker in workers {
        failures += worker.await?;
    }
    let elapsed = started.elapsed();
    println!(
        "{total} deliveries, concurrency {concurrency}: {:.0} deliveries/s ({:.2} s, {failures} failed, receiver counted {})",
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        receiver.count()
    );
    Ok(())
}
