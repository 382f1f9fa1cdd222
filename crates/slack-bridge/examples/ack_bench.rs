//! How fast the router acknowledges Slack (`bench/slack.sh` runs it in
//! release mode). The router serves on 127.0.0.1 with a fake Slack for
//! `users.info` and an inbox whose processing takes 2 s in the background
//! (`submit` returns once the message is taken, as the service's must).
//!
//! - `ack_bench latency [N]`: N signed `app_mention`s one after another,
//!   each a new event; the time from sending to the 200, p50/p99/max.
//! - `ack_bench throughput [SECONDS] [CONNECTIONS]`: new events from
//!   CONNECTIONS concurrent clients; acknowledged events per second. Then
//!   the same with one event delivered again and again (Slack's retries):
//!   the deduplicated path.
//! - `ack_bench serve [SECONDS]`: serves for `wrk`; prints the URL.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use secrecy::SecretString;
use slack_bridge::{
    Identity, InboxError, SessionSummary, SignatureVerifier, SlackBridge, SlackInbox, SlackMessage,
    SlackSettings, Submitted, router,
};
use test_support::fake_slack::{BOT_TOKEN, FakeSlack, FakeUser};

/// The signing secret of the benchmark (also in `bench/slack.sh`).
const SECRET: &str = "bench-signing-secret-0123456789abcdef";
const USER: &str = "UBENCH0001";

#[derive(Clone, Default)]
struct SlowInbox {
    events: Arc<Mutex<HashSet<String>>>,
    in_processing: Arc<AtomicU64>,
}

impl SlackInbox for SlowInbox {
    async fn seen_event(&self, event_id: &str) -> Result<bool, InboxError> {
        Ok(self.lock().contains(event_id))
    }

    async fn submit(&self, message: SlackMessage) -> Result<Submitted, InboxError> {
        if let Some(event_id) = message.event_id
            && !self.lock().insert(event_id)
        {
            return Ok(Submitted::Duplicate);
        }
        let in_processing = Arc::clone(&self.in_processing);
        in_processing.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            in_processing.fetch_sub(1, Ordering::Relaxed);
        });
        Ok(Submitted::Accepted)
    }

    async fn reset(&self, _identity: &Identity) -> Result<(), InboxError> {
        Ok(())
    }

    async fn describe_session(
        &self,
        _identity: &Identity,
        _session_id: &str,
    ) -> Result<Option<SessionSummary>, InboxError> {
        Ok(None)
    }
}

impl SlowInbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn mention(event_id: &str) -> String {
    serde_json::json!({
        "type": "event_callback", "team_id": "TBENCH", "event_id": event_id,
        "authorizations": [{"user_id": "UBOT", "is_bot": true}],
        "event": {"type": "app_mention", "user": USER, "channel": "CBENCH", "ts": "1700000000.000100",
                  "text": "<@UBOT> my laptop is slow"},
    })
    .to_string()
}

fn now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

struct Bench {
    url: String,
    http: reqwest::Client,
    signer: SignatureVerifier,
    _fake: FakeSlack,
    inbox: SlowInbox,
}

impl Bench {
    async fn start() -> Bench {
        let fake = FakeSlack::start().expect("fake Slack");
        fake.add_user(FakeUser::with_email(USER, "bench@example.com"));
        let settings =
            SlackSettings::for_api(&fake.api_url(), BOT_TOKEN, SECRET).expect("settings");
        let inbox = SlowInbox::default();
        let app = router(SlackBridge::new(&settings).expect("bridge"), inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Bench {
            url: format!("http://{addr}/slack/events"),
            http: reqwest::Client::new(),
            signer: SignatureVerifier::new(&SecretString::from(SECRET)),
            _fake: fake,
            inbox,
        }
    }

    async fn post(&self, body: &str) -> bool {
        let timestamp = now();
        let signature = self.signer.sign(&timestamp, body.as_bytes());
        let sent = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", timestamp)
            .header("x-slack-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        sent.is_ok_and(|response| response.status() == 200)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn latency(bench: &Bench, count: usize) {
    bench.post(&mention("warm-up")).await;
    let mut times = Vec::with_capacity(count);
    for n in 0..count {
        let body = mention(&format!("EvLat{n}"));
        let started = Instant::now();
        assert!(bench.post(&body).await, "acknowledged");
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "latency: {count} app_mention events, ack p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} still processing in the background",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1]),
        bench.inbox.in_processing.load(Ordering::Relaxed),
    );
}

async fn throughput(bench: Arc<Bench>, seconds: u64, connections: usize, repeat_one: bool) {
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let (bench, acked) = (Arc::clone(&bench), Arc::clone(&acked));
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let id = if repeat_one {
                        "EvSame".to_owned()
                    } else {
                        format!("EvT{worker}-{n}")
                    };
                    if bench.post(&mention(&id)).await {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let total = acked.load(Ordering::Relaxed);
    let what = if repeat_one {
        "one event redelivered (deduplicated)"
    } else {
        "new events"
    };
    println!(
        "throughput: {what}, {connections} connections, {seconds} s: {total} acknowledged, {:.0} events/s",
        total as f64 / seconds as f64
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |index: usize, default: u64| {
        args.get(index)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let bench = Arc::new(Bench::start().await);
    match args.first().map(String::as_str).unwrap_or("latency") {
        "latency" => latency(&bench, arg(1, 2000) as usize).await,
        "throughput" => {
            let (seconds, connections) = (arg(1, 10), arg(2, 32) as usize);
            throughput(Arc::clone(&bench), seconds, connections, false).await;
            throughput(bench, seconds, connections, true).await;
        }
        "serve" => {
            println!("{}", bench.url);
            tokio::time::sleep(Duration::from_secs(arg(1, 30))).await;
        }
        other => eprintln!("unknown mode {other}: latency | throughput | serve"),
    }
}
