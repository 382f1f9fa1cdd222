//! The MCP servers' workloads (helm/templates/mcp-servers.yaml): named so
//! that the toolgroups' uris resolve, listening on 8000 and probed on
//! `/health`, their images beside the main one, ServiceNow from a Secret,
//! and nothing of them when they are off.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::chart::{EMPLOYEE_INFO, MCP_SERVER, Render, SNOW, strings};
use crate::sets::{DEFAULTS, EVERYTHING_ELSE, LEAN, MCP_OFF, set};

const MCP_SERVERS: [&str; 2] = [EMPLOYEE_INFO, SNOW];

fn container(render: &Render, component: &str) -> Value {
    render.component("Deployment", component)["spec"]["template"]["spec"]["containers"][0].clone()
}

/// A container's env: name → the entry.
fn env_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_array()?
        .iter()
        .find(|entry| entry["name"] == name)
}

fn env_names(container: &Value) -> BTreeSet<String> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["name"].as_str().map(str::to_owned))
        .collect()
}

/// Host and port of a toolgroup uri (`http://host:port/path`).
fn host_port(uri: &str) -> (String, u64) {
    let authority = uri
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("{uri} is not http://host:port/..."));
    let (host, port) = authority.split_once(':').expect("a port");
    (host.to_owned(), port.parse().expect("port"))
}

/// The uris of the project's toolgroups (`assets/config/toolgroups/`) and
/// of the Python system's (its asset directory's, ending in `/sse`).
fn toolgroup_uris() -> Vec<String> {
    let dir = xtask::workspace::root().join("assets/config/toolgroups");
    let mut uris: Vec<String> = std::fs::read_dir(&dir)
        .expect("toolgroups")
        .map(|entry| {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            text.lines()
                .find_map(|line| line.strip_prefix("uri:"))
                .expect("a uri")
                .trim()
                .trim_matches('"')
                .to_owned()
        })
        .collect();
    assert_eq!(uris.len(), 2, "{uris:?}");
    uris.extend([
        "http://self-service-agent-employee-info:8000/sse".to_owned(),
        "http://self-service-agent-snow:8000/sse".to_owned(),
    ]);
    uris
}

#[test]
fn every_toolgroup_uri_names_an_mcp_service_and_its_port_for_release_self_service_agent() {
    let Some(render) = set(DEFAULTS) else { return };
    for uri in toolgroup_uris() {
        let (host, port) = host_port(&uri);
        let service = render
            .of_kind("Service")
            .into_iter()
            .find(|service| service["metadata"]["name"] == host.as_str())
            .unwrap_or_else(|| panic!("{uri}: no Service {host}"));
        assert_eq!(service["spec"]["ports"][0]["port"], json!(port), "{uri}");
        assert_eq!(service["spec"]["ports"][0]["targetPort"], "http", "{uri}");
        let component = service["metadata"]["labels"]["app.kubernetes.io/component"].clone();
        assert!(
            MCP_SERVERS.iter().any(|mcp| component == *mcp),
            "{uri}: {host} is an MCP server's Service"
        );
    }
}

#[test]
fn each_mcp_service_selects_its_servers_pods_and_no_other() {
    let Some(render) = set(DEFAULTS) else { return };
    for component in MCP_SERVERS {
        let selector = &render.component("Service", component)["spec"]["selector"];
        assert_eq!(
            selector,
            &render.component("Deployment", component)["spec"]["selector"]["matchLabels"]
        );
        let selected: Vec<String> = render
            .pods()
            .into_iter()
            .filter(|pod| {
                selector
                    .as_object()
                    .expect("selector")
                    .iter()
                    .all(|(key, value)| &pod.labels[key] == value)
            })
            .map(|pod| pod.id)
            .collect();
        assert_eq!(selected.len(), 1, "{component}: {selected:?}");
    }
}

#[test]
fn mcp_servers_serve_on_8000_and_are_probed_on_health() {
    let Some(render) = set(DEFAULTS) else { return };
    for component in MCP_SERVERS {
        let server = container(render, component);
        assert_eq!(strings(&server["command"]), [MCP_SERVER], "{component}");
        assert_eq!(strings(&server["args"]), ["serve"], "{component}");
        assert_eq!(
            server["ports"],
            json!([{"name": "http", "containerPort": 8000, "protocol": "TCP"}])
        );
        assert_eq!(
            env_entry(&server, "LISTEN_ADDR").map(|e| &e["value"]),
            Some(&json!("0.0.0.0:8000"))
        );
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            assert_eq!(
                server[probe]["httpGet"],
                json!({"path": "/health", "port": "http"}),
                "{component} {probe}"
            );
        }
    }
}

