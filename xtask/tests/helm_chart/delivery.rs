//! The delivery of answers as the chart sets it up (docs/delivery.md): by
//! default the service's pods dispatch; with `dispatcher.enabled` a
//! Deployment of its own runs `self-service-agent dispatch` and the
//! service's pods get DISPATCHER_ENABLED=false. Both get the same channel
//! settings, every secret through a `secretKeyRef`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::binaries::{DELIVERY as DELIVERY_ENV, DISPATCHING, SECRETS, SLACK_CLIENT};
use crate::common::chart::{DB_MIGRATE, Render, SERVER, SERVICE, strings};
use crate::defaults::env_of;
use crate::sets::{
    DEFAULTS, DELIVERY, EVERYTHING_ELSE, SLACK_SECRET, SMTP_SECRET, WEBHOOK_SECRET, renders, set,
};

/// The component label of the dispatcher's objects and pods.
const DISPATCHER: &str = "dispatcher";

fn deployments_of<'a>(render: &'a Render, component: &str) -> Vec<&'a Value> {
    render
        .of_kind("Deployment")
        .into_iter()
        .filter(|d| d["metadata"]["labels"]["app.kubernetes.io/component"] == component)
        .collect()
}

fn pod(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]
}

/// The service's container and the dispatcher's.
fn api_and_dispatcher(render: &Render) -> (&Value, &Value) {
    (
        &pod(render.component("Deployment", SERVER))["containers"][0],
        &pod(render.component("Deployment", DISPATCHER))["containers"][0],
    )
}

/// A container's env entries of the variables in `names`, as rendered.
fn entries<'a>(container: &'a Value, names: &[&str]) -> Vec<&'a Value> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| names.contains(&e["name"].as_str().unwrap_or_default()))
        .collect()
}

fn secret_ref(name: &str, key: &str) -> Value {
    json!({"secretKeyRef": {"name": name, "key": key}})
}

#[test]
fn by_default_the_service_pods_dispatch_and_there_is_no_dispatcher() {
    let Some(render) = set(DEFAULTS) else { return };
    assert!(deployments_of(render, DISPATCHER).is_empty());
    assert!(
        render
            .of_kind("PodDisruptionBudget")
            .iter()
            .all(|pdb| pdb["metadata"]["labels"]["app.kubernetes.io/component"] != DISPATCHER)
    );
    let env = env_of(&pod(render.component("Deployment", SERVER))["containers"][0]);
    assert!(!env.contains_key("DISPATCHER_ENABLED"), "{env:?}");
    for (var, value) in [
        ("DISPATCH_CONCURRENCY", "16"),
        ("DISPATCH_POLL_INTERVAL", "1"),
        ("DELIVERY_MAX_BACKOFF", "3600"),
        ("DELIVERY_TTL", "86400"),
        ("WORKER_CONCURRENCY", "64"),
        ("WORKER_POLL_INTERVAL", "2"),
        ("WEBHOOK_TIMEOUT", "10"),
    ] {
        assert_eq!(env.get(var), Some(&json!(value)), "{var}");
    }
    assert!(!env.contains_key("ADMIN_USERS"), "no admins by default");
}

#[test]
fn the_service_gets_dispatcher_enabled_false_exactly_when_the_dispatcher_deployment_exists() {
    let Some(renders) = renders() else { return };
    let mut seen = BTreeSet::new();
    for rendered in renders {
        let render = &rendered.render;
        let dispatchers = deployments_of(render, DISPATCHER);
        assert!(dispatchers.len() <= 1, "{}", rendered.name);
        let separate = dispatchers.len() == 1;
        assert_eq!(
            separate,
            rendered.values["dispatcher"]["enabled"] == json!(true),
            "{}",
            rendered.name
        );
        let env = env_of(&pod(render.component("Deployment", SERVER))["containers"][0]);
        assert_eq!(
            env.get("DISPATCHER_ENABLED"),
            separate.then(|| json!("false")).as_ref(),
            "{}",
            rendered.name
        );
        // The dispatcher's own settings go to whichever pods dispatch.
        for var in DISPATCHING {
            assert_eq!(
                env.contains_key(*var),
                !separate,
                "{}: {var}",
                rendered.name
            );
        }
        seen.insert(separate);
    }
    assert_eq!(seen.len(), 2, "sets with and without the dispatcher");
}

