//! The MCP servers' bearer token (helm/templates/mcp-auth-secret.yaml): one
//! Secret, referenced by both MCP servers and the service, random on
//! install and the same again on an upgrade (Helm's `lookup`, rendered
//! against a fake API server holding the release's Secret), or the user's.

use serde_json::{Value, json};

use crate::common::chart::{self, EMPLOYEE_INFO, NAMESPACE, RELEASE, Render, SERVER, SNOW};
use crate::common::render;
use crate::sets::{DEFAULTS, EVERYTHING_ELSE, KUBE_VERSIONS, LEAN, MCP_OFF, set, tools_python};

const SECRET: &str = "self-service-agent-mcp-auth";

/// The `MCP_AUTH_TOKEN` entry of the container of each consumer.
fn token_refs(render: &Render) -> Vec<(String, Value)> {
    render
        .containers()
        .into_iter()
        .flat_map(|container| {
            container.spec["env"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|entry| entry["name"] == "MCP_AUTH_TOKEN")
                .map(|entry| (container.id.clone(), entry.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The chart's token Secret's `MCP_AUTH_TOKEN`, as rendered (base64).
fn rendered_token(render: &Render) -> String {
    render.component("Secret", "mcp-auth")["data"]["MCP_AUTH_TOKEN"]
        .as_str()
        .expect("MCP_AUTH_TOKEN")
        .to_owned()
}

/// The chart rendered as an upgrade (revision 2) with `cluster` in the
/// cluster, where `lookup` finds it.
fn render_upgrade(python: &std::path::Path, cluster: Vec<Value>) -> Render {
    Render {
        answer: render::render(
            python,
            &json!({
                "chart": xtask::workspace::root().join("helm"), "values": {},
                "release": RELEASE, "namespace": NAMESPACE, "revision": 2, "upgrade": true,
                "lint": false, "kube_versions": KUBE_VERSIONS, "cluster": cluster,
            }),
        ),
    }
}

#[test]
fn the_token_secret_is_referenced_by_both_mcp_servers_and_the_service() {
    let Some(render) = set(DEFAULTS) else { return };
    let refs = token_refs(render);
    let consumers: Vec<&str> = refs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        consumers,
        [
            "Deployment/self-service-agent:self-service-agent",
            "Deployment/self-service-agent-employee-info:mcp-employee-info",
            "Deployment/self-service-agent-snow:mcp-snow",
        ]
    );
    for (id, entry) in &refs {
        assert_eq!(
            entry,
            &json!({"name": "MCP_AUTH_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "MCP_AUTH_TOKEN"}}}),
            "{id}: from the Secret, never a literal"
        );
    }
    for component in [SERVER, EMPLOYEE_INFO, SNOW] {
        render.component("Deployment", component);
    }
}

#[test]
fn a_fresh_install_draws_48_random_letters_and_digits() {
    let Some(render) = set(DEFAULTS) else { return };
    let token =
        String::from_utf8(base64_decode(&rendered_token(render)).expect("base64")).expect("UTF-8");
    assert_eq!(token.len(), 48, "{} characters", token.len());
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    let Some(python) = tools_python() else { return };
    let again = chart::render(&python, &json!({}), false, &[]);
    assert_ne!(
        rendered_token(&again),
        rendered_token(render),
        "each install draws its own token"
    );
}

#[test]
fn an_upgrade_keeps_the_token_the_cluster_holds() {
    let Some(python) = tools_python() else { return };
    let kept = "kept-across-upgrades-0123456789abcdefghijklmnopqrs";
    let encoded = base64_encode(kept);
    let upgrade = render_upgrade(
        &python,
        vec![
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": SECRET, "namespace": NAMESPACE},
                    "data": {"MCP_AUTH_TOKEN": encoded}}),
        ],
    );
    assert!(upgrade.ok(), "{}", upgrade.error());
    assert!(
        upgrade.answer["api_requests"]
            .as_array()
            .expect("api_requests")
            .contains(&json!(format!(
                "/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}"
            ))),
        "the chart looked the Secret up: {}",
        upgrade.answer["api_requests"]
    );
    assert_eq!(rendered_token(&upgrade), encoded);
    assert_eq!(token_refs(&upgrade).len(), 3);
}

#[test]
fn an_upgrade_without_the_secret_in_the_cluster_draws_a_new_token() {
    let Some(python) = tools_python() else { return };
    let upgrade = render_upgrade(&python, Vec::new());
    assert!(upgrade.ok(), "{}", upgrade.error());
    assert_eq!(rendered_token(&upgrade).len(), 64, "48 characters, base64");
}

#[test]
fn an_existing_token_secret_replaces_the_charts_own_for_every_consumer() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    assert!(
        render.of_kind("Secret").iter().all(|secret| {
            secret["metadata"]["labels"]["app.kubernetes.io/component"] != "mcp-auth"
        }),
        "no Secret of the chart's own"
    );
    let refs = token_refs(render);
    assert_eq!(refs.len(), 3);
    for (id, entry) in refs {
        assert_eq!(
            entry["valueFrom"],
            json!({"secretKeyRef": {"name": "mcp-token", "key": "token"}}),
            "{id}"
        );
    }
}

#[test]
fn without_a_token_or_without_mcp_servers_nobody_gets_mcp_auth_token() {
    for name in [LEAN, MCP_OFF] {
        let Some(render) = set(name) else { return };
        assert!(token_refs(render).is_empty(), "{name}");
        assert!(
            render.of_kind("Secret").iter().all(|secret| {
                secret["metadata"]["labels"]["app.kubernetes.io/component"] != "mcp-auth"
            }),
            "{name}"
        );
    }
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}
