//! `helm/values.schema.json`: wrong values are refused with a message that
//! names them, and every value of `values.yaml` is described.

use std::process::Command;

use serde_json::{Value, json};

use crate::sets::{render, tools_python};

#[test]
fn values_schema_rejects_wrong_types_and_unknown_keys_clearly() {
    let Some(python) = tools_python() else { return };
    let cases = [
        (
            json!({"replicaCount": "two"}),
            vec!["/replicaCount", "got string, want integer"],
        ),
        (
            json!({"sevice": {"port": 80}}),
            vec!["additional properties 'sevice' not allowed"],
        ),
        (
            json!({"image": {"digest": "sha256:abc"}}),
            vec!["/image/digest", "does not match pattern"],
        ),
        (
            json!({"image": {"tag": 1}}),
            vec!["/image/tag", "want string"],
        ),
        (
            json!({"database": {"hostname": "db"}}),
            vec!["additional properties 'hostname' not allowed"],
        ),
        (
            json!({"containerSecurityContext": {"allowPrivilegeEscalation": true}}),
            vec!["/containerSecurityContext/allowPrivilegeEscalation"],
        ),
        (
            json!({"auth": {"mode": "api-key"}}),
            vec!["auth.mode \"api-key\" needs auth.apiKeysSecret"],
        ),
        (
            json!({"assets": {"files": {"../etc/passwd": "x"}}}),
            vec!["must be a relative path"],
        ),
    ];
    for (values, needles) in cases {
        let rendered = render(&python, &values, false);
        assert!(!rendered.ok(), "{values} was accepted");
        let error = rendered.error();
        for needle in needles {
            assert!(
                error.contains(needle),
                "{values}: error {error:?} lacks {needle:?}"
            );
        }
        println!(
            "rejected {values}: {}",
            error.lines().last().unwrap_or_default().trim()
        );
    }
}

