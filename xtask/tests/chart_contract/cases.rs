//! The values each install runs with, and what it must produce.

use serde_json::{Value, json};
use test_support::TestDatabase;

use crate::common::pod::secret_object;

/// What the fake LlamaStack's model answers the routing agent of the
/// case's asset directory (known by its instructions).
pub const ROUTING_REPLY: &str = "Hello from the routing agent.";
/// The agent a new session starts with (the service's `ROUTING_AGENT`).
pub const ROUTING_AGENT: &str = "routing-agent";
/// The Bearer key in the API keys Secret of the `overrides` case.
pub const API_KEY: &str = "contract-test-key-5f2a9c41";

/// One set of values and what installing it must produce.
pub struct Case {
    /// Short name, for the containers and messages.
    pub slug: &'static str,
    pub values: Value,
    /// Secrets the user creates before installing (the test database's
    /// connection is passed in).
    pub existing: fn(&TestDatabase) -> Vec<Value>,
    /// An agent an earlier release registered through LlamaStack 0.2.18's
    /// Agents API, present before the install (the fake then serves as
    /// 0.2.18): with `assets.prune` it must be gone afterwards, else kept.
    pub stray_agent_pruned: Option<bool>,
    /// Bearer key of the API keys file (api-key modes), else `x-user-id`.
    pub api_key: Option<&'static str>,
    /// Also run the helm test while LlamaStack is down.
    pub negative_helm_test: bool,
}

/// The chart's defaults: every container against PostgreSQL and LlamaStack.
pub fn defaults() -> Case {
    Case {
        slug: "defaults",
        values: json!({}),
        existing: |_| Vec::new(),
        stray_agent_pruned: None,
        api_key: None,
        negative_helm_test: true,
    }
}

/// A database Secret and an MCP token Secret the user created, and the
/// dispatcher in a Deployment of its own.
pub fn existing_database_secret() -> Case {
    Case {
        slug: "external-secret",
        values: json!({"database": {"existingSecret": "pgvector"},
                       "mcpServers": {"authToken": {"existingSecret": "mcp-token",
                                                    "existingSecretKey": "token"}},
                       "dispatcher": {"enabled": true},
                       "delivery": {"pollIntervalSeconds": 0.2}}),
        // What README's `kubectl create secret generic` makes.
        existing: |database| {
            vec![
                database_secret("pgvector", database),
                secret_object("mcp-token", &[("token", "a-token-the-user-chose-4f81c2")]),
            ]
        },
        stray_agent_pruned: Some(false),
        api_key: None,
        negative_helm_test: false,
    }
}

/// An asset ConfigMap, API keys, exec probes and prune, in the image.
pub fn overrides() -> Case {
    Case {
        slug: "overrides",
        values: json!({
            "fullnameOverride": "ssa",
            "assets": {
                "files": {
                    "config.yaml": "timeout: 60\n",
                    "agents/routing-agent.yaml": "name: routing-agent\nmodel: ''\n\
                        instructions: Route each request to the right specialist.\n\
                        tool_choice: none\ninput_shields: []\noutput_shields: []\n\
                        max_infer_iters: 10\nenable_session_persistence: false\n\
                        mcp_servers: []\nknowledge_bases: []\n",
                    "knowledge_bases/laptop-refresh/policy.txt":
                        "Laptops are refreshed every three years.\n",
                },
                "prune": true,
            },
            "auth": {"mode": "header-or-api-key", "apiKeysSecret": "ssa-api-keys"},
            "probes": {"mode": "exec"},
            "service": {"port": 9090},
            "logging": {"level": "debug", "format": "text"},
            "extraEnv": [{"name": "RUST_BACKTRACE", "value": "1"}],
        }),
        existing: |_| {
            vec![secret_object(
                "ssa-api-keys",
                &[("api-keys", &format!("# user key\nalice {API_KEY}\n"))],
            )]
        },
        stray_agent_pruned: Some(true),
        api_key: Some(API_KEY),
        negative_helm_test: false,
    }
}

impl Case {
    /// The asset directory the case's containers see at `/app/config`:
    /// the chart's ConfigMap of `assets.files`, else the image's (a copy
    /// of `assets/config`, tests/image/contents.rs), loaded as
    /// `register-assets` and the service load it.
    pub fn assets(&self) -> asset_manager::Assets {
        let files = self.values["assets"]["files"].as_object();
        let Some(files) = files.filter(|files| !files.is_empty()) else {
            let packaged = xtask::workspace::root().join("assets/config");
            return asset_manager::load(&packaged).unwrap();
        };
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content.as_str().unwrap()).unwrap();
        }
        asset_manager::load(dir.path()).unwrap()
    }
}

/// The database Secret pointing at the test's PostgreSQL, with the keys the
/// chart reads (those of the Python system's `pgvector` Secret).
pub fn database_secret(name: &str, database: &TestDatabase) -> Value {
    let port = database.port.to_string();
    secret_object(
        name,
        &[
            ("host", database.host.as_str()),
            ("port", port.as_str()),
            ("dbname", database.name.as_str()),
            ("user", database.user.as_str()),
            ("password", database.password.as_str()),
        ],
    )
}
