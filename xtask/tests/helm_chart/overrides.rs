//! What each override set changes, against what the chart does by default.

use serde_json::json;

use crate::common::chart::{DATABASE, SERVER};
use crate::defaults::env_of;
use crate::sets::{AUTOSCALING, DEFAULTS, EVERYTHING_ELSE, EXTERNAL_SECRET, LEAN, set};

#[test]
fn existing_database_secret_replaces_the_charts_own_in_all_fifteen_references() {
    let Some(external) = set(EXTERNAL_SECRET) else {
        return;
    };
    assert!(
        external
            .of_kind("Secret")
            .iter()
            .all(|secret| secret["metadata"]["labels"]["app.kubernetes.io/component"] != DATABASE),
        "no database Secret of the chart's own"
    );
    let mut references = 0;
    for container in external.containers() {
        for env in container.spec["env"].as_array().into_iter().flatten() {
            let var = env["name"].as_str().unwrap_or_default();
            if let Some(name) = env["valueFrom"]["secretKeyRef"]["name"].as_str()
                && var.starts_with("POSTGRES_")
            {
                assert_eq!(name, "pgvector", "{} {var}", container.id);
                references += 1;
            }
        }
    }
    assert_eq!(
        references, 15,
        "five keys in db-migrate, the init container and the service"
    );
}

#[test]
fn autoscaling_adds_an_autoscaling_v2_hpa_that_owns_the_replica_count() {
    let Some(autoscaling) = set(AUTOSCALING) else {
        return;
    };
    let hpa = autoscaling.one("HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], json!("autoscaling/v2"));
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], json!("Deployment"));
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        autoscaling.component("Deployment", SERVER)["metadata"]["name"]
    );
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_u64(),
            hpa["spec"]["maxReplicas"].as_u64()
        ),
        (Some(2), Some(6))
    );
    assert_eq!(hpa["spec"]["metrics"].as_array().map(Vec::len), Some(2));
    assert!(autoscaling.component("Deployment", SERVER)["spec"]["replicas"].is_null());
}

#[test]
fn a_63_character_fullname_keeps_every_object_name_within_63() {
    let Some(rich) = set(EVERYTHING_ELSE) else {
        return;
    };
    for object in rich.objects() {
        let name = object["metadata"]["name"].as_str().expect("name");
        assert!(name.len() <= 63, "{name} is longer than 63");
    }
}

#[test]
fn asset_files_become_a_configmap_mounted_at_app_config_for_register_assets_and_the_service() {
    let Some(rich) = set(EVERYTHING_ELSE) else {
        return;
    };
    let configmap = rich.one("ConfigMap");
    assert!(configmap["data"]["agents__routing-agent.yaml"].is_string());
    let mut assets_mounts = 0;
    for container in rich.containers() {
        let mounts: Vec<&str> = container.spec["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        if mounts.contains(&"/app/config") {
            assets_mounts += 1;
            let what = &container.id;
            assert!(
                what.contains("register-assets") || what.ends_with(":self-service-agent"),
                "{what}"
            );
        }
    }
    assert_eq!(
        assets_mounts, 2,
        "register-assets and the service see the override"
    );
    let pod = &rich.component("Deployment", SERVER)["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "assets")
        .expect("assets volume");
    assert!(
        volume["configMap"]["items"]
            .as_array()
            .expect("items")
            .contains(
                &json!({"key": "knowledge_bases__laptop-refresh__policy.txt",
                              "path": "knowledge_bases/laptop-refresh/policy.txt"})
            )
    );
}

#[test]
fn the_service_runs_the_agents_at_app_config_and_reads_them_again_every_reload_interval() {
    for (name, interval) in [(DEFAULTS, "30"), (EVERYTHING_ELSE, "2.5")] {
        let Some(render) = set(name) else { return };
        let container =
            &render.component("Deployment", SERVER)["spec"]["template"]["spec"]["containers"][0];
        let env = env_of(container);
        assert_eq!(
            env.get("ASSET_CONFIG_DIR"),
            Some(&json!("/app/config")),
            "{name}"
        );
        assert_eq!(
            env.get("ASSET_RELOAD_INTERVAL"),
            Some(&json!(interval)),
            "{name}"
        );
    }
}

#[test]
fn helm_test_pod_asks_the_service_on_its_configured_port() {
    let Some(rich) = set(EVERYTHING_ELSE) else {
        return;
    };
    assert_eq!(
        rich.one("Pod")["spec"]["containers"][0]["args"][2],
        json!(format!(
            "http://{}:9090/ready",
            rich.component("Service", SERVER)["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
        ))
    );
}

#[test]
fn lean_set_renders_no_jobs_no_test_pod_and_runs_as_the_named_service_account() {
    let Some(lean) = set(LEAN) else { return };
    assert!(lean.of_kind("Job").is_empty() && lean.of_kind("Pod").is_empty());
    assert!(lean.of_kind("ServiceAccount").is_empty());
    assert_eq!(
        lean.component("Deployment", SERVER)["spec"]["template"]["spec"]["serviceAccountName"],
        json!("existing-sa")
    );
}
