//! The rendered release and how its containers run here: each as the
//! kubelet would run it (`common::pod`), from the image its pod runs, with
//! what points at in-cluster services moved onto the test's loopback
//! services and each pod's port onto a host port of its own.

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::chart::{self, Container, EMPLOYEE_INFO, SNOW};
use crate::common::container::Running;
use crate::common::pod::Objects;
use crate::common::{describe, podman, run};

/// What the render holds, and how its containers run here.
pub struct Release {
    pub objects: Vec<Value>,
    /// The release's Secrets and ConfigMaps plus the pre-existing ones, the
    /// database Secret's contents pointing at the test PostgreSQL.
    pub references: Objects,
    /// In-cluster addresses and their loopback stand-ins.
    pub rewrites: Vec<(String, String)>,
    /// Each pod's port (the `http` containerPort) and the host port it
    /// moves to (the containers share the host's network).
    pub pod_ports: Vec<PodPort>,
    pub images: Images,
    /// Where ConfigMap and Secret volumes are written.
    pub volumes: tempfile::TempDir,
    /// Prefix of the podman container names.
    pub prefix: String,
    /// The containers (`Kind/object:container`) run so far.
    pub ran: Mutex<BTreeSet<String>>,
}

/// The images under test: the main one, and each MCP server's.
pub struct Images {
    pub main: String,
    pub employee_info: String,
    pub snow: String,
}

impl Images {
    /// The image a container of the render runs, by its pod.
    pub fn of(&self, member: &Container<'_>) -> &str {
        match member.component() {
            Some(EMPLOYEE_INFO) => &self.employee_info,
            Some(SNOW) => &self.snow,
            _ => &self.main,
        }
    }
}

/// A pod's port moved to a host port.
pub struct PodPort {
    /// `Kind/name` of the pod.
    pub pod: String,
    pub container_port: u16,
    pub host_port: u16,
}

/// A container run to its end.
pub struct Ran {
    pub id: String,
    pub output: Output,
    pub elapsed: Duration,
}

impl Ran {
    /// Asserts exit code 0, printing how long it took.
    pub fn assert_success(&self) {
        assert!(
            self.output.status.success(),
            "{} failed: {}",
            self.id,
            describe(&self.output)
        );
        println!("{}: exit 0 in {} ms", self.id, self.elapsed.as_millis());
    }
}

impl Release {
    pub fn one(&self, kind: &str) -> &Value {
        chart::one(&self.objects, kind)
    }

