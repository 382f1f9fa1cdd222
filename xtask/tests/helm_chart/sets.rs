//! The override sets every render check runs on, rendered (and linted, and
//! validated) once per test process.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::common::chart::{self, Render};

/// The chart's minimum (Chart.yaml kubeVersion) and the newest schemas
/// kubernetes-validate ships.
pub const KUBE_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];
pub const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The snow MCP image's digest in the digest pinning set.
pub const SNOW_DIGEST: &str =
    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

pub const DEFAULTS: &str = "defaults";
pub const EXTERNAL_SECRET: &str = "external Secret";
pub const DIGEST_PINNING: &str = "digest pinning";
pub const AUTOSCALING: &str = "autoscaling on";
pub const EVERYTHING_ELSE: &str = "everything else on";
pub const LEAN: &str = "existing asset ConfigMap, no Jobs, no snow, no MCP token";
pub const MCP_OFF: &str = "MCP servers off";
pub const DELIVERY: &str = "dispatcher, Slack with Ingress, SMTP and webhook Secrets";
/// The Secrets the user creates for the delivery set.
pub const SMTP_SECRET: &str = "smtp-auth";
pub const WEBHOOK_SECRET: &str = "webhook-signing";
pub const SLACK_SECRET: &str = "slack";
pub const SLACK_HOST: &str = "slack.example.com";

fn override_sets() -> Vec<(&'static str, Value)> {
    vec![
        (DEFAULTS, json!({})),
        (
            EXTERNAL_SECRET,
            json!({"database": {"existingSecret": "pgvector"}}),
        ),
        (
            DIGEST_PINNING,
            json!({"image": {"registry": "registry.example.com:5000", "repository": "team/ssa",
                             "tag": "1.2.3", "digest": DIGEST, "pullPolicy": "Always"},
                   "mcpServers": {"snow": {"image": {"digest": SNOW_DIGEST}}}}),
        ),
        (
            AUTOSCALING,
            json!({"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 6,
                                   "targetMemoryUtilizationPercentage": 75}}),
        ),
        (
            EVERYTHING_ELSE,
            json!({
                "fullnameOverride": "a-very-long-release-name-that-fills-all-sixty-three-characters1",
                "assets": {"files": {
                    "config.yaml": "timeout: 120\n",
                    "agents/routing-agent.yaml": "name: routing-agent\nmodel: ''\n",
                    "knowledge_bases/laptop-refresh/policy.txt": "Laptops are refreshed every 3 years.\n"},
                    "dryRun": true, "prune": true, "ttlSecondsAfterFinished": 3600,
                    "reloadIntervalSeconds": 2.5},
                "auth": {"mode": "header-or-api-key", "apiKeysSecret": "ssa-api-keys"},
                "probes": {"mode": "exec"},
                "pdb": {"minAvailable": "50%"},
                "migration": {"ttlSecondsAfterFinished": 600},
                "imagePullSecrets": [{"name": "pull-secret"}],
                "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
                "logging": {"level": "debug", "format": "text"},
                "service": {"port": 9090},
                "dispatcher": {"enabled": true, "replicas": 2,
                               "podAnnotations": {"example.com/team": "it"},
                               "pdb": {"minAvailable": 1},
                               "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                                   {"weight": 1, "preference": {"matchExpressions": [
                                       {"key": "example.com/pool", "operator": "In", "values": ["workers"]}]}}]}}},
                "workers": {"concurrency": 8, "pollIntervalSeconds": 0.5},
                "delivery": {"ttlSeconds": 3600, "concurrency": 4, "pollIntervalSeconds": 0.25,
                             "maxBackoffSeconds": 600,
                             "smtp": {"host": "relay.example.com", "port": 465, "security": "tls",
                                      "fromEmail": "it@example.com", "fromName": "IT", "timeoutSeconds": 10},
                             "webhook": {"timeoutSeconds": 5}},
                "slack": {"enabled": true, "existingSecret": "slack-app", "command": "/help-me",
                          "apiUrl": "https://slack.example.com/api/"},
                "mcpServers": {
                    "authToken": {"existingSecret": "mcp-token", "existingSecretKey": "token"},
                    "networkPolicy": {"llamaStackSelector": {
                        "podSelector": {"matchLabels": {"app": "llama-stack"}},
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "llama"}}}},
                    "employeeInfo": {
                        "replicas": 2,
                        "image": {"registry": "mirror.example.com", "repository": "mcp/employee-info",
                                  "tag": "7", "pullPolicy": "Never"},
                        "resources": {"requests": {"memory": "24Mi"}, "limits": {"memory": "48Mi"}},
                        "env": [{"name": "MCP_ALLOW_ANY_EMPLOYEE", "value": "true"}],
                        "servicenow": {"existingSecret": "servicenow"},
                    },
                    "snow": {
                        "env": [{"name": "SERVICENOW_LAPTOP_REQUEST_LIMITS", "value": "2"}],
                        "servicenow": {"existingSecret": "servicenow"},
                    },
                },
            }),
        ),
        (
            LEAN,
            json!({
                "assets": {"existingConfigMap": "my-assets", "register": false,
                           "existingConfigMapItems": [{"key": "agents__a.yaml", "path": "agents/a.yaml"}]},
                "migration": {"enabled": false},
                "pdb": {"create": false},
                "tests": {"enabled": false},
                "serviceAccount": {"create": false, "name": "existing-sa"},
                "mcpServers": {"snow": {"enabled": false}, "authToken": {"enabled": false}},
            }),
        ),
        (
            MCP_OFF,
            json!({"mcpServers": {"employeeInfo": {"enabled": false}, "snow": {"enabled": false}}}),
        ),
        (
            DELIVERY,
            json!({
                "dispatcher": {"enabled": true, "replicas": 3,
                               "resources": {"requests": {"cpu": "20m", "memory": "40Mi"},
                                             "limits": {"cpu": "1", "memory": "96Mi"}}},
                "auth": {"adminUsers": ["helpdesk", "it-ops"]},
                "delivery": {"smtp": {"host": "smtp.example.com", "username": "ssa-bot",
                                      "existingSecret": SMTP_SECRET, "existingSecretKey": "password"},
                             "webhook": {"existingSecret": WEBHOOK_SECRET}},
                "slack": {"enabled": true, "existingSecret": SLACK_SECRET,
                          "ingress": {"enabled": true, "className": "nginx", "host": SLACK_HOST,
                                      "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                                      "tls": [{"secretName": "slack-tls", "hosts": [SLACK_HOST]}]}},
            }),
        ),
    ]
}

