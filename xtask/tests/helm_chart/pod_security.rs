//! The restricted Pod Security Standard, for every pod and container of
//! every override set, with the image's user (1001) and a read-only root
//! filesystem; and memory requests and limits on every container.

use serde_json::{Value, json};

use crate::common::chart::{Container, EMPLOYEE_INFO, SNOW};
use crate::sets::{DEFAULTS, renders, set};

#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let pods = rendered.render.pods();
        assert!(!pods.is_empty());
        for pod in &pods {
            check_pod(&format!("{} {}", rendered.name, pod.id), pod.spec);
        }
        println!(
            "{}: {} pods meet the restricted standard",
            rendered.name,
            pods.len()
        );
    }
}

#[test]
fn every_container_meets_the_restricted_pod_security_standard() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let containers = rendered.render.containers();
        for container in &containers {
            check_container(&format!("{} {}", rendered.name, container.id), container);
        }
        println!(
            "{}: {} containers meet the restricted standard",
            rendered.name,
            containers.len()
        );
    }
}

/// The two above, for the MCP servers' pods and containers by name, so that
/// the walk over the render cannot miss them.
#[test]
fn the_mcp_server_pods_and_containers_meet_the_restricted_pod_security_standard() {
    let Some(defaults) = set(DEFAULTS) else {
        return;
    };
    let mcp_pods: Vec<_> = defaults
        .pods()
        .into_iter()
        .filter(|pod| matches!(pod.component(), Some(EMPLOYEE_INFO | SNOW)))
        .collect();
    assert_eq!(mcp_pods.len(), 2, "the two MCP servers' pods");
    for pod in &mcp_pods {
        check_pod(&pod.id, pod.spec);
    }
    let containers: Vec<_> = defaults
        .containers()
        .into_iter()
        .filter(Container::is_mcp_server)
        .collect();
    assert_eq!(containers.len(), 2, "one container each");
    for container in &containers {
        check_container(&container.id, container);
    }
}

fn check_pod(what: &str, spec: &Value) {
    let sc = &spec["securityContext"];
    assert_eq!(sc["runAsNonRoot"], json!(true), "{what}");
    for id in ["runAsUser", "runAsGroup", "fsGroup"] {
        assert_eq!(sc[id], json!(1001), "{what}: {id} numeric 1001");
    }
    assert_eq!(
        sc["seccompProfile"]["type"],
        json!("RuntimeDefault"),
        "{what}"
    );
    assert_eq!(spec["automountServiceAccountToken"], json!(false), "{what}");
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_ne!(spec[host], json!(true), "{what}: {host}");
    }
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let kinds: Vec<&String> = volume
            .as_object()
            .expect("volume")
            .keys()
            .filter(|k| *k != "name")
            .collect();
        assert!(
            kinds
                .iter()
                .all(|k| ["emptyDir", "configMap", "secret", "projected"].contains(&k.as_str())),
            "{what}: volume {volume}"
        );
    }
}

fn check_container(what: &str, container: &Container<'_>) {
    let sc = &container.spec["securityContext"];
    assert_eq!(sc["runAsNonRoot"], json!(true), "{what}");
    assert_eq!(sc["runAsUser"], json!(1001), "{what}");
    assert_eq!(sc["runAsGroup"], json!(1001), "{what}");
    assert_eq!(sc["allowPrivilegeEscalation"], json!(false), "{what}");
    assert_ne!(sc["privileged"], json!(true), "{what}");
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{what}");
    assert!(sc["capabilities"]["add"].is_null(), "{what}");
    assert_eq!(
        sc["seccompProfile"]["type"],
        json!("RuntimeDefault"),
        "{what}"
    );
    assert_eq!(sc["readOnlyRootFilesystem"], json!(true), "{what}");
    for port in container.spec["ports"].as_array().into_iter().flatten() {
        assert!(port["hostPort"].is_null(), "{what}");
    }
    let requests = &container.spec["resources"]["requests"];
    let limits = &container.spec["resources"]["limits"];
    assert!(
        requests["memory"].is_string() && limits["memory"].is_string(),
        "{what}: resources"
    );
}