    /// Every container of every pod in the render, init containers first.
    pub fn members(&self) -> Vec<Container<'_>> {
        chart::containers(&self.objects)
    }

    /// The one container of `kind` whose command line starts with `argv`.
    pub fn member(&self, kind: &str, argv: &[&str]) -> Container<'_> {
        self.find_member(kind, None, argv)
    }

    /// The one container of `kind` whose pod has the component label
    /// `component` and whose command line starts with `argv`.
    pub fn member_of(&self, kind: &str, component: &str, argv: &[&str]) -> Container<'_> {
        self.find_member(kind, Some(component), argv)
    }

    fn find_member(&self, kind: &str, component: Option<&str>, argv: &[&str]) -> Container<'_> {
        let mut found: Vec<Container<'_>> = self
            .members()
            .into_iter()
            .filter(|m| {
                m.kind == kind
                    && component.is_none_or(|component| m.component() == Some(component))
                    && m.to_run()
                        .argv()
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .starts_with(argv)
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {kind} container ({component:?}) running {argv:?} expected, got {}",
            found.len()
        );
        found.remove(0)
    }

    /// `text` of the container `member_id` (`Kind/name:container`) with
    /// the in-cluster addresses and its pod's listening address moved.
    pub fn rewrite(&self, member_id: &str, text: &str) -> String {
        let mut rewrites = self.rewrites.clone();
        if let Some(port) = self.pod_port(member_id) {
            let local = format!("127.0.0.1:{}", port.host_port);
            rewrites.push((format!("0.0.0.0:{}", port.container_port), local.clone()));
            rewrites.push((format!("127.0.0.1:{}", port.container_port), local));
        }
        replace_once(text, &rewrites)
    }

    /// The port move of the pod `member_id` belongs to.
    pub fn pod_port(&self, member_id: &str) -> Option<&PodPort> {
        self.pod_ports.iter().find(|port| {
            member_id
                .strip_prefix(port.pod.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
        })
    }

    /// Environment and command line of a container, with the in-cluster
    /// addresses moved onto loopback.
    pub fn localised(&self, member: &Container<'_>) -> (Vec<(String, String)>, Vec<String>) {
        let env: Vec<(String, String)> = member
            .to_run()
            .env(&self.references)
            .into_iter()
            .map(|(name, value)| {
                let value = self.rewrite(&member.id, &value);
                assert_loopback_urls(&format!("{}: env {name}", member.id), &value);
                (name, value)
            })
            .collect();
        let argv: Vec<String> = member
            .to_run()
            .argv()
            .iter()
            .map(|arg| {
                let arg = self.rewrite(&member.id, arg);
                assert_loopback_urls(&format!("{}: argument", member.id), &arg);
                arg
            })
            .collect();
        (env, argv)
    }

    /// `podman run` for a container: attached (`--rm`) or detached.
    pub fn podman_run(&self, member: &Container<'_>, detach: Option<&str>) -> Command {
        self.ran.lock().unwrap().insert(member.id.clone());
        let (env, argv) = self.localised(member);
        let container = member.to_run();
        let mut command = podman();
        command.args([
            "run",
            "--runtime",
            "runc",
            "--network",
            "host",
            "--pull",
            "never",
        ]);
        match detach {
            Some(name) => command.args(["--detach", "--name", name]),
            None => command.arg("--rm"),
        };
        command.args(container.security_flags());
        command.args(container.resource_flags());
        let volume_dir = self.volumes.path().join(member.id.replace(['/', ':'], "_"));
        command.args(container.volume_flags(&self.references, &volume_dir));
        for (name, value) in env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        // The k8s command replaces the image's ENTRYPOINT (the MCP images
        // have one) and its CMD; the args are the rest.
        let command_len = strings_len(member.spec, "command");
        let entrypoint = serde_json::to_string(&argv[..command_len]).unwrap();
        command
            .arg("--entrypoint")
            .arg(entrypoint)
            .arg(self.images.of(member))
            .args(&argv[command_len..]);
        command
    }

    /// Runs a container to its end.
    pub fn run(&self, member: &Container<'_>) -> Ran {
        let started = Instant::now();
        let output = run(&mut self.podman_run(member, None));
        Ran {
            id: member.id.clone(),
            output,
            elapsed: started.elapsed(),
        }
    }

    /// Starts a container detached, named `<prefix>-<suffix>`.
    pub fn start(&self, member: &Container<'_>, suffix: &str) -> Running {
        let name = format!("{}-{suffix}", self.prefix);
        let _ = podman().args(["rm", "--force", &name]).output();
        let output = run(&mut self.podman_run(member, Some(&name)));
        let running = Running::named(name);
        assert!(
            output.status.success(),
            "{}: podman run --detach: {}",
            member.id,
            describe(&output)
        );
        running
    }
}

/// How many strings a container's `command` (or `args`) has.
fn strings_len(container: &Value, field: &str) -> usize {
    container[field].as_array().map_or(0, Vec::len)
}

/// Replaces every occurrence of any `from` by its `to` in one pass (a
/// replacement is never matched again).
fn replace_once(text: &str, rewrites: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(ch) = rest.chars().next() {
        for (from, to) in rewrites {
            if let Some(after) = rest.strip_prefix(from.as_str()) {
                out.push_str(to);
                rest = after;
                continue 'scan;
            }
        }
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// Every URL in `text` points at loopback.
pub fn assert_loopback_urls(what: &str, text: &str) {
    for (at, _) in text.match_indices("://") {
        let authority = text[at + 3..]
            .split(['/', '?', '#', ' ', '"'])
            .next()
            .unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let host = host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host);
        assert!(
            host == "127.0.0.1" || host == "localhost",
            "{what}: {text:?} still points at {host:?}, not at the test's loopback services"
        );
    }
}
