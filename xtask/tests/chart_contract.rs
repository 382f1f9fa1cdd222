//! The contract between the chart and the image (issue 6): the chart is
//! rendered by the real Helm v4 engine (`helm/tests/render.py` in the tools
//! venv) and every container of the render (the Jobs', the Deployment's init
//! container and container, the `helm test` pod's) is run from the image
//! that `cargo xtask build-image` builds (once per test process, shared with
//! the image tests' helpers), with exactly that container's command, args
//! and environment, as the kubelet would run it:
//!
//! - env from the release's Secret/ConfigMap (or from a Secret the user
//!   created beforehand) resolved from those objects, base64-decoded;
//! - the pod's and container's securityContext (user and group 1001,
//!   `--read-only` without podman's own tmpfs, `--cap-drop ALL`,
//!   `no-new-privileges`), resource limits (`--memory`, `--cpus`);
//! - volumes: emptyDir as tmpfs of its sizeLimit, ConfigMap and Secret
//!   volumes written out as the kubelet lays them out and mounted read-only.
//!
//! What points at in-cluster services is then moved onto loopback (the
//! containers share the host's network): the database Secret's contents to
//! the test PostgreSQL, `http://llamastack:8321` to an in-process fake
//! LlamaStack, and the pod's port 8080 (the `http` containerPort, which
//! LISTEN_ADDR, the probes and the Service's targetPort all name) together
//! with the Service address `http://<service>:<port>` to one free host port.
//! Afterwards no URL in any env value or argument may point anywhere else.
//!
//! Checked, in the order of a first install: the init container
//! (`db-migrate wait`) keeps waiting while the schema is missing; the
//! migration Job exits 0 and alembic is at `001`; the init container then
//! exits 0; the registration Job exits 0 and LlamaStack has the agents; the
//! service passes its startup, liveness and readiness probes (exec probes
//! run with `podman exec`, httpGet probes fetched), `/ready` answers 200,
//! and a request goes through it to the agents; the `helm test` pod passes
//! (and, with LlamaStack down, fails).
//!
//! Needs podman and the tools venv (`target/venv/tools`); without them the
//! tests print `SKIPPED: ...`, or fail under `SSA_REQUIRE_ALL=1`.
//! `SSA_CONTRACT_IMAGE=<reference>` runs an image already in podman's store
//! instead of building one (e.g. the `reference` of target/image/last-build.json).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::pod::{Objects, PodContainer, Probe, ProbeAction, secret_object};
use common::{agent_image, on_path, podman, run};
use serde_json::{Value, json};
use test_support::TestDatabase;
use test_support::fake_llamastack::{DEFAULT_LLM, FakeLlamaStack};

const RELEASE: &str = "self-service-agent";
const NAMESPACE: &str = "ssa";
/// `llamaStack.url` of values.yaml: the in-cluster LlamaStack Service.
const CLUSTER_LLAMASTACK_URL: &str = "http://llamastack:8321";

const DB_MIGRATE: &str = "/usr/local/bin/db-migrate";
const REGISTER_ASSETS: &str = "/usr/local/bin/register-assets";
const SERVICE: &str = "/usr/local/bin/self-service-agent";

const ROUTING_REPLY: &str = "Hello from the routing agent.";

// ---------------------------------------------------------------- harness

/// podman and the tools venv's python, or `None` after a visible skip
/// (a failure under `SSA_REQUIRE_ALL=1`).
fn prerequisites(test: &str) -> Option<PathBuf> {
    let python = common::render::venv_python();
    let missing = if !on_path("podman") {
        "podman not installed (`cargo xtask provision` installs it)".to_owned()
    } else if !python.is_file() {
        common::render::missing_venv(&python)
    } else {
        return Some(python);
    };
    test_support::skip_unless_required(test, &missing);
    None
}

