//! One install of a case, in the order of a first install on a cluster,
//! run once per test process: the chart rendered, the test's PostgreSQL
//! and fake LlamaStack standing in for the in-cluster ones, every container
//! of the render run from its image. What each step showed is recorded for
//! the tests; only a broken test setup stops the install.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::fake_llamastack::{FakeLlamaStack, Flavor, Scripted};

use crate::cases::{Case, ROUTING_AGENT, ROUTING_REPLY, database_secret};
use crate::common::chart::{
    self, CLUSTER_LLAMASTACK_URL, DATABASE, DB_MIGRATE, NAMESPACE, REGISTER_ASSETS, SERVER, SERVICE,
};
use crate::common::has_program;
use crate::common::images::all_images;
use crate::common::pod::{Objects, PodContainer, Probe};
use crate::dispatcher::{self, Dispatched};
use crate::mcp::{McpServed, serve_mcp};
use crate::probe::ProbeTarget;
use crate::release::{Images, PodPort, Ran, Release};

/// A case installed, and what each step of the install showed.
pub struct Installation {
    pub case: Case,
    pub release: Release,
    /// The Deployment's init container (`db-migrate wait`), 1.5 s after it
    /// started, before the migration Job ran: still running?
    pub init_waited: bool,
    /// Its state then, for the failure message.
    pub init_early_state: String,
    pub migration: Ran,
    /// `alembic_version` after the migration Job.
    pub schema: Result<(), String>,
    /// The init container's exit code once the schema was current, and how
    /// long after the migration it exited; its logs.
    pub init_exit: Result<(i64, Duration), String>,
    pub init_logs: String,
    pub registration: Ran,
    /// The fake's flavour: 0.2.18 when an earlier release's agent was
    /// seeded, else the current servers'.
    pub flavor: Flavor,
    /// The agents of 0.2.18's Agents API (by name) left afterwards.
    pub legacy_agents: BTreeSet<String>,
    /// The vector stores LlamaStack held afterwards: each store's metadata
    /// and the `attributes.document_id` of its files.
    pub vector_stores: Vec<(Value, BTreeSet<String>)>,
    /// The service's probes, in the kubelet's order, each passed (after
    /// how long) or not (why).
    pub probes: Vec<(Probe, Result<Duration, String>)>,
    /// `GET /ready` after the probes: status and body.
    pub ready: Result<(u16, Value), String>,
    /// A request through the service with the chart's authentication.
    pub request: Result<(u16, Value), String>,
    /// The Responses calls the service made for it, as the fake got them.
    pub responses: Vec<Value>,
    /// With an API key: the status of a request with a key outside the file.
    pub foreign_key: Option<Result<u16, String>>,
    pub helm_test: Ran,
    /// The helm test with LlamaStack down, then again once it was back.
    pub helm_test_llamastack_down: Option<(Ran, Ran)>,
    /// Whether the service was still running at the end, and its logs.
    pub service_stayed_up: bool,
    pub service_logs: String,
    /// What each MCP server's container showed.
    pub mcp: Vec<McpServed>,
    /// What the dispatcher's Deployment showed, when the case has one.
    pub dispatcher: Option<Dispatched>,
}

/// podman, the tools venv's python and the MCP venv's (for the MCP
/// client), or `None` after a visible skip (a failure under
/// `SSA_REQUIRE_ALL=1`).
pub fn prerequisites(test: &str) -> Option<(PathBuf, PathBuf)> {
    if !has_program("podman") {
        test_support::skip_unless_required(
            test,
            "podman not installed (`cargo xtask provision` installs it)",
        );
        return None;
    }
    let tools = chart::tools_python(test)?;
    Some((tools, test_support::mcp::python_or_skip(test)?))
}

/// The images under test: `SSA_CONTRACT_IMAGE` when set (the main image,
/// already in podman's store, e.g. the `reference` of
/// target/image/last-build.json), with the MCP images beside it as
/// `cargo xtask build-image --all` names them; else the image tests' build
/// of the current tree, once per test process.
fn images() -> Images {
    match std::env::var("SSA_CONTRACT_IMAGE") {
        Ok(reference) if !reference.is_empty() => {
            let (repository, tag) = reference.rsplit_once(':').expect("repository:tag");
            Images {
                employee_info: format!("{repository}-employee-info-mcp:{tag}"),
                snow: format!("{repository}-snow-mcp:{tag}"),
                main: reference,
            }
        }
        _ => {
            let all = all_images();
            Images {
                main: all.agent.reference.clone(),
                employee_info: all.mcp("mcp-employee-info").reference.clone(),
                snow: all.mcp("mcp-snow").reference.clone(),
            }
        }
    }
}

/// Installs `case`; `None` after a visible skip.
pub fn install(case: Case) -> Option<Installation> {
    let (python, mcp_python) = prerequisites(&format!("chart contract ({})", case.slug))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    Some(runtime.block_on(install_with(case, python, mcp_python)))
}

