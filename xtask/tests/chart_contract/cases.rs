//! The values each install runs with, and what it must produce.

use serde_json::{Value, json};
use test_support::TestDatabase;

use crate::common::pod::secret_object;

/// What the fake LlamaStack's routing agent answers.
pub const ROUTING_REPLY: &str = "Hello from the routing agent.";
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
    /// Agents LlamaStack must hold after the registration Job.
    pub agents: Vec<String>,
    /// Vector DBs LlamaStack must hold after the registration Job.
    pub knowledge_bases: Vec<String>,
    /// An agent of another name, present before the install (with
    /// `assets.prune` it must be gone afterwards).
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
        agents: packaged_agents(),
        knowledge_bases: packaged_knowledge_bases(),
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
        agents: packaged_agents(),
        knowledge_bases: packaged_knowledge_bases(),
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
        agents: vec!["routing-agent".to_owned()],
        knowledge_bases: vec!["laptop-refresh".to_owned()],
        stray_agent_pruned: Some(true),
        api_key: Some(API_KEY),
        negative_helm_test: false,
    }
}

/// The `name` of every agent in the image's asset directory (`assets/config`).
fn packaged_agents() -> Vec<String> {
    let dir = xtask::workspace::root().join("assets/config/agents");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "yaml"))
        .map(|entry| {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            text.lines()
                .find_map(|line| line.strip_prefix("name:"))
                .unwrap_or_else(|| panic!("{}: no name", entry.path().display()))
                .trim()
                .trim_matches(['"', '\''])
                .to_owned()
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no agents in {}", dir.display());
    names
}

/// The knowledge bases (directories) of the image's asset directory.
fn packaged_knowledge_bases() -> Vec<String> {
    let dir = xtask::workspace::root().join("assets/config/knowledge_bases");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
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