/// The chart's objects for `values`, rendered by the real Helm engine.
fn render(python: &Path, values: &Value) -> Vec<Value> {
    let root = test_support::fixtures::workspace_root();
    let request = json!({
        "chart": root.join("helm"),
        "values": values,
        "release": RELEASE,
        "namespace": NAMESPACE,
        "lint": false,
        "kube_versions": [],
    });
    let answer = common::render::render(python, &request);
    assert_eq!(answer["ok"], true, "render failed: {}", answer["error"]);
    answer["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["object"].clone())
        .collect()
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
fn assert_loopback_urls(what: &str, text: &str) {
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

/// A detached container, removed when the test ends, however it ends.
struct Running {
    name: String,
}

impl Running {
    fn state(&self, field: &str) -> String {
        let output = run(podman()
            .args(["inspect", "--format", &format!("{{{{.State.{field}}}}}")])
            .arg(&self.name));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn running(&self) -> bool {
        self.state("Running") == "true"
    }

    fn logs(&self) -> String {
        let output = run(podman().args(["logs", &self.name]));
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// Waits for the container to exit; its exit code.
    async fn exit_code(&self, timeout: Duration) -> i64 {
        let deadline = Instant::now() + timeout;
        while self.running() {
            assert!(
                Instant::now() < deadline,
                "{} still running after {timeout:?}; logs:\n{}",
                self.name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.state("ExitCode").parse().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rm", "--force", "--time", "2", &self.name])
            .output();
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

// ---------------------------------------------------------------- release

/// What the render holds, and how its containers run here.
struct Release {
    objects: Vec<Value>,
    /// The release's Secrets and ConfigMaps plus the pre-existing ones.
    references: Objects,
    /// In-cluster addresses and their loopback stand-ins.
    rewrites: Vec<(String, String)>,
    image: String,
    /// Where ConfigMap and Secret volumes are written.
    volumes: tempfile::TempDir,
    /// Prefix of the podman container names.
    prefix: String,
    ran: std::sync::Mutex<BTreeSet<String>>,
}

/// One container of the render, named `Kind/object:container`.
struct Member<'a> {
    id: String,
    kind: &'a str,
    container: PodContainer<'a>,
}

impl Release {
    fn one(&self, kind: &str) -> &Value {
        let found: Vec<&Value> = self.objects.iter().filter(|o| o["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "one {kind} expected, got {}", found.len());
        found[0]
    }

    /// Every container of every pod in the render, init containers first.
    fn members(&self) -> Vec<Member<'_>> {
        let mut members = Vec::new();
        for object in &self.objects {
            let kind = object["kind"].as_str().unwrap_or_default();
            let pod = match kind {
                "Pod" => &object["spec"],
                "Deployment" | "Job" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                    &object["spec"]["template"]["spec"]
                }
                "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => continue,
            };
            for field in ["initContainers", "containers"] {
                for container in pod[field].as_array().into_iter().flatten() {
                    let container = PodContainer { pod, container };
                    members.push(Member {
                        id: format!(
                            "{kind}/{}:{}",
                            object["metadata"]["name"].as_str().unwrap(),
                            container.name()
                        ),
                        kind,
                        container,
                    });
                }
            }
        }
        members
    }

    /// The one container of `kind` whose command line starts with `argv`.
    fn member(&self, kind: &str, argv: &[&str]) -> Member<'_> {
        let mut found: Vec<Member<'_>> = self
            .members()
            .into_iter()
            .filter(|m| {
                m.kind == kind
                    && m.container
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
            "one {kind} container running {argv:?} expected, got {}",
            found.len()
        );
        found.remove(0)
    }

    fn rewrite(&self, text: &str) -> String {
        replace_once(text, &self.rewrites)
    }

    /// Environment and command line of a container, with the in-cluster
    /// addresses moved onto loopback.
    fn localised(&self, member: &Member<'_>) -> (Vec<(String, String)>, Vec<String>) {
        let env: Vec<(String, String)> = member
            .container
            .env(&self.references)
            .into_iter()
            .map(|(name, value)| {
                let value = self.rewrite(&value);
                assert_loopback_urls(&format!("{}: env {name}", member.id), &value);
                (name, value)
            })
            .collect();
        let argv: Vec<String> = member
            .container
            .argv()
            .iter()
            .map(|arg| {
                let arg = self.rewrite(arg);
                assert_loopback_urls(&format!("{}: argument", member.id), &arg);
                arg
            })
            .collect();
        (env, argv)
    }

    /// `podman run` for a container: attached (`--rm`) or detached.
    fn podman_run(&self, member: &Member<'_>, detach: Option<&str>) -> Command {
        self.ran.lock().unwrap().insert(member.id.clone());
        let (env, argv) = self.localised(member);
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
        command.args(member.container.security_flags());
        command.args(member.container.resource_flags());
        let volume_dir = self.volumes.path().join(member.id.replace(['/', ':'], "_"));
        command.args(member.container.volume_flags(&self.references, &volume_dir));
        for (name, value) in env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command.arg(&self.image).args(argv);
        command
    }

    /// Runs a container to its end; its output, asserting exit code 0.
    fn run_to_success(&self, member: &Member<'_>) -> Output {
        let started = Instant::now();
        let output = run(&mut self.podman_run(member, None));
        assert!(
            output.status.success(),
            "{} failed: {}",
            member.id,
            describe(&output)
        );
        println!(
            "{}: exit 0 in {} ms",
            member.id,
            started.elapsed().as_millis()
        );
        output
    }

    fn start(&self, member: &Member<'_>, suffix: &str) -> Running {
        let name = format!("{}-{suffix}", self.prefix);
        let _ = podman().args(["rm", "--force", &name]).output();
        let output = run(&mut self.podman_run(member, Some(&name)));
        let running = Running { name };
        assert!(
            output.status.success(),
            "{}: podman run --detach: {}",
            member.id,
            describe(&output)
        );
        running
    }
}

/// One attempt of a probe against the running service; `Err` says why it failed.
async fn probe_once(
    release: &Release,
    container: &Running,
    probe: &Probe,
    client: &reqwest::Client,
    host_port: u16,
    container_port: u16,
) -> Result<(), String> {
    let timeout = Duration::from_secs(probe.timeout_seconds);
    match &probe.action {
        ProbeAction::Exec(command) => {
            let command: Vec<String> = command.iter().map(|arg| release.rewrite(arg)).collect();
            for arg in &command {
                assert_loopback_urls(&format!("{} exec", probe.kind), arg);
            }
            let started = Instant::now();
            let output = run(podman().arg("exec").arg(&container.name).args(&command));
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
                *port, container_port,
                "{}: httpGet on port {port}, the service listens on {container_port}",
                probe.kind
            );
            let url = format!("{scheme}://127.0.0.1:{host_port}{path}");
            match client.get(&url).timeout(timeout).send().await {
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

/// The image under test: `SSA_CONTRACT_IMAGE` when set (an image already
/// in podman's store, e.g. the `reference` of target/image/last-build.json),
/// else the image tests' build of the current tree, once per test process.
fn image_reference() -> String {
    match std::env::var("SSA_CONTRACT_IMAGE") {
        Ok(reference) if !reference.is_empty() => reference,
        _ => agent_image().reference.clone(),
    }
}

// ------------------------------------------------------------------ cases

/// One set of values and what installing it must produce.
struct Case {
    test: &'static str,
    /// Short name for the containers.
    slug: &'static str,
    values: Value,
    /// Secrets the user creates before installing (the test database's
    /// connection is passed in).
    existing: fn(&TestDatabase) -> Vec<Value>,
    /// Agents LlamaStack must hold after the registration Job.
    agents: Vec<String>,
    /// Vector DBs LlamaStack must hold after the registration Job.
    knowledge_bases: Vec<String>,
    /// An agent of another name, present before the install (with
    /// `assets.prune` it must be gone afterwards).
    stray_agent_pruned: Option<bool>,
    /// Bearer key of the API keys file (api-key modes), else `x-user-id`.
    api_key: Option<&'static str>,
    /// Also check that the helm test fails while LlamaStack is down.
    negative_helm_test: bool,
}

/// The `name` of every agent in the image's asset directory (`assets/config`).
fn packaged_agents() -> Vec<String> {
    let dir = test_support::fixtures::workspace_root().join("assets/config/agents");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "yaml"))
        .map(|entry| {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            text.lines()
                .find_map(|line| line.strip_prefix("name:"))
                .unwrap_or_else(|| panic!("{}: no name", entry.path().display()))
                .trim()
                .trim_matches(['"', '\''])
                .to_owned()
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no agents in {}", dir.display());
    names
}

/// The knowledge bases (directories) of the image's asset directory.
fn packaged_knowledge_bases() -> Vec<String> {
    let dir = test_support::fixtures::workspace_root().join("assets/config/knowledge_bases");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn install_and_check(case: Case) {
    let Some(python) = prerequisites(case.test) else {
        return;
    };
    let total = Instant::now();
    let image = image_reference();
    let database = test_support::test_database().await.unwrap();
    let fake = FakeLlamaStack::start().await;
    if case.stray_agent_pruned.is_some() {
        fake.add_agent(json!({
            "name": "stray-agent", "model": DEFAULT_LLM,
            "instructions": "Registered by someone else.",
        }));
    }
    fake.set_reply("routing-agent", |_, _| ROUTING_REPLY.to_owned());

    let objects = render(&python, &case.values);
    let mut references = Objects::from_objects(&objects);
    for existing in (case.existing)(&database) {
        references.add(&existing);
    }

    // The release's database Secret carries the chart's values; on the
    // cluster it would point at the in-cluster PostgreSQL, here at the test's.
    let db_secret = objects.iter().find(|o| o["kind"] == "Secret");
    if let Some(secret) = db_secret {
        let name = secret["metadata"]["name"].as_str().unwrap();
        let database_values = &case.values["database"];
        let value_or = |key: &str, default: &str| {
            database_values[key]
                .as_str()
                .map(str::to_owned)
                .or_else(|| database_values[key].as_u64().map(|n| n.to_string()))
                .unwrap_or_else(|| default.to_owned())
        };
        for (key, expected) in [
            ("host", value_or("host", "pgvector")),
            ("port", value_or("port", "5432")),
            ("dbname", value_or("name", "llama_agents")),
            ("user", value_or("user", "pgvector")),
            ("password", value_or("password", "")),
        ] {
            assert_eq!(
                references.secret_text(name, key).as_deref(),
                Some(expected.as_str()),
                "Secret {name} key {key}"
            );
        }
        references.add(&database_secret(name, &database));
    } else {
        assert!(
            !case.values["database"]["existingSecret"].is_null(),
            "no database Secret rendered"
        );
    }

    // The pod's port: LISTEN_ADDR, the `http` containerPort, the probes and
    // the Service's targetPort must agree.
    let deployment = case_server(&objects);
    let container_port = deployment.container_port("http").expect("port http");
    let listen = deployment
        .env(&references)
        .into_iter()
        .find(|(name, _)| name == "LISTEN_ADDR")
        .map(|(_, value)| value)
        .expect("LISTEN_ADDR");
    assert_eq!(
        listen,
        format!("0.0.0.0:{container_port}"),
        "the service listens where the containerPort says"
    );
    let service = objects.iter().find(|o| o["kind"] == "Service").unwrap();
    let service_name = service["metadata"]["name"].as_str().unwrap().to_owned();
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(service_port["targetPort"], "http");
    let service_port = service_port["port"].as_u64().unwrap();
    let host_port = test_support::postgres::free_port().unwrap();

    let release = Release {
        rewrites: vec![
            (CLUSTER_LLAMASTACK_URL.to_owned(), fake.url()),
            (
                format!("http://{service_name}:{service_port}"),
                format!("http://127.0.0.1:{host_port}"),
            ),
            (
                format!("http://{service_name}.{NAMESPACE}.svc:{service_port}"),
                format!("http://127.0.0.1:{host_port}"),
            ),
            (
                format!("0.0.0.0:{container_port}"),
                format!("127.0.0.1:{host_port}"),
            ),
            (
                format!("127.0.0.1:{container_port}"),
                format!("127.0.0.1:{host_port}"),
            ),
        ],
        objects,
        references,
        image,
        volumes: tempfile::tempdir().unwrap(),
        prefix: format!("ssa-contract-{}-{}", std::process::id(), case.slug),
        ran: std::sync::Mutex::default(),
    };
    release.one("Deployment");

    let migrate = release.member("Job", &[DB_MIGRATE]);
    let register = release.member("Job", &[REGISTER_ASSETS]);
    let wait = release.member("Deployment", &[DB_MIGRATE, "wait"]);
    let server = release.member("Deployment", &[SERVICE, "serve"]);
    let helm_test = release.member("Pod", &[SERVICE, "healthcheck"]);
    assert_eq!(
        release.one("Pod")["metadata"]["annotations"]["helm.sh/hook"],
        "test"
    );

    // 1. The Deployment's init container starts with the migration Job (the
    // kubelet does not wait for the Job); it must keep waiting meanwhile.
    let waiting = release.start(&wait, "wait-for-schema");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        waiting.running(),
        "{} returned before the schema was migrated (exit {}); logs:\n{}",
        wait.id,
        waiting.state("ExitCode"),
        waiting.logs()
    );

    // 2. The migration Job.
    release.run_to_success(&migrate);
    database
        .execute_script(
            "DO $$ BEGIN IF (SELECT string_agg(version_num, ',') FROM alembic_version) \
             IS DISTINCT FROM '001' THEN RAISE EXCEPTION 'alembic_version is not 001'; \
             END IF; END $$;",
        )
        .await
        .expect("the schema is at alembic 001");

    // 3. The init container returns once the schema is current.
    let started = Instant::now();
    let code = waiting.exit_code(Duration::from_secs(15)).await;
    assert_eq!(code, 0, "{}: logs:\n{}", wait.id, waiting.logs());
    println!(
        "{}: exit 0, {} ms after the migration",
        wait.id,
        started.elapsed().as_millis()
    );

    // 4. The registration Job.
    let output = release.run_to_success(&register);
    let agents: BTreeSet<String> = fake
        .snapshot()
        .agents
        .values()
        .filter_map(|agent| agent["agent_config"]["name"].as_str().map(str::to_owned))
        .collect();
    let mut expected: BTreeSet<String> = case.agents.iter().cloned().collect();
    if case.stray_agent_pruned == Some(false) {
        expected.insert("stray-agent".into());
    }
    assert_eq!(
        agents,
        expected,
        "agents after {}: {}",
        register.id,
        describe(&output)
    );
    let vector_dbs = fake.snapshot().vector_dbs;
    for knowledge_base in &case.knowledge_bases {
        assert!(
            vector_dbs.contains_key(knowledge_base),
            "vector DB {knowledge_base} after {}: {:?}",
            register.id,
            vector_dbs.keys().collect::<Vec<_>>()
        );
    }

    // 5. The service: probes as the kubelet runs them, then /ready.
    let service_container = release.start(&server, "server");
    let client = reqwest::Client::new();
    let probes: Vec<Probe> = ["startupProbe", "livenessProbe", "readinessProbe"]
        .into_iter()
        .filter_map(|kind| server.container.probe(kind))
        .collect();
    assert!(
        probes.iter().any(|p| p.kind == "readinessProbe"),
        "the service has a readiness probe"
    );
    let started = Instant::now();
    for probe in &probes {
        // Attempts closer together than periodSeconds, within the time the
        // kubelet would allow (period × failureThreshold).
        let deadline = Instant::now()
            + Duration::from_secs(probe.period_seconds * probe.failure_threshold)
                .min(Duration::from_secs(30));
        loop {
            match probe_once(
                &release,
                &service_container,
                probe,
                &client,
                host_port,
                container_port,
            )
            .await
            {
                Ok(()) => break,
                Err(reason) => {
                    assert!(
                        service_container.running(),
                        "{} exited with {} before its {} passed; logs:\n{}",
                        server.id,
                        service_container.state("ExitCode"),
                        probe.kind,
                        service_container.logs()
                    );
                    assert!(
                        Instant::now() < deadline,
                        "{}: {} did not pass ({reason}); logs:\n{}",
                        server.id,
                        probe.kind,
                        service_container.logs()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        println!(
            "{}: {} ({:?}) passed {} ms after the start",
            server.id,
            probe.kind,
            probe.action,
            started.elapsed().as_millis()
        );
    }
    let ready = client
        .get(format!("http://127.0.0.1:{host_port}/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");

    // 6. A request through the service to the registered agents, with the
    // chart's authentication settings.
    let mut request = client
        .post(format!(
            "http://127.0.0.1:{host_port}/api/v1/requests/generic/sync"
        ))
        .json(&json!({"content": "hello", "integration_type": "CLI"}));
    request = match case.api_key {
        Some(key) => request.bearer_auth(key),
        None => request.header("x-user-id", "alice"),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["content"], ROUTING_REPLY, "{body}");
    if case.api_key.is_some() {
        let refused = client
            .post(format!(
                "http://127.0.0.1:{host_port}/api/v1/requests/generic/sync"
            ))
            .json(&json!({"content": "hello", "integration_type": "CLI"}))
            .bearer_auth("not-a-key-of-the-mounted-file")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "a key outside the mounted file");
    }

    // 7. helm test.
    let output = release.run_to_success(&helm_test);
    println!(
        "{}: {}",
        helm_test.id,
        String::from_utf8_lossy(&output.stdout)
    );
    if case.negative_helm_test {
        fake.stop().await;
        let output = run(&mut release.podman_run(&helm_test, None));
        assert_eq!(
            output.status.code(),
            Some(69),
            "{} with LlamaStack down: {}",
            helm_test.id,
            describe(&output)
        );
        fake.restart().await.unwrap();
        release.run_to_success(&helm_test);
    }
    assert!(
        service_container.running(),
        "the service stayed up; logs:\n{}",
        service_container.logs()
    );

    // Every container of the render ran.
    let all: BTreeSet<String> = release.members().into_iter().map(|m| m.id).collect();
    assert_eq!(
        *release.ran.lock().unwrap(),
        all,
        "containers run vs rendered"
    );
    println!(
        "{}: {} containers honoured the contract in {} ms",
        case.test,
        all.len(),
        total.elapsed().as_millis()
    );
}

/// The service container of the render, for its ports and LISTEN_ADDR.
fn case_server(objects: &[Value]) -> PodContainer<'_> {
    let deployment = objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "one container in the service's pod");
    PodContainer {
        pod,
        container: &containers[0],
    }
}

/// The database Secret pointing at the test's PostgreSQL, with the keys the
/// chart reads (those of the Python system's `pgvector` Secret).
fn database_secret(name: &str, database: &TestDatabase) -> Value {
    let port = database.port.to_string();
    secret_object(
        name,
        &[
            ("host", database.host.as_str()),
            ("port", port.as_str()),
            ("dbname", database.name.as_str()),
            ("user", database.user.as_str()),
            ("password", database.password.as_str()),
        ],
    )
}

// ------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread")]
async fn default_values_every_container_runs_against_postgres_and_llamastack() {
    install_and_check(Case {
        test: "default_values_every_container_runs_against_postgres_and_llamastack",
        slug: "defaults",
        values: json!({}),
        existing: |_| Vec::new(),
        agents: packaged_agents(),
        knowledge_bases: packaged_knowledge_bases(),
        stray_agent_pruned: None,
        api_key: None,
        negative_helm_test: true,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_database_secret_is_read_by_every_container() {
    install_and_check(Case {
        test: "existing_database_secret_is_read_by_every_container",
        slug: "external-secret",
        values: json!({"database": {"existingSecret": "pgvector"}}),
        // What README's `kubectl create secret generic` makes.
        existing: |database| vec![database_secret("pgvector", database)],
        agents: packaged_agents(),
        knowledge_bases: packaged_knowledge_bases(),
        stray_agent_pruned: Some(false),
        api_key: None,
        negative_helm_test: false,
    })
    .await;
}

const API_KEY: &str = "contract-test-key-5f2a9c41";

#[tokio::test(flavor = "multi_thread")]
async fn asset_configmap_api_keys_exec_probes_and_prune_work_in_the_image() {
    install_and_check(Case {
        test: "asset_configmap_api_keys_exec_probes_and_prune_work_in_the_image",
        slug: "overrides",
        values: json!({
            "fullnameOverride": "ssa",
            "assets": {
                "files": {
                    "config.yaml": "timeout: 60\n",
                    "agents/routing-agent.yaml": "name: routing-agent\nmodel: ''\n\
                        instructions: Route each request to the right specialist.\n\
                        tool_choice: none\ninput_shields: []\noutput_shields: []\n\
                        max_infer_iters: 10\nenable_session_persistence: false\n\
                        mcp_servers: []\nknowledge_bases: []\n",
                    "knowledge_bases/laptop-refresh/policy.txt":
                        "Laptops are refreshed every three years.\n",
                },
                "prune": true,
            },
            "auth": {"mode": "header-or-api-key", "apiKeysSecret": "ssa-api-keys"},
            "probes": {"mode": "exec"},
            "service": {"port": 9090},
            "logging": {"level": "debug", "format": "text"},
            "extraEnv": [{"name": "RUST_BACKTRACE", "value": "1"}],
        }),
        existing: |_| {
            vec![secret_object(
                "ssa-api-keys",
                &[("api-keys", &format!("# user key\nalice {API_KEY}\n"))],
            )]
        },
        agents: vec!["routing-agent".to_owned()],
        knowledge_bases: vec!["laptop-refresh".to_owned()],
        stray_agent_pruned: Some(true),
        api_key: Some(API_KEY),
        negative_helm_test: false,
    })
    .await;
}
