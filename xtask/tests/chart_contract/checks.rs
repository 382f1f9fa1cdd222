//! What one install must show, one behaviour each; `main.rs` makes a test
//! of each for every case.

use std::collections::BTreeSet;

use crate::cases::ROUTING_REPLY;
use crate::common::chart::{self, DB_MIGRATE, REGISTER_ASSETS, SERVER};
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

pub fn registration_agents(installed: &Installation) {
    let registration = &installed.registration;
    registration.assert_success();
    let case = &installed.case;
    let mut expected: BTreeSet<String> = case.agents.iter().cloned().collect();
    if case.stray_agent_pruned == Some(false) {
        expected.insert("stray-agent".into());
    }
    assert_eq!(
        installed.agents,
        expected,
        "agents after {}: {}",
        registration.id,
        describe(&registration.output)
    );
}

pub fn registration_vector_dbs(installed: &Installation) {
    for knowledge_base in &installed.case.knowledge_bases {
        assert!(
            installed.vector_dbs.contains(knowledge_base),
            "vector DB {knowledge_base} after {}: {:?}",
            installed.release.member("Job", &[REGISTER_ASSETS]).id,
            installed.vector_dbs
        );
    }
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