#[test]
fn the_dispatcher_runs_dispatch_with_its_replicas_resources_probes_and_the_schema_wait() {
    let Some(render) = set(DELIVERY) else { return };
    let deployment = render.component("Deployment", DISPATCHER);
    assert_eq!(
        deployment["metadata"]["name"],
        json!("self-service-agent-dispatcher")
    );
    assert_eq!(deployment["spec"]["replicas"], json!(3));
    let spec = pod(deployment);
    let containers = spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let main = &containers[0];
    assert_eq!(strings(&main["command"]), [SERVICE]);
    assert_eq!(strings(&main["args"]), ["dispatch"]);
    assert_eq!(
        main["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        main["resources"],
        json!({"requests": {"cpu": "20m", "memory": "40Mi"},
               "limits": {"cpu": "1", "memory": "96Mi"}})
    );
    for (probe, path) in [
        ("startupProbe", "/health"),
        ("livenessProbe", "/health"),
        ("readinessProbe", "/ready"),
    ] {
        assert_eq!(
            main[probe]["httpGet"],
            json!({"path": path, "port": "http"}),
            "{probe}"
        );
    }
    let env = env_of(main);
    assert_eq!(env["LISTEN_ADDR"], json!("0.0.0.0:8080"));
    assert_eq!(env["LLAMA_STACK_URL"], json!("http://llamastack:8321"));
    assert_eq!(env["EXPECTED_MIGRATION_VERSION"], json!("001"));
    assert_eq!(
        env["POSTGRES_PASSWORD"],
        secret_ref("self-service-agent-db", "password")
    );
    for (var, value) in [
        ("DISPATCH_CONCURRENCY", "16"),
        ("DISPATCH_POLL_INTERVAL", "1"),
        ("DELIVERY_MAX_BACKOFF", "3600"),
    ] {
        assert_eq!(env.get(var), Some(&json!(value)), "{var}");
    }
    // Its pods wait for the schema like the service's, with the same init
    // container.
    let init = &spec["initContainers"];
    assert_eq!(init.as_array().map(Vec::len), Some(1));
    assert_eq!(strings(&init[0]["command"]), [DB_MIGRATE]);
    assert_eq!(strings(&init[0]["args"]), ["wait"]);
    assert_eq!(
        init,
        &pod(render.component("Deployment", SERVER))["initContainers"]
    );
    assert_eq!(
        spec["terminationGracePeriodSeconds"],
        json!(30),
        "the drain's grace, as the service's"
    );
}

#[test]
fn the_dispatcher_follows_probes_mode_exec_pod_values_and_its_disruption_budget() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    let deployment = render.component("Deployment", DISPATCHER);
    let name = deployment["metadata"]["name"].as_str().expect("name");
    assert!(name.len() <= 63 && name.ends_with("-dispatcher"), "{name}");
    assert_eq!(deployment["spec"]["replicas"], json!(2));
    let template = &deployment["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"]["example.com/team"],
        json!("it")
    );
    assert!(template["spec"]["affinity"]["nodeAffinity"].is_object());
    assert_eq!(
        template["spec"]["imagePullSecrets"],
        json!([{"name": "pull-secret"}])
    );
    let main = &template["spec"]["containers"][0];
    assert_eq!(
        main["readinessProbe"]["exec"]["command"],
        json!([
            SERVICE,
            "healthcheck",
            "--url",
            "http://127.0.0.1:8080/ready"
        ])
    );
    let env = env_of(main);
    for (var, value) in [
        ("DISPATCH_CONCURRENCY", "4"),
        ("DISPATCH_POLL_INTERVAL", "0.25"),
        ("DELIVERY_MAX_BACKOFF", "600"),
        ("LOG_FORMAT", "text"),
        ("HTTPS_PROXY", "http://proxy:3128"),
    ] {
        assert_eq!(env.get(var), Some(&json!(value)), "{var}");
    }
    let api = env_of(&pod(render.component("Deployment", SERVER))["containers"][0]);
    for (var, value) in [
        ("WORKER_CONCURRENCY", "8"),
        ("WORKER_POLL_INTERVAL", "0.5"),
        ("DELIVERY_TTL", "3600"),
    ] {
        assert_eq!(api.get(var), Some(&json!(value)), "{var}");
    }
    let pdb = render.component("PodDisruptionBudget", DISPATCHER);
    assert_eq!(pdb["spec"]["minAvailable"], json!(1));
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

/// Whether a selector's `matchLabels` select a pod with `labels`.
fn selects(match_labels: &Value, labels: &Value) -> bool {
    match_labels
        .as_object()
        .is_some_and(|wanted| wanted.iter().all(|(key, value)| &labels[key] == value))
}

