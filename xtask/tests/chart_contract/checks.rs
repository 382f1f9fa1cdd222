//! What one install must show, one behaviour each; `main.rs` makes a test
//! of each for every case.

use std::collections::{BTreeMap, BTreeSet};

use test_support::fake_llamastack::{DEFAULT_LLM, Flavor};

use crate::cases::{ROUTING_AGENT, ROUTING_REPLY};
use crate::common::chart::{self, DB_MIGRATE, SERVER};
use crate::common::describe;
use crate::common::pod::{Objects, ProbeAction};
use crate::install::{Installation, server};
use crate::release::assert_loopback_urls;

/// The release's database Secret carries the chart's database values;
/// without one, the values name the user's Secret.
pub fn database_secret(installed: &Installation) {
    let objects = &installed.release.objects;
    let database_values = &installed.case.values["database"];
    let Some(secret) = objects.iter().find(|o| {
        o["kind"] == "Secret"
            && o["metadata"]["labels"]["app.kubernetes.io/component"] == "database"
    }) else {
        assert!(
            !database_values["existingSecret"].is_null(),
            "no database Secret rendered"
        );
        return;
    };
    let rendered = Objects::from_objects(objects);
    let name = secret["metadata"]["name"].as_str().unwrap();
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
            rendered.secret_text(name, key).as_deref(),
            Some(expected.as_str()),
            "Secret {name} key {key}"
        );
    }
}

/// LISTEN_ADDR, the `http` containerPort and the Service's targetPort agree.
pub fn service_port(installed: &Installation) {
    let release = &installed.release;
    let deployment = server(&release.objects);
    let container_port = deployment.container_port("http").expect("port http");
    let listen = deployment
        .env(&release.references)
        .into_iter()
        .find(|(name, _)| name == "LISTEN_ADDR")
        .map(|(_, value)| value)
        .expect("LISTEN_ADDR");
    assert_eq!(
        listen,
        format!("0.0.0.0:{container_port}"),
        "the service listens where the containerPort says"
    );
    assert_eq!(
        chart::of_component(&release.objects, "Service", SERVER)["spec"]["ports"][0]["targetPort"],
        "http"
    );
}

pub fn helm_test_hook(installed: &Installation) {
    assert_eq!(
        installed.release.one("Pod")["metadata"]["annotations"]["helm.sh/hook"],
        "test"
    );
}

pub fn readiness_probe(installed: &Installation) {
    assert!(
        server(&installed.release.objects)
            .probe("readinessProbe")
            .is_some(),
        "the service has a readiness probe"
    );
}

/// Once the in-cluster addresses are moved onto loopback, no URL in any
/// env value, argument or exec probe points anywhere else.
pub fn urls_point_at_the_test_services(installed: &Installation) {
    let release = &installed.release;
    for member in release.members() {
        release.localised(&member);
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
            if let Some(ProbeAction::Exec(command)) =
                member.to_run().probe(kind).map(|probe| probe.action)
            {
                for arg in command {
                    assert_loopback_urls(
                        &format!("{} {kind} exec", member.id),
                        &release.rewrite(&member.id, &arg),
                    );
                }
            }
        }
    }
}

pub fn init_waits_for_the_schema(installed: &Installation) {
    assert!(
        installed.init_waited,
        "{} returned before the schema was migrated ({})",
        installed
            .release
            .member_of("Deployment", SERVER, &[DB_MIGRATE, "wait"])
            .id,
        installed.init_early_state
    );
}

pub fn migration(installed: &Installation) {
    installed.migration.assert_success();
    if let Err(error) = &installed.schema {
        panic!("the schema is at alembic 001: {error}");
    }
}

pub fn init_exits_once_migrated(installed: &Installation) {
    let id = &installed
        .release
        .member_of("Deployment", SERVER, &[DB_MIGRATE, "wait"])
        .id;
    let (code, after) = installed
        .init_exit
        .as_ref()
        .unwrap_or_else(|error| panic!("{id}: {error}"));
    assert_eq!(*code, 0, "{id}: logs:\n{}", installed.init_logs);
    println!("{id}: exit 0, {} ms after the migration", after.as_millis());
}

pub fn registration_succeeds(installed: &Installation) {
    installed.registration.assert_success();
}

/// Each knowledge base of the directory the Job read has one vector store
/// of register-assets' making, holding exactly its documents; there is no
/// other store.
pub fn registration_vector_stores(installed: &Installation) {
    let registration = &installed.registration;
    let assets = installed.case.assets();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for knowledge_base in &assets.knowledge_bases {
        let documents = knowledge_base
            .documents
            .iter()
            .map(|document| document.document_id(&knowledge_base.name))
            .collect();
        expected.insert(knowledge_base.name.clone(), documents);
    }
    assert!(
        !expected.is_empty(),
        "the case's directory has no knowledge base"
    );
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (metadata, documents) in &installed.vector_stores {
        assert_eq!(
            metadata["managed_by"], "register-assets",
            "a vector store not of register-assets' making: {metadata}"
        );
        let name = metadata["knowledge_base"].as_str().unwrap_or_default();
        let twice = found.insert(name.to_owned(), documents.clone());
        assert!(twice.is_none(), "two vector stores of {name}");
    }
    assert_eq!(
        found,
        expected,
        "vector stores (knowledge base: documents) after {}: {}",
        registration.id,
        describe(&registration.output)
    );
}