async fn install_with(case: Case, python: PathBuf, mcp_python: PathBuf) -> Installation {
    let total = Instant::now();
    let images = images();
    let database = test_support::test_database().await.unwrap();
    let flavor = match case.stray_agent_pruned {
        Some(_) => Flavor::V0_2_18,
        None => Flavor::Current,
    };
    let fake = FakeLlamaStack::builder()
        .flavor(flavor)
        .start()
        .await
        .unwrap();
    if case.stray_agent_pruned.is_some() {
        fake.add_legacy_agent("stray-agent");
    }
    // The model answers the routing agent of the directory the service
    // should run, known by its instructions.
    let assets = case.assets();
    let routing = assets.agent(ROUTING_AGENT).expect("a routing agent");
    let routing_instructions = assets
        .resolve_prompt(routing, test_support::fake_llamastack::DEFAULT_LLM)
        .expect("the routing agent's instructions")
        .0;
    fake.set_responder(move |input| {
        Scripted::Text(
            if input.instructions.as_deref() == Some(routing_instructions.as_str()) {
                ROUTING_REPLY.to_owned()
            } else {
                format!(
                    "not the routing agent's instructions: {:?}",
                    input.instructions
                )
            },
        )
    });

    let render = chart::render(&python, &case.values, false, &[]);
    assert!(render.ok(), "render failed: {}", render.error());
    let objects: Vec<Value> = render.objects().into_iter().cloned().collect();
    let mut references = Objects::from_objects(&objects);
    for existing in (case.existing)(&database) {
        references.add(&existing);
    }
    // The release's database Secret carries the chart's values; on the
    // cluster it would point at the in-cluster PostgreSQL, here at the test's.
    if let Some(secret) = chart::of_kind(&objects, "Secret")
        .into_iter()
        .find(|o| o["metadata"]["labels"]["app.kubernetes.io/component"] == DATABASE)
    {
        let name = secret["metadata"]["name"].as_str().unwrap();
        references.add(&database_secret(name, &database));
    }

    // Each Deployment's pod port (the `http` containerPort, which
    // LISTEN_ADDR, the probes and the Service's targetPort all name) moves
    // to a free host port, and each Service's address with it.
    let pod_ports: Vec<PodPort> = chart::of_kind(&objects, "Deployment")
        .into_iter()
        .map(|deployment| {
            let pod = &deployment["spec"]["template"]["spec"];
            let port = PodContainer {
                pod,
                container: &pod["containers"][0],
            }
            .container_port("http")
            .expect("port http");
            PodPort {
                pod: format!(
                    "Deployment/{}",
                    deployment["metadata"]["name"].as_str().unwrap()
                ),
                container_port: port,
                host_port: test_support::postgres::free_port().unwrap(),
            }
        })
        .collect();
    let mut rewrites = vec![(CLUSTER_LLAMASTACK_URL.to_owned(), fake.url())];
    for service in chart::of_kind(&objects, "Service") {
        let name = service["metadata"]["name"].as_str().unwrap();
        let port = service["spec"]["ports"][0]["port"].as_u64().unwrap();
        let component = &service["metadata"]["labels"]["app.kubernetes.io/component"];
        let deployment = chart::of_kind(&objects, "Deployment")
            .into_iter()
            .find(|d| &d["metadata"]["labels"]["app.kubernetes.io/component"] == component)
            .expect("the Service's Deployment");
        let pod = format!(
            "Deployment/{}",
            deployment["metadata"]["name"].as_str().unwrap()
        );
        let host_port = pod_ports.iter().find(|p| p.pod == pod).unwrap().host_port;
        for address in [
            format!("http://{name}:{port}"),
            format!("http://{name}.{NAMESPACE}.svc:{port}"),
        ] {
            rewrites.push((address, format!("http://127.0.0.1:{host_port}")));
        }
    }
    let release = Release {
        rewrites,
        pod_ports,
        objects,
        references,
        images,
        volumes: tempfile::tempdir().unwrap(),
        prefix: format!("ssa-contract-{}-{}", std::process::id(), case.slug),
        ran: std::sync::Mutex::default(),
    };
    let migrate = release.member("Job", &[DB_MIGRATE]);
    let register = release.member("Job", &[REGISTER_ASSETS]);
    let wait = release.member_of("Deployment", SERVER, &[DB_MIGRATE, "wait"]);
    let server = release.member("Deployment", &[SERVICE, "serve"]);
    let helm_test = release.member("Pod", &[SERVICE, "healthcheck"]);

    // 1. The Deployment's init container starts with the migration Job (the
    // kubelet does not wait for the Job); it must keep waiting meanwhile.
    let waiting = release.start(&wait, "wait-for-schema");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let init_waited = waiting.running();
    let init_early_state = format!(
        "exit {}; logs:\n{}",
        waiting.state("ExitCode"),
        waiting.logs()
    );

    // 2. The migration Job.
    let migration = release.run(&migrate);
    let schema = database
        .execute_script(
            "DO $$ BEGIN IF (SELECT string_agg(version_num, ',') FROM alembic_version) \
             IS DISTINCT FROM '001' THEN RAISE EXCEPTION 'alembic_version is not 001'; \
             END IF; END $$;",
        )
        .await
        .map_err(|error| format!("{error:#}"));

    // 3. The init container returns once the schema is current.
    let started = Instant::now();
    let init_exit = waiting
        .exit_code(Duration::from_secs(15))
        .await
        .map(|code| (code, started.elapsed()));
    let init_logs = waiting.logs();
    drop(waiting);

    // 4. The registration Job.
    let registration = release.run(&register);
    let snapshot = fake.snapshot();
    let legacy_agents = snapshot
        .agents
        .values()
        .filter_map(|agent| agent["agent_config"]["name"].as_str().map(str::to_owned))
        .collect();
    let vector_stores = snapshot
        .vector_stores
        .values()
        .map(|store| {
            let documents = store
                .files
                .values()
                .filter_map(|file| file["attributes"]["document_id"].as_str())
                .map(str::to_owned)
                .collect();
            (store.object["metadata"].clone(), documents)
        })
        .collect();

    // 5. The MCP servers: probes, /health, tool calls with the release's
    // token as LlamaStack makes them, and one without.
    let mut mcp = Vec::new();
    for member in release.members().into_iter().filter(|m| m.is_mcp_server()) {
        mcp.push(serve_mcp(&release, &member, &mcp_python).await);
    }

    // 6. The service: probes as the kubelet runs them, then /ready.
    let server_port = release.pod_port(&server.id).expect("the service's port");
    let (host_port, container_port) = (server_port.host_port, server_port.container_port);
    let local = format!("127.0.0.1:{host_port}");
    let service_container = release.start(&server, "server");
    let client = reqwest::Client::new();
    let service_probes = ["startupProbe", "livenessProbe", "readinessProbe"]
        .into_iter()
        .filter_map(|kind| server.to_run().probe(kind));
    let started = Instant::now();
    let mut probes = Vec::new();
    for probe in service_probes {
        let target = ProbeTarget {
            release: &release,
            container: &service_container,
            id: &server.id,
            client: &client,
            host_port,
            container_port,
        };
        let outcome = target.pass(&probe, started).await;
        probes.push((probe, outcome));
    }
    let base = format!("http://{local}");
    let ready = get_json(client.get(format!("{base}/ready"))).await;

    // 6b. The dispatcher, when the case has its Deployment: its init
    // container, its probes, /ready; and alice gets a TEST integration, so
    // the request below queues a delivery for it to make.
    let dispatcher = dispatcher::start(&release, &client).await;
    let integrated = match &dispatcher {
        Some(_) => Some(dispatcher::integrate(&client, &base, "alice").await),
        None => None,
    };

    // 7. A request through the service to the agents of its asset
    // directory, with the chart's authentication settings.
    let sync = format!("{base}/api/v1/requests/generic/sync");
    let body = json!({"content": "hello", "integration_type": "CLI"});
    let request = client.post(&sync).json(&body);
    let request = match case.api_key {
        Some(key) => request.bearer_auth(key),
        None => request.header("x-user-id", "alice"),
    };
    let request = get_json(request).await;
    let responses = fake
        .responses_received()
        .iter()
        .map(|sent| serde_json::to_value(sent).unwrap())
        .collect();
    let foreign_key = match case.api_key {
        Some(_) => Some(
            client
                .post(&sync)
                .json(&body)
                .bearer_auth("not-a-key-of-the-mounted-file")
                .send()
                .await
                .map(|response| response.status().as_u16())
                .map_err(|error| error.to_string()),
        ),
        None => None,
    };

    let dispatcher = match (dispatcher, integrated) {
        (Some(started), Some(integrated)) => {
            let delivered = match integrated {
                Ok(()) => dispatcher::wait_delivered(&database).await,
                Err(error) => Err(error),
            };
            Some(started.finish(delivered))
        }
        _ => None,
    };

    // 8. helm test, and with LlamaStack down.
    let helm_test_ran = release.run(&helm_test);
    let helm_test_llamastack_down = if case.negative_helm_test {
        fake.stop().await;
        let down = release.run(&helm_test);
        fake.restart().await.unwrap();
        Some((down, release.run(&helm_test)))
    } else {
        None
    };
    let service_stayed_up = service_container.running();
    let service_logs = service_container.logs();
    drop(service_container);
    for served in &mut mcp {
        served.finish();
    }
    println!(
        "{}: {} containers run in {} ms",
        case.slug,
        release.ran.lock().unwrap().len(),
        total.elapsed().as_millis()
    );
    Installation {
        case,
        release,
        init_waited,
        init_early_state,
        migration,
        schema,
        init_exit,
        init_logs,
        registration,
        flavor,
        legacy_agents,
        vector_stores,
        probes,
        ready,
        request,
        responses,
        foreign_key,
        helm_test: helm_test_ran,
        helm_test_llamastack_down,
        service_stayed_up,
        service_logs,
        mcp,
        dispatcher,
    }
}

/// The service container of the render, for its ports and LISTEN_ADDR.
pub fn server(objects: &[Value]) -> PodContainer<'_> {
    let deployment = chart::of_component(objects, "Deployment", SERVER);
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "one container in the service's pod");
    PodContainer {
        pod,
        container: &containers[0],
    }
}

/// Status and JSON body of a request (a body that is not JSON is `null`).
async fn get_json(request: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or_default()))
}