#[test]
fn only_the_dispatchers_budget_selects_its_pods_and_no_service_sends_them_traffic() {
    let Some(render) = set(DELIVERY) else { return };
    let deployment = render.component("Deployment", DISPATCHER);
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(selects(
        &deployment["spec"]["selector"]["matchLabels"],
        labels
    ));
    for service in render.of_kind("Service") {
        assert!(
            !selects(&service["spec"]["selector"], labels),
            "{}",
            service["metadata"]["name"]
        );
    }
    let budgets: Vec<&str> = render
        .of_kind("PodDisruptionBudget")
        .into_iter()
        .filter(|pdb| selects(&pdb["spec"]["selector"]["matchLabels"], labels))
        .filter_map(|pdb| pdb["metadata"]["name"].as_str())
        .collect();
    assert_eq!(budgets, ["self-service-agent-dispatcher"]);
}

#[test]
fn the_service_and_the_dispatcher_get_the_same_channel_settings() {
    for name in [DELIVERY, EVERYTHING_ELSE] {
        let Some(render) = set(name) else { return };
        let (api, dispatcher) = api_and_dispatcher(render);
        let channels: Vec<&str> = DELIVERY_ENV.iter().chain(SLACK_CLIENT).copied().collect();
        let on_api = entries(api, &channels);
        assert!(on_api.len() >= 8, "{name}: {on_api:?}");
        assert_eq!(on_api, entries(dispatcher, &channels), "{name}");
    }
    let Some(render) = set(DELIVERY) else { return };
    let env = env_of(api_and_dispatcher(render).1);
    for (var, value) in [
        ("SMTP_HOST", json!("smtp.example.com")),
        ("SMTP_PORT", json!("587")),
        ("SMTP_SECURITY", json!("starttls")),
        ("SMTP_USERNAME", json!("ssa-bot")),
        ("SMTP_PASSWORD", secret_ref(SMTP_SECRET, "password")),
        ("FROM_EMAIL", json!("noreply@localhost")),
        ("FROM_NAME", json!("Self-Service Agent")),
        (
            "WEBHOOK_SIGNING_SECRET",
            secret_ref(WEBHOOK_SECRET, "WEBHOOK_SIGNING_SECRET"),
        ),
        (
            "SLACK_BOT_TOKEN",
            secret_ref(SLACK_SECRET, "SLACK_BOT_TOKEN"),
        ),
    ] {
        assert_eq!(env.get(var), Some(&value), "{var}");
    }
    let Some(rich) = set(EVERYTHING_ELSE) else {
        return;
    };
    let env = env_of(api_and_dispatcher(rich).1);
    for (var, value) in [
        ("SMTP_HOST", "relay.example.com"),
        ("SMTP_PORT", "465"),
        ("SMTP_SECURITY", "tls"),
        ("SMTP_TIMEOUT", "10"),
        ("FROM_EMAIL", "it@example.com"),
        ("FROM_NAME", "IT"),
        ("WEBHOOK_TIMEOUT", "5"),
    ] {
        assert_eq!(env.get(var), Some(&json!(value)), "{var}");
    }
    assert!(
        !env.contains_key("SMTP_USERNAME") && !env.contains_key("SMTP_PASSWORD"),
        "no AUTH without a username: {env:?}"
    );
    assert!(!env.contains_key("WEBHOOK_SIGNING_SECRET"));
}

#[test]
fn without_an_smtp_host_no_pod_gets_smtp_settings() {
    let Some(render) = set(DEFAULTS) else { return };
    for container in render.containers() {
        for var in env_of(container.spec).keys() {
            assert!(
                !var.starts_with("SMTP_") && !var.starts_with("FROM_"),
                "{}: {var}",
                container.id
            );
        }
    }
}

#[test]
fn admin_users_reach_the_service_joined_with_commas() {
    let Some(render) = set(DELIVERY) else { return };
    let (api, dispatcher) = api_and_dispatcher(render);
    assert_eq!(env_of(api)["ADMIN_USERS"], json!("helpdesk,it-ops"));
    assert!(!env_of(dispatcher).contains_key("ADMIN_USERS"));
}

#[test]
fn secrets_reach_the_pods_only_through_secret_key_refs() {
    let Some(renders) = renders() else { return };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for rendered in renders {
        for container in rendered.render.containers() {
            for env in container.spec["env"].as_array().into_iter().flatten() {
                let var = env["name"].as_str().unwrap_or_default();
                let Some(var) = SECRETS.iter().find(|secret| **secret == var) else {
                    continue;
                };
                let what = format!("{} {}: {var}", rendered.name, container.id);
                assert!(env.get("value").is_none(), "{what} is inline: {env}");
                let reference = &env["valueFrom"]["secretKeyRef"];
                assert!(
                    reference["name"].is_string() && reference["key"].is_string(),
                    "{what}: {env}"
                );
                *seen.entry(var).or_default() += 1;
            }
        }
    }
    println!("secrets by secretKeyRef: {seen:?}");
    for var in SECRETS {
        assert!(seen.contains_key(var), "{var} in no override set");
    }
}
