//! The dispatcher's Deployment (`dispatcher.enabled`), run as the kubelet
//! runs it once the schema is current: its `db-migrate wait` init
//! container, then `self-service-agent dispatch` with its probes and
//! `/ready`; then the answer to a request of a user with a TEST integration
//! is delivered by it, while the service, started with
//! DISPATCHER_ENABLED=false, delivers nothing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::TestDatabase;

use crate::common::chart::{DB_MIGRATE, SERVICE};
use crate::common::container::Running;
use crate::common::pod::Probe;
use crate::install::Installation;
use crate::probe::ProbeTarget;
use crate::release::{Ran, Release};

/// The component label of the dispatcher's pods.
pub const DISPATCHER: &str = "dispatcher";
/// What the dispatcher logs once it runs, and for each attempt
/// (crates/agent-service/src/lib.rs, src/dispatch/mod.rs).
const DISPATCHING: &str = "delivering answers";
const ATTEMPT: &str = "delivery attempt";

/// The dispatcher running, before the request.
pub struct Started {
    pub id: String,
    pub init: Ran,
    pub container: Running,
    pub probes: Vec<(Probe, Result<Duration, String>)>,
    pub ready: Result<(u16, Value), String>,
}

/// What the dispatcher's containers showed.
pub struct Dispatched {
    pub id: String,
    pub init: Ran,
    pub probes: Vec<(Probe, Result<Duration, String>)>,
    pub ready: Result<(u16, Value), String>,
    /// The TEST integration created, then the delivery DELIVERED (after how
    /// long), or why not.
    pub delivered: Result<Duration, String>,
    pub stayed_up: bool,
    pub logs: String,
}

/// Runs the dispatcher's init container and starts the dispatcher, its
/// probes passed as the kubelet runs them; `None` without one in the render.
pub async fn start(release: &Release, client: &reqwest::Client) -> Option<Started> {
    let has_dispatcher = release
        .members()
        .iter()
        .any(|member| member.component() == Some(DISPATCHER));
    if !has_dispatcher {
        return None;
    }
    let wait = release.member_of("Deployment", DISPATCHER, &[DB_MIGRATE, "wait"]);
    let dispatcher = release.member_of("Deployment", DISPATCHER, &[SERVICE, "dispatch"]);
    let init = release.run(&wait);
    let port = release
        .pod_port(&dispatcher.id)
        .expect("the dispatcher's port");
    let container = release.start(&dispatcher, DISPATCHER);
    let started = Instant::now();
    let mut probes = Vec::new();
    for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let Some(probe) = dispatcher.to_run().probe(kind) else {
            continue;
        };
        let target = ProbeTarget {
            release,
            container: &container,
            id: &dispatcher.id,
            client,
            host_port: port.host_port,
            container_port: port.container_port,
        };
        let outcome = target.pass(&probe, started).await;
        probes.push((probe, outcome));
    }
    let ready = async {
        let response = client
            .get(format!("http://127.0.0.1:{}/ready", port.host_port))
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or_default()))
    }
    .await;
    Some(Started {
        id: dispatcher.id.clone(),
        init,
        container,
        probes,
        ready,
    })
}

/// Gives `user` a TEST integration through the service at `base`, so that
/// the next answer to them is queued for delivery.
pub async fn integrate(client: &reqwest::Client, base: &str, user: &str) -> Result<(), String> {
    let response = client
        .post(format!("{base}/api/v1/users/{user}/integrations"))
        .header("x-user-id", user)
        .json(&json!({"integration_type": "TEST", "config": {}}))
        .send()
        .await
        .map_err(|error| error.to_string())?;
    match response.status().as_u16() {
        201 => Ok(()),
        status => Err(format!(
            "creating the TEST integration: {status} {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

/// Waits up to 20 s for a DELIVERED row in delivery_logs.
pub async fn wait_delivered(database: &TestDatabase) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let delivered = database
            .execute_script(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM delivery_logs \
                 WHERE status::text = 'DELIVERED') THEN \
                 RAISE EXCEPTION 'no delivery is DELIVERED'; END IF; END $$;",
            )
            .await;
        match delivered {
            Ok(()) => return Ok(started.elapsed()),
            Err(error) if started.elapsed() > Duration::from_secs(20) => {
                return Err(format!("after 20 s: {error:#}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

impl Started {
    pub fn finish(self, delivered: Result<Duration, String>) -> Dispatched {
        Dispatched {
            id: self.id,
            init: self.init,
            probes: self.probes,
            ready: self.ready,
            delivered,
            stayed_up: self.container.running(),
            logs: self.container.logs(),
        }
    }
}

fn dispatched(installed: &Installation) -> &Dispatched {
    installed
        .dispatcher
        .as_ref()
        .expect("this case renders the dispatcher")
}

pub fn dispatcher_init_exits_0_once_migrated(installed: &Installation) {
    dispatched(installed).init.assert_success();
}

pub fn dispatcher_probes_pass(installed: &Installation) {
    let dispatched = dispatched(installed);
    assert_eq!(dispatched.probes.len(), 3, "startup, liveness, readiness");
    for (probe, outcome) in &dispatched.probes {
        match outcome {
            Ok(after) => println!(
                "{} {} ({:?}) passed {} ms after the start",
                dispatched.id,
                probe.kind,
                probe.action,
                after.as_millis()
            ),
            Err(reason) => panic!("{reason}"),
        }
    }
}

pub fn dispatcher_ready(installed: &Installation) {
    let dispatched = dispatched(installed);
    let (status, body) = dispatched
        .ready
        .as_ref()
        .unwrap_or_else(|error| panic!("{}: GET /ready: {error}", dispatched.id));
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
}

/// The answer was delivered, by the dispatcher and not by the service.
pub fn only_the_dispatcher_delivers(installed: &Installation) {
    let dispatched = dispatched(installed);
    if let Err(error) = &dispatched.delivered {
        panic!(
            "{}: the answer was not delivered: {error}; logs:\n{}",
            dispatched.id, dispatched.logs
        );
    }
    assert!(
        dispatched.logs.contains(DISPATCHING) && dispatched.logs.contains(ATTEMPT),
        "{}: logs:\n{}",
        dispatched.id,
        dispatched.logs
    );
    assert!(
        !installed.service_logs.contains(DISPATCHING) && !installed.service_logs.contains(ATTEMPT),
        "the service (DISPATCHER_ENABLED=false) dispatched; logs:\n{}",
        installed.service_logs
    );
}

pub fn dispatcher_stays_up(installed: &Installation) {
    let dispatched = dispatched(installed);
    assert!(
        dispatched.stayed_up,
        "{} stayed up; logs:\n{}",
        dispatched.id, dispatched.logs
    );
}