#[test]
fn with_exec_probes_mcp_servers_are_probed_with_their_healthcheck_subcommand() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    for component in MCP_SERVERS {
        let server = container(render, component);
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            assert_eq!(
                server[probe]["exec"]["command"],
                json!([
                    MCP_SERVER,
                    "healthcheck",
                    "--url",
                    "http://127.0.0.1:8000/health"
                ]),
                "{component} {probe}"
            );
        }
    }
}

#[test]
fn without_a_servicenow_secret_the_mcp_servers_get_no_servicenow_settings() {
    let Some(render) = set(DEFAULTS) else { return };
    for component in MCP_SERVERS {
        let names = env_names(&container(render, component));
        assert!(
            !names.iter().any(|name| name.starts_with("SERVICENOW_")),
            "{component}: the demo backend: {names:?}"
        );
    }
}

#[test]
fn a_servicenow_secret_gives_the_instance_the_catalog_item_and_optional_credentials() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    for (component, catalog_item) in [(EMPLOYEE_INFO, false), (SNOW, true)] {
        let server = container(render, component);
        let mut required = vec!["SERVICENOW_INSTANCE_URL"];
        if catalog_item {
            required.push("SERVICENOW_LAPTOP_REFRESH_ID");
        }
        for var in required {
            assert_eq!(
                env_entry(&server, var).map(|e| &e["valueFrom"]),
                Some(&json!({"secretKeyRef": {"name": "servicenow", "key": var}})),
                "{component} {var}"
            );
        }
        for var in [
            "SERVICENOW_API_KEY",
            "SERVICENOW_USERNAME",
            "SERVICENOW_PASSWORD",
        ] {
            assert_eq!(
                env_entry(&server, var).map(|e| &e["valueFrom"]),
                Some(
                    &json!({"secretKeyRef": {"name": "servicenow", "key": var, "optional": true}})
                ),
                "{component} {var}"
            );
        }
        assert_eq!(
            env_entry(&server, "SERVICENOW_LAPTOP_REFRESH_ID").is_some(),
            catalog_item,
            "{component}: only snow orders from the catalog"
        );
    }
}

#[test]
fn an_mcp_servers_replicas_resources_and_env_come_from_its_values() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    let deployment = render.component("Deployment", EMPLOYEE_INFO);
    assert_eq!(deployment["spec"]["replicas"], json!(2));
    let server = container(render, EMPLOYEE_INFO);
    assert_eq!(
        server["resources"],
        json!({"requests": {"cpu": "10m", "memory": "24Mi"},
               "limits": {"cpu": "500m", "memory": "48Mi"}}),
        "the memory from the values, merged with the default cpu"
    );
    assert_eq!(
        env_entry(&server, "MCP_ALLOW_ANY_EMPLOYEE").map(|e| &e["value"]),
        Some(&json!("true"))
    );
    assert_eq!(
        env_entry(&server, "HTTPS_PROXY").map(|e| &e["value"]),
        Some(&json!("http://proxy:3128")),
        "extraEnv reaches every container"
    );
    assert!(env_entry(&container(render, SNOW), "MCP_ALLOW_ANY_EMPLOYEE").is_none());
}

#[test]
fn mcp_server_names_stay_within_63_characters_and_distinct_with_a_63_character_fullname() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    let names: BTreeSet<&str> = MCP_SERVERS
        .iter()
        .map(|component| {
            render.component("Deployment", component)["metadata"]["name"]
                .as_str()
                .expect("name")
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|name| name.len() <= 63), "{names:?}");
    assert!(names.iter().any(|name| name.ends_with("-employee-info")));
    assert!(names.iter().any(|name| name.ends_with("-snow")));
}

#[test]
fn mcp_servers_off_render_none_of_their_objects() {
    let Some(render) = set(MCP_OFF) else { return };
    for object in render.objects() {
        let component = object["metadata"]["labels"]["app.kubernetes.io/component"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !component.starts_with("mcp-"),
            "{} {}",
            object["kind"],
            object["metadata"]["name"]
        );
    }
}

#[test]
fn one_mcp_server_off_leaves_the_other() {
    let Some(render) = set(LEAN) else { return };
    render.component("Deployment", EMPLOYEE_INFO);
    render.component("Service", EMPLOYEE_INFO);
    assert!(
        render
            .pods()
            .iter()
            .all(|pod| pod.component() != Some(SNOW)),
        "snow is off"
    );
}
