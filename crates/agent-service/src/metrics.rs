//! Prometheus metrics: HTTP requests by route and status, request latency,
//! agent turn latency, and the database pool, rendered at `/metrics`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Installs the process-wide recorder on first call (metrics are global)
/// and returns its handle, which renders `/metrics`.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already global (embedding): render our own.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// The route template a request matched, carried on its response to
/// [`track`], which runs outside the router and cannot see the match.
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Route middleware: labels the response with the matched route template.
pub async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Middleware around everything that can answer (limits, deadlines,
/// panics, fallbacks): counts and times every request by its route
/// template, `unmatched` when no route matched.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|label| label.0.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

pub fn record_turn(agent: &str, elapsed: Duration, ok: bool) {
    let outcome = if ok { "completed" } else { "failed" };
    metrics::histogram!("agent_turn_duration_seconds", "agent" => agent.to_owned(), "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// The asset directory was read again (`agent_runtime::watch`).
pub fn record_reload(reloaded: &agent_runtime::Reloaded) {
    let outcome = match reloaded {
        agent_runtime::Reloaded::Replaced { took } => {
            metrics::histogram!("asset_reload_duration_seconds").record(took.as_secs_f64());
            "replaced"
        }
        agent_runtime::Reloaded::Unchanged => "unchanged",
        agent_runtime::Reloaded::Failed(_) => "failed",
    };
    metrics::counter!("asset_reloads_total", "outcome" => outcome).increment(1);
}

/// A request was queued.
pub fn record_accepted() {
    metrics::counter!("requests_accepted_total").increment(1);
}

/// A request's outcome was stored, `elapsed` after its turn began.
pub fn record_finished(outcome: &crate::queue::Outcome, elapsed: Duration) {
    let outcome = match outcome {
        crate::queue::Outcome::Completed(_) => "completed",
        crate::queue::Outcome::Failed {
            timed_out: true, ..
        } => "timed_out",
        crate::queue::Outcome::Failed { .. } => "failed",
        crate::queue::Outcome::Released => "released",
    };
    metrics::counter!("requests_finished_total", "outcome" => outcome).increment(1);
    metrics::histogram!("request_processing_seconds", "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// The queue as the last sweep saw it: requests waiting for a worker,
/// requests running, and how long the oldest waiting one has waited.
pub fn record_queue(waiting: usize, running: usize, oldest_waiting: Duration) {
    metrics::gauge!("request_queue_depth", "state" => "accepted").set(waiting as f64);
    metrics::gauge!("request_queue_depth", "state" => "processing").set(running as f64);
    metrics::gauge!("request_queue_oldest_accepted_seconds").set(oldest_waiting.as_secs_f64());
}

/// One delivery attempt ended (`delivered`, `retrying`, `failed`) after
/// `elapsed`; `since_answer` is the time from the answer to now.
pub fn record_delivery(
    channel: &str,
    outcome: &'static str,
    elapsed: Duration,
    since_answer: Duration,
) {
    metrics::counter!("deliveries_total", "channel" => channel.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("delivery_attempt_duration_seconds", "channel" => channel.to_owned())
        .record(elapsed.as_secs_f64());
    if outcome == "delivered" {
        metrics::histogram!("delivery_latency_seconds", "channel" => channel.to_owned())
            .record(since_answer.as_secs_f64());
    }
}

/// Unfinished deliveries by status, as the last dispatch sweep counted them.
pub fn record_delivery_queue(depth: &[(String, i64)]) {
    for status in ["PENDING", "RETRYING"] {
        let count = depth
            .iter()
            .find(|(known, _)| known == status)
            .map(|(_, count)| *count)
            .unwrap_or(0);
        metrics::gauge!("delivery_queue_depth", "status" => status).set(count as f64);
    }
}

/// The exposition text, with the pool gauges read at scrape time.
pub fn render(handle: &PrometheusHandle, db: &DatabaseConnection) -> String {
    let pool = db.get_postgres_connection_pool();
    let idle = pool.num_idle() as f64;
    let open = f64::from(pool.size());
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set((open - idle).max(0.0));
    metrics::gauge!("db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
    handle.render()
}
