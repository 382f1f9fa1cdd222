//! The MCP servers' NetworkPolicy (helm/templates/mcp-networkpolicy.yaml):
//! it selects exactly their pods and lets in only LlamaStack's, on 8000.

use serde_json::{Value, json};

use crate::common::chart::{EMPLOYEE_INFO, Render, SNOW};
use crate::sets::{DEFAULTS, EVERYTHING_ELSE, LEAN, set};

/// Whether `labels` match a Kubernetes LabelSelector.
fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels[key].as_str();
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == value.as_str());
    let by_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().expect("key");
            let values: Vec<&str> = expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match expression["operator"].as_str() {
                Some("In") => label(key).is_some_and(|value| values.contains(&value)),
                Some("NotIn") => label(key).is_none_or(|value| !values.contains(&value)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                other => panic!("operator {other:?}"),
            }
        });
    by_labels && by_expressions
}

/// The pods (by id) the policy of `render` applies to.
fn selected_pods(render: &Render) -> Vec<String> {
    let policy = render.one("NetworkPolicy");
    render
        .pods()
        .into_iter()
        .filter(|pod| selects(&policy["spec"]["podSelector"], pod.labels))
        .map(|pod| pod.id)
        .collect()
}

#[test]
fn the_selector_matcher_tells_matching_labels_from_others() {
    let selector = json!({"matchLabels": {"a": "1"},
        "matchExpressions": [{"key": "b", "operator": "In", "values": ["x", "y"]}]});
    assert!(selects(&selector, &json!({"a": "1", "b": "y"})));
    assert!(!selects(&selector, &json!({"a": "1", "b": "z"})));
    assert!(!selects(&selector, &json!({"a": "2", "b": "x"})));
    assert!(!selects(&selector, &json!({"b": "x"})));
}

#[test]
fn the_network_policy_selects_exactly_the_mcp_server_pods() {
    let Some(render) = set(DEFAULTS) else { return };
    let mut selected = selected_pods(render);
    selected.sort();
    assert_eq!(
        selected,
        [
            "Deployment/self-service-agent-employee-info",
            "Deployment/self-service-agent-snow"
        ]
    );
    let policy = render.one("NetworkPolicy");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress"]));
}

#[test]
fn with_one_mcp_server_off_the_network_policy_selects_only_the_others_pods() {
    let Some(render) = set(LEAN) else { return };
    assert_eq!(
        selected_pods(render),
        ["Deployment/self-service-agent-employee-info"]
    );
}

#[test]
fn only_llamastacks_pods_in_the_release_namespace_may_reach_port_8000_by_default() {
    let Some(render) = set(DEFAULTS) else { return };
    let policy = render.one("NetworkPolicy");
    assert_eq!(
        policy["spec"]["ingress"],
        json!([{
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "llamastack"}}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }])
    );
    for component in [EMPLOYEE_INFO, SNOW] {
        let pod = &render.component("Deployment", component)["spec"]["template"]["spec"];
        assert_eq!(
            pod["containers"][0]["ports"][0]["containerPort"],
            json!(8000)
        );
    }
}

#[test]
fn llamastack_in_another_namespace_is_admitted_by_pod_and_namespace_selector_together() {
    let Some(render) = set(EVERYTHING_ELSE) else {
        return;
    };
    assert_eq!(
        render.one("NetworkPolicy")["spec"]["ingress"][0]["from"],
        json!([{
            "podSelector": {"matchLabels": {"app": "llama-stack"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "llama"}},
        }]),
        "one peer: LlamaStack's pods in that namespace, not every pod there"
    );
}
