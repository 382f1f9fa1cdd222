//! The service's probes run as the kubelet runs them: exec probes with
//! `podman exec` in the running container, httpGet probes fetched from the
//! host port the pod's port is published on.

use std::time::{Duration, Instant};

use crate::common::container::Running;
use crate::common::pod::{Probe, ProbeAction};
use crate::common::{describe, podman, run};
use crate::release::{Release, assert_loopback_urls};

/// The running service as its probes reach it.
pub struct ProbeTarget<'a> {
    pub release: &'a Release,
    pub container: &'a Running,
    pub id: &'a str,
    pub client: &'a reqwest::Client,
    pub host_port: u16,
    pub container_port: u16,
}

impl ProbeTarget<'_> {
    /// Tries `probe` until it passes, closer together than periodSeconds,
    /// within the time the kubelet would allow (period × failureThreshold,
    /// at most 30 s); how long after `started` it passed, or why not.
    pub async fn pass(&self, probe: &Probe, started: Instant) -> Result<Duration, String> {
        let deadline = Instant::now()
            + Duration::from_secs(probe.period_seconds * probe.failure_threshold)
                .min(Duration::from_secs(30));
        loop {
            match self.once(probe).await {
                Ok(()) => return Ok(started.elapsed()),
                Err(reason) if !self.container.running() => {
                    return Err(format!(
                        "{} exited with {} before its {} passed ({reason}); logs:\n{}",
                        self.id,
                        self.container.state("ExitCode"),
                        probe.kind,
                        self.container.logs()
                    ));
                }
                Err(reason) if Instant::now() >= deadline => {
                    return Err(format!(
                        "{}: {} did not pass ({reason}); logs:\n{}",
                        self.id,
                        probe.kind,
                        self.container.logs()
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// One attempt of a probe; `Err` says why it failed.
    async fn once(&self, probe: &Probe) -> Result<(), String> {
        let timeout = Duration::from_secs(probe.timeout_seconds);
        match &probe.action {
            ProbeAction::Exec(command) => {
                let command: Vec<String> = command
                    .iter()
                    .map(|arg| self.release.rewrite(self.id, arg))
                    .collect();
                for arg in &command {
                    assert_loopback_urls(&format!("{} exec", probe.kind), arg);
                }
                let started = Instant::now();
                let output = run(podman()
                    .arg("exec")
                    .arg(&self.container.name)
                    .args(&command));
                if started.elapsed() > timeout {
                    return Err(format!("{command:?} took {:?}", started.elapsed()));
                }
                if output.status.success() {
                    Ok(())
                } else {
                    Err(format!("{command:?}: {}", describe(&output)))
                }
            }
            ProbeAction::HttpGet { scheme, path, port } => {
                assert_eq!(
                    *port, self.container_port,
                    "{}: httpGet on port {port}, the service listens on {}",
                    probe.kind, self.container_port
                );
                let url = format!("{scheme}://127.0.0.1:{}{path}", self.host_port);
                match self.client.get(&url).timeout(timeout).send().await {
                    // The kubelet counts 200-399 as success.
                    Ok(response) if (200..400).contains(&response.status().as_u16()) => Ok(()),
                    Ok(response) => Err(format!(
                        "GET {path}: {} {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    )),
                    Err(error) => Err(format!("GET {path}: {error}")),
                }
            }
        }
    }
}