/// An override set, its values and what the chart made of them.
pub struct Rendered {
    pub name: &'static str,
    pub values: Value,
    pub render: Render,
}

/// The tools venv's Python, or `None` after a visible skip.
pub fn tools_python() -> Option<std::path::PathBuf> {
    chart::tools_python("helm chart tests")
}

/// Renders `values` with the schemas of [`KUBE_VERSIONS`].
pub fn render(python: &std::path::Path, values: &Value, lint: bool) -> Render {
    chart::render(python, values, lint, &KUBE_VERSIONS)
}

/// Every override set, rendered; `None` after a visible skip. Panics,
/// naming the set, when one does not render.
pub fn renders() -> Option<&'static [Rendered]> {
    static RENDERS: OnceLock<Option<Vec<Rendered>>> = OnceLock::new();
    let Some(renders) = RENDERS
        .get_or_init(|| {
            let python = tools_python()?;
            Some(
                override_sets()
                    .into_iter()
                    .map(|(name, values)| {
                        let render = render(&python, &values, true);
                        Rendered {
                            name,
                            values,
                            render,
                        }
                    })
                    .collect(),
            )
        })
        .as_deref()
    else {
        // Prints the SKIPPED line for this test too (or fails under SSA_REQUIRE_ALL=1).
        tools_python();
        return None;
    };
    for rendered in renders {
        assert!(
            rendered.render.ok(),
            "{}: render failed: {}",
            rendered.name,
            rendered.render.error()
        );
    }
    Some(renders)
}

/// The render of one override set; `None` after a visible skip.
pub fn set(name: &str) -> Option<&'static Render> {
    let renders = renders()?;
    let found = renders
        .iter()
        .find(|rendered| rendered.name == name)
        .unwrap_or_else(|| panic!("no override set {name:?}"));
    Some(&found.render)
}
