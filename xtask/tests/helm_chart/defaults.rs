//! What the chart's default values install, object by object: the
//! Deployment (an init container waiting for the schema, the service),
//! the Service and PodDisruptionBudget, the migration and registration
//! Jobs, the `helm test` pod and the database Secret.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::chart::{
    CLUSTER_LLAMASTACK_URL, DATABASE, DB_MIGRATE, Render, SERVER, SERVICE, strings,
};
use crate::sets::{DEFAULTS, set};

fn defaults() -> Option<&'static Render> {
    set(DEFAULTS)
}

/// A container's env: name → literal `value`, else its `valueFrom`.
pub fn env_of(container: &Value) -> BTreeMap<String, Value> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let value = if e["value"].is_string() {
                e["value"].clone()
            } else {
                e["valueFrom"].clone()
            };
            (e["name"].as_str().unwrap_or_default().to_owned(), value)
        })
        .collect()
}

/// A reference to a key of the Secret the chart creates from its values.
fn secret_ref(key: &str) -> Value {
    json!({"secretKeyRef": {"name": "self-service-agent-db", "key": key}})
}

fn server_pod(render: &Render) -> &Value {
    &render.component("Deployment", SERVER)["spec"]["template"]["spec"]
}

#[test]
fn init_container_waits_for_schema_001_with_the_password_from_the_secret() {
    let Some(render) = defaults() else { return };
    let init = &server_pod(render)["initContainers"][0];
    assert_eq!(strings(&init["command"]), [DB_MIGRATE]);
    assert_eq!(strings(&init["args"]), ["wait"]);
    let init_env = env_of(init);
    assert_eq!(init_env["EXPECTED_MIGRATION_VERSION"], json!("001"));
    assert_eq!(init_env["POSTGRES_PASSWORD"], secret_ref("password"));
}

#[test]
fn service_container_listens_on_8080_with_llamastack_and_the_database_from_the_secret() {
    let Some(render) = defaults() else { return };
    let main = &server_pod(render)["containers"][0];
    assert_eq!(strings(&main["command"]), [SERVICE]);
    assert_eq!(main["ports"][0]["containerPort"], json!(8080));
    let main_env = env_of(main);
    assert_eq!(main_env["LISTEN_ADDR"], json!("0.0.0.0:8080"));
    assert_eq!(main_env["LLAMA_STACK_URL"], json!(CLUSTER_LLAMASTACK_URL));
    for (var, key) in [
        ("POSTGRES_HOST", "host"),
        ("POSTGRES_PORT", "port"),
        ("POSTGRES_DB", "dbname"),
        ("POSTGRES_USER", "user"),
        ("POSTGRES_PASSWORD", "password"),
    ] {
        assert_eq!(main_env[var], secret_ref(key), "{var}");
    }
}

#[test]
fn service_container_is_live_on_health_and_ready_on_ready() {
    let Some(render) = defaults() else { return };
    let main = &server_pod(render)["containers"][0];
    assert_eq!(
        main["livenessProbe"]["httpGet"],
        json!({"path": "/health", "port": "http"})
    );
    assert_eq!(
        main["readinessProbe"]["httpGet"],
        json!({"path": "/ready", "port": "http"})
    );
}

#[test]
fn the_service_deployment_runs_one_replica_without_an_autoscaler() {
    let Some(render) = defaults() else { return };
    assert_eq!(
        render.component("Deployment", SERVER)["spec"]["replicas"],
        json!(1)
    );
    assert!(render.of_kind("HorizontalPodAutoscaler").is_empty());
}

#[test]
fn the_service_sends_port_8080_to_the_server_pods_and_not_the_jobs_or_mcp_servers() {
    let Some(render) = defaults() else { return };
    let service = render.component("Service", SERVER);
    assert_eq!(service["spec"]["ports"][0]["port"], json!(8080));
    assert_eq!(
        service["spec"]["selector"]["app.kubernetes.io/component"],
        json!("server")
    );
    assert_eq!(
        service["spec"]["selector"],
        render.component("Deployment", SERVER)["spec"]["selector"]["matchLabels"],
        "Service and Deployment select the same pods"
    );
    for pod in render.pods() {
        if pod.id != "Deployment/self-service-agent" {
            assert_ne!(pod.component(), Some(SERVER), "{}", pod.id);
        }
    }
}

#[test]
fn disruption_budget_covers_the_pods_the_service_selects() {
    let Some(render) = defaults() else { return };
    assert_eq!(
        render.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        render.component("Service", SERVER)["spec"]["selector"]
    );
}

/// Plain resources (no hooks), named per revision so each upgrade runs them
/// afresh, failing at once on a bad command line or configuration.
#[test]
fn jobs_are_named_per_revision_and_fail_fast_on_bad_configuration() {
    let Some(render) = defaults() else { return };
    let jobs = render.of_kind("Job");
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert!(
            job["metadata"]["annotations"]["helm.sh/hook"].is_null(),
            "Jobs are not hooks"
        );
        assert!(
            job["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-1"))
        );
        assert_eq!(
            job["spec"]["template"]["spec"]["restartPolicy"],
            json!("Never")
        );
        let rule = &job["spec"]["podFailurePolicy"]["rules"][0];
        assert_eq!(rule["action"], json!("FailJob"));
        assert_eq!(rule["onExitCodes"]["values"], json!([2, 64, 78]));
    }
}

#[test]
fn register_assets_job_gets_no_database_settings() {
    let Some(render) = defaults() else { return };
    let register = render
        .of_kind("Job")
        .into_iter()
        .find(|job| job["metadata"]["labels"]["app.kubernetes.io/component"] == "register-assets")
        .expect("register-assets Job");
    let register_env = env_of(&register["spec"]["template"]["spec"]["containers"][0]);
    assert!(
        !register_env.keys().any(|k| k.starts_with("POSTGRES_")),
        "register-assets needs LlamaStack only"
    );
}

#[test]
fn without_asset_files_nothing_covers_the_images_app_config() {
    let Some(render) = defaults() else { return };
    assert!(render.of_kind("ConfigMap").is_empty());
    for container in render.containers() {
        for mount in container.spec["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_ne!(mount["mountPath"], json!("/app/config"), "{}", container.id);
        }
    }
}

#[test]
fn helm_test_pod_asks_the_services_ready_with_the_images_healthcheck() {
    let Some(render) = defaults() else { return };
    let test_pod = render.one("Pod");
    assert_eq!(
        test_pod["metadata"]["annotations"]["helm.sh/hook"],
        json!("test")
    );
    assert_eq!(
        strings(&test_pod["spec"]["containers"][0]["args"]),
        [
            "healthcheck",
            "--url",
            "http://self-service-agent:8080/ready"
        ]
    );
}

#[test]
fn database_secret_from_the_values_has_the_five_connection_keys() {
    let Some(render) = defaults() else { return };
    let keys: BTreeSet<&str> = render.component("Secret", DATABASE)["data"]
        .as_object()
        .expect("data")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["host", "port", "dbname", "user", "password"])
    );
}