/// Without `assets.prune` the Job keeps the agent an earlier release left
/// on a 0.2.18 server, and says how to remove it.
pub fn left_over_agent_kept(installed: &Installation) {
    assert_eq!(installed.case.stray_agent_pruned, Some(false));
    assert_eq!(installed.flavor, Flavor::V0_2_18);
    let expected: BTreeSet<String> = ["stray-agent".to_owned()].into();
    assert_eq!(installed.legacy_agents, expected);
    let said = describe(&installed.registration.output);
    assert!(said.contains("--prune removes them"), "{said}");
}

/// With `assets.prune` (`--prune`) the Job removes it.
pub fn left_over_agent_pruned(installed: &Installation) {
    assert_eq!(installed.case.stray_agent_pruned, Some(true));
    assert_eq!(installed.flavor, Flavor::V0_2_18);
    assert!(
        installed.legacy_agents.is_empty(),
        "left after {}: {:?}: {}",
        installed.registration.id,
        installed.legacy_agents,
        describe(&installed.registration.output)
    );
}

pub fn probes_pass(installed: &Installation) {
    assert!(!installed.probes.is_empty(), "the service has no probes");
    for (probe, outcome) in &installed.probes {
        match outcome {
            Ok(after) => println!(
                "{} ({:?}) passed {} ms after the start",
                probe.kind,
                probe.action,
                after.as_millis()
            ),
            Err(reason) => panic!("{reason}"),
        }
    }
}

pub fn ready(installed: &Installation) {
    let (status, body) = installed
        .ready
        .as_ref()
        .unwrap_or_else(|error| panic!("GET /ready: {error}"));
    assert_eq!(*status, 200);
    assert_eq!(body["status"], "ready", "{body}");
}

pub fn request_reaches_the_agents(installed: &Installation) {
    let (status, body) = installed
        .request
        .as_ref()
        .unwrap_or_else(|error| panic!("the request: {error}"));
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["response"]["content"], ROUTING_REPLY, "{body}");
    assert_eq!(body["response"]["agent_id"], ROUTING_AGENT, "{body}");
}

/// The service answered with one Responses call carrying the routing
/// agent of the directory at `/app/config`: its instructions, the first
/// language model the server lists (the agents name none), a hand-off tool
/// per entry of its `handoffs`, and the caller's message.
pub fn service_runs_the_directorys_routing_agent(installed: &Installation) {
    let [sent] = installed.responses.as_slice() else {
        panic!(
            "one Responses call expected, got {}: {:#?}",
            installed.responses.len(),
            installed.responses
        );
    };
    let assets = installed.case.assets();
    let routing = assets.agent(ROUTING_AGENT).unwrap();
    let (instructions, _) = assets.resolve_prompt(routing, DEFAULT_LLM).unwrap();
    assert_eq!(sent["instructions"], instructions.as_str(), "{sent:#}");
    assert_eq!(sent["model"], DEFAULT_LLM, "{sent:#}");
    let functions: Vec<&str> = sent["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|tool| tool["type"] == "function")
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    let handoffs: Vec<String> = assets
        .handoff_tools(routing)
        .into_iter()
        .map(|tool| tool.name)
        .collect();
    assert_eq!(functions, handoffs, "{sent:#}");
    let said_hello = sent["input"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|item| item["role"] == "user" && item["content"] == "hello");
    assert!(said_hello, "the caller's message: {sent:#}");
}

pub fn helm_test_passes(installed: &Installation) {
    let helm_test = &installed.helm_test;
    helm_test.assert_success();
    println!(
        "{}: {}",
        helm_test.id,
        String::from_utf8_lossy(&helm_test.output.stdout)
    );
}

pub fn service_stays_up(installed: &Installation) {
    assert!(
        installed.service_stayed_up,
        "the service stayed up; logs:\n{}",
        installed.service_logs
    );
}

pub fn every_container_ran(installed: &Installation) {
    let release = &installed.release;
    let all: BTreeSet<String> = release.members().into_iter().map(|m| m.id).collect();
    assert_eq!(
        *release.ran.lock().unwrap(),
        all,
        "containers run vs rendered"
    );
}

pub fn helm_test_fails_while_llamastack_is_down(installed: &Installation) {
    let (down, back) = installed
        .helm_test_llamastack_down
        .as_ref()
        .expect("this case runs the helm test with LlamaStack down");
    assert_eq!(
        down.output.status.code(),
        Some(69),
        "{} with LlamaStack down: {}",
        down.id,
        describe(&down.output)
    );
    back.assert_success();
}

pub fn foreign_key_is_refused(installed: &Installation) {
    let status = installed
        .foreign_key
        .as_ref()
        .expect("this case authenticates with an API key")
        .as_ref()
        .unwrap_or_else(|error| panic!("the request with a foreign key: {error}"));
    assert_eq!(*status, 401, "a key outside the mounted file");
}