#[test]
fn values_schema_rejects_wrong_types_of_the_mcp_server_values() {
    let Some(python) = tools_python() else { return };
    let cases = [
        (
            json!({"mcpServers": {"employeeInfo": {"enabled": "yes"}}}),
            vec!["/mcpServers/employeeInfo/enabled", "want boolean"],
        ),
        (
            json!({"mcpServers": {"snow": {"replicas": "2"}}}),
            vec!["/mcpServers/snow/replicas", "want integer"],
        ),
        (
            json!({"mcpServers": {"snow": {"image": {"digest": "sha256:abc"}}}}),
            vec!["/mcpServers/snow/image/digest", "does not match pattern"],
        ),
        (
            json!({"mcpServers": {"employeeInfo": {"image": {"tag": 2}}}}),
            vec!["/mcpServers/employeeInfo/image/tag", "want string"],
        ),
        (
            json!({"mcpServers": {"snow": {"image": {"pullPolicy": "Sometimes"}}}}),
            vec!["/mcpServers/snow/image/pullPolicy"],
        ),
        (
            json!({"mcpServers": {"snow": {"env": [{"value": "x"}]}}}),
            vec!["/mcpServers/snow/env/0", "missing property 'name'"],
        ),
        (
            json!({"mcpServers": {"snow": {"servicenow": {"secret": "sn"}}}}),
            vec!["additional properties 'secret' not allowed"],
        ),
        (
            json!({"mcpServers": {"authToken": {"existingSecret": 5}}}),
            vec!["/mcpServers/authToken/existingSecret", "want string"],
        ),
        (
            json!({"mcpServers": {"networkPolicy": {"enabled": "true"}}}),
            vec!["/mcpServers/networkPolicy/enabled", "want boolean"],
        ),
        (
            json!({"mcpServers": {"networkPolicy": {"llamaStackSelector":
                {"podSelector": {"matchLabels": {"app": 1}}}}}}),
            vec![
                "/mcpServers/networkPolicy/llamaStackSelector/podSelector/matchLabels/app",
                "want string",
            ],
        ),
        (
            json!({"mcpServers": {"networkPolicy": {"llamaStackSelector":
                {"podSelector": {}, "namespaceSelector": "llama"}}}}),
            vec!["/mcpServers/networkPolicy/llamaStackSelector/namespaceSelector"],
        ),
    ];
    for (values, needles) in cases {
        let rendered = render(&python, &values, false);
        assert!(!rendered.ok(), "{values} was accepted");
        let error = rendered.error();
        for needle in needles {
            assert!(
                error.contains(needle),
                "{values}: error {error:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn values_schema_and_templates_refuse_bad_delivery_dispatcher_and_slack_values() {
    let Some(python) = tools_python() else { return };
    let cases = [
        (
            json!({"dispatcher": {"enabled": "yes"}}),
            vec!["/dispatcher/enabled", "want boolean"],
        ),
        (
            json!({"dispatcher": {"replica": 2}}),
            vec!["additional properties 'replica' not allowed"],
        ),
        (
            json!({"dispatcher": {"pdb": {"maxUnavailable": "one"}}}),
            vec!["/dispatcher/pdb/maxUnavailable"],
        ),
        (
            json!({"workers": {"concurrency": 0}}),
            vec!["/workers/concurrency"],
        ),
        (
            json!({"delivery": {"pollIntervalSeconds": 0}}),
            vec!["/delivery/pollIntervalSeconds"],
        ),
        (
            json!({"assets": {"reloadIntervalSeconds": 0.05}}),
            vec!["/assets/reloadIntervalSeconds"],
        ),
        (
            json!({"delivery": {"smtp": {"security": "ssl"}}}),
            vec!["/delivery/smtp/security"],
        ),
        (
            json!({"delivery": {"smtp": {"password": "hunter2"}}}),
            vec!["additional properties 'password' not allowed"],
        ),
        (
            json!({"delivery": {"smtp": {"fromEmail": "it-desk"}}}),
            vec!["/delivery/smtp/fromEmail", "does not match pattern"],
        ),
        (
            json!({"delivery": {"webhook": {"signingSecret": "whsec_x"}}}),
            vec!["additional properties 'signingSecret' not allowed"],
        ),
        (
            json!({"auth": {"adminUsers": "helpdesk,ops"}}),
            vec!["/auth/adminUsers", "want array"],
        ),
        (
            json!({"slack": {"botToken": "xoxb-1"}}),
            vec!["additional properties 'botToken' not allowed"],
        ),
        (
            json!({"slack": {"command": "it-help"}}),
            vec!["/slack/command", "does not match pattern"],
        ),
        (
            json!({"slack": {"ingress": {"paths": ["/"]}}}),
            vec!["additional properties 'paths' not allowed"],
        ),
        (
            json!({"slack": {"ingress": {"tls": [{"secret": "x"}]}}}),
            vec!["additional properties 'secret' not allowed"],
        ),
        // What only the templates can tell: settings that belong together.
        (
            json!({"slack": {"enabled": true}}),
            vec!["slack.enabled needs slack.existingSecret"],
        ),
        (
            json!({"slack": {"ingress": {"enabled": true, "host": "slack.example.com"}}}),
            vec!["slack.ingress.enabled needs slack.enabled"],
        ),
        (
            json!({"slack": {"enabled": true, "existingSecret": "slack",
                             "ingress": {"enabled": true}}}),
            vec!["slack.ingress.enabled needs slack.ingress.host"],
        ),
        (
            json!({"delivery": {"smtp": {"host": "smtp", "username": "bot"}}}),
            vec!["delivery.smtp.username and delivery.smtp.existingSecret"],
        ),
        (
            json!({"delivery": {"smtp": {"host": "smtp", "existingSecret": "smtp"}}}),
            vec!["delivery.smtp.username and delivery.smtp.existingSecret"],
        ),
        (
            json!({"delivery": {"smtp": {"username": "bot", "existingSecret": "smtp"}}}),
            vec!["delivery.smtp.username needs delivery.smtp.host"],
        ),
        (
            json!({"dispatcher": {"enabled": true, "pdb": {"maxUnavailable": null}}}),
            vec!["dispatcher.pdb.create needs"],
        ),
    ];
    for (values, needles) in cases {
        let rendered = render(&python, &values, false);
        assert!(!rendered.ok(), "{values} was accepted");
        let error = rendered.error();
        for needle in needles {
            assert!(
                error.contains(needle),
                "{values}: error {error:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn values_schema_covers_every_value_in_values_yaml() {
    let root = xtask::workspace::root();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("helm/values.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    assert_eq!(schema["additionalProperties"], json!(false));
    let Some(python) = tools_python() else { return };
    // The chart's default values, as Helm loads them.
    let rendered = render(&python, &json!({}), false);
    assert!(rendered.ok());
    let output = Command::new(&python)
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(root.join("helm/values.yaml"))
        .output()
        .expect("read values.yaml");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let defaults: Value = serde_json::from_slice(&output.stdout).expect("values as JSON");
    let mut missing = Vec::new();
    covered(&defaults, &schema, String::new(), &mut missing);
    assert!(
        missing.is_empty(),
        "values without a schema entry: {missing:?}"
    );
}

/// Collects every key path of `values` that `schema` does not describe
/// (free-form Kubernetes objects, typed `object`/`array` without
/// properties, are described as a whole).
fn covered(values: &Value, schema: &Value, path: String, missing: &mut Vec<String>) {
    let Some(map) = values.as_object() else {
        return;
    };
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (key, value) in map {
        let here = format!("{path}.{key}");
        match properties.get(key) {
            None if schema["additionalProperties"].is_object() => {}
            None => missing.push(here),
            Some(sub) => {
                if sub["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{here} (no description)"));
                }
                covered(value, sub, here, missing);
            }
        }
    }
}
