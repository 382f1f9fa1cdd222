//! The Python system's own clients, the current ones, run unchanged
//! against the service binary: its chat script
//! (`chat-responses-request-mgr.py`, driving `CLIChatClient` as its
//! evaluation suite does) sends a request, a follow-up, `**tokens**`, then
//! `reset`; its `RequestManagerClient.get_conversations` exports what was
//! said. Only its packages' `__init__` are stand-ins (its `shared_models`
//! logging, its `shared_clients` package).
//!
//! Needs `../shared/fixtures/python-system-2026/clients` beside the checkout
//! (the Python system's files) and `target/venv/python-clients`
//! (`ci/python/python-clients.txt`); skips, saying so, without them.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use shared_db::DbConfig;
use shared_db::migrate::{self, Timeouts};
use test_support::agent_assets::TestAssets;
use test_support::fake_llamastack::{FakeLlamaStack, Scripted};
use test_support::fixtures::shared_fixture;
use test_support::postgres::free_port;
use test_support::{TestDatabase, test_database, venv};
use tokio::io::AsyncWriteExt as _;
use tokio::process::{Child, Command};

const TEST: &str = "python_system_clients";
const ALICE: &str = "alice@example.com";
const AUDITOR: &str = "auditor";
const AUDITOR_KEY: &str = "auditor-key-0123456789abcdef";
const TERMINATOR: &str = "---end of answer---";
const ROUTING_GREETING: &str = "Hello, I am the routing agent. What do you need?";
const RESET_ANSWER: &str =
    "Your conversation has been reset. Your next message starts a new conversation.";

/// `shared_models` as the client imports it: a structlog logger that keeps
/// its debug lines out of the chat's output.
const SHARED_MODELS_STAND_IN: &str = r#"import logging

import structlog

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def configure_logging(name):
    return structlog.get_logger(name)
"#;

/// `shared_clients` as its chat script imports it: the package's classes,
/// from the unchanged module.
const SHARED_CLIENTS_STAND_IN: &str =
    "from request_manager_client import CLIChatClient, RequestManagerClient  # noqa: F401\n";

/// Exports the conversations with the unchanged `RequestManagerClient`: as
/// the administrator (its key on the client's connection), then as Bob
/// naming Alice (refused). One JSON document on stdout.
const EXPORT: &str = r#"import asyncio, json, sys

import httpx
from shared_clients import RequestManagerClient


async def main(url, key, alice):
    admin = RequestManagerClient(request_manager_url=url, user_id="auditor")
    admin.client.headers["Authorization"] = f"Bearer {key}"
    everything = await admin.get_conversations(user_id=alice)
    laptop = await admin.get_conversations(user_id=alice, agent_id="laptop-refresh", include_messages=False)
    await admin.close()
    bob = RequestManagerClient(request_manager_url=url, user_id="bob@example.com")
    bob.client.headers["x-user-id"] = "bob@example.com"
    try:
        await bob.get_conversations(user_id=alice)
        refused = None
    except httpx.HTTPStatusError as error:
        refused = error.response.status_code
    await bob.close()
    print(json.dumps({"everything": everything, "laptop": laptop, "refused": refused}))


asyncio.run(main(*sys.argv[1:]))
"#;

struct Service {
    child: Child,
    base_url: String,
    log: tempfile::NamedTempFile,
}

impl Service {
    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

async fn migrated_database() -> TestDatabase {
    let db = test_database().await.unwrap();
    let config = DbConfig::from_url(&db.url()).unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(20),
        lock: Duration::from_secs(10),
    };
    migrate::up(&config, timeouts).await.unwrap();
    db
}

/// The fixture's two agents: the routing agent hands laptop questions to
/// the laptop-refresh agent, which answers everything itself.
fn scripted_model(fake: &FakeLlamaStack) {
    fake.set_agent_responder("routing-agent", |input| {
        if input.function_output().is_some() {
            return Scripted::Text("Transferring you to the laptop-refresh agent.".into());
        }
        let laptop = input
            .last_user_text()
            .is_some_and(|text| text.to_lowercase().contains("laptop"));
        if laptop && input.offers_function("transfer_to_laptop-refresh") {
            Scripted::FunctionCall {
                name: "transfer_to_laptop-refresh".into(),
                arguments: json!({}),
            }
        } else {
            Scripted::Text(ROUTING_GREETING.into())
        }
    });
    fake.set_reply("laptop-refresh", |message| {
        format!("laptop-refresh agent: about '{message}'")
    });
}

async fn spawn_service(
    db: &TestDatabase,
    fake: &FakeLlamaStack,
    assets: &Path,
    keys: &Path,
) -> Service {
    let port = free_port().unwrap();
    let mut env = db.env();
    env.extend([
        ("LLAMA_STACK_URL", fake.url()),
        ("LLAMA_STACK_RETRIES", "0".to_owned()),
        ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("ASSET_CONFIG_DIR", assets.display().to_string()),
        ("AUTH_MODE", "header-or-api-key".to_owned()),
        ("API_KEYS_FILE", keys.display().to_string()),
        ("ADMIN_USERS", AUDITOR.to_owned()),
    ]);
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_self-service-agent"))
        .env_clear()
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .stdout(Stdio::from(log.reopen().unwrap()))
        .stderr(Stdio::from(log.reopen().unwrap()))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let service = Service {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        log,
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("{}/ready", service.base_url))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if ready {
            return service;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the service was not ready within 30 s:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A directory with the stand-in packages, first on `PYTHONPATH`.
fn stand_ins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (package, init) in [
        ("shared_models", SHARED_MODELS_STAND_IN),
        ("shared_clients", SHARED_CLIENTS_STAND_IN),
    ] {
        std::fs::create_dir(dir.path().join(package)).unwrap();
        std::fs::write(dir.path().join(package).join("__init__.py"), init).unwrap();
    }
    std::fs::write(dir.path().join("export.py"), EXPORT).unwrap();
    dir
}

struct Python {
    python: PathBuf,
    clients: PathBuf,
    stand_ins: tempfile::TempDir,
}

impl Python {
    /// Runs `args` with `stdin`; its stdout, after asserting it succeeded.
    async fn run(&self, args: &[&str], stdin: &str) -> String {
        let path = format!(
            "{}:{}",
            self.stand_ins.path().display(),
            self.clients.display()
        );
        let mut child = Command::new(&self.python)
            .args(args)
            .env_clear()
            .env("PYTHONPATH", path)
            .env("AGENT_MESSAGE_TERMINATOR", TERMINATOR)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("the Python client finished within 120 s")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The chat script as the evaluation suite runs it: `initial`, then
    /// each of `lines` on its standard input.
    async fn chat(&self, service: &Service, initial: &str, lines: &[&str]) -> String {
        let script = self.clients.join("chat-responses-request-mgr.py");
        let script = script.display().to_string();
        let stdin: String = lines.iter().map(|line| format!("{line}\n")).collect();
        self.run(
            &[
                &script,
                "--user-id",
                ALICE,
                "--request-manager-url",
                &service.base_url,
                "--initial-message",
                initial,
            ],
            &stdin,
        )
        .await
    }
}

/// The agent's answers the chat printed, in order.
fn answers(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("agent: "))
        .collect()
}

/// The machine-readable line the client printed back for `**tokens**`.
fn printed_summary(output: &str) -> &str {
    output
        .lines()
        .find(|line| line.starts_with("TOKEN_SUMMARY:"))
        .unwrap_or_else(|| panic!("no TOKEN_SUMMARY line:\n{output}"))
}

/// What the session's stored requests used, as the summary line says it.
async fn stored_summary(db: &TestDatabase, session_id: &str) -> String {
    let conn = Database::connect(db.url()).await.unwrap();
    let field = |name: &str| {
        format!("COALESCE((response_metadata::jsonb -> 'usage' ->> '{name}')::bigint, 0)")
    };
    let sql = format!(
        "SELECT sum({i})::bigint, sum({o})::bigint, sum({t})::bigint, sum({c})::bigint, \
           max({i})::bigint, max({o})::bigint, max({t})::bigint \
         FROM request_logs WHERE session_id = '{session_id}' AND response_metadata IS NOT NULL",
        i = field("input_tokens"),
        o = field("output_tokens"),
        t = field("total_tokens"),
        c = field("calls"),
    );
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    let value = |index: usize| row.try_get_by_index::<i64>(index).unwrap();
    format!(
        "TOKEN_SUMMARY:INPUT:{}:OUTPUT:{}:TOTAL:{}:CALLS:{}:MAX_SINGLE_INPUT:{}:MAX_SINGLE_OUTPUT:{}:MAX_SINGLE_TOTAL:{}",
        value(0),
        value(1),
        value(2),
        value(3),
        value(4),
        value(5),
        value(6)
    )
}

fn said(session: &Value) -> Vec<&str> {
    session["conversation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["user_message"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_python_systems_cli_client_chats_counts_tokens_resets_and_exports_unchanged() {
    let Some(clients) = shared_fixture("python-system-2026/clients", TEST) else {
        return;
    };
    let Some(python) = venv::python_or_skip(
        TEST,
        "python-clients",
        "the Python system's client dependencies (httpx, structlog) are",
    ) else {
        return;
    };
    let db = migrated_database().await;
    let fake = FakeLlamaStack::start().await;
    scripted_model(&fake);
    let assets = TestAssets::routing_and_laptop();
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(keys.path(), format!("{AUDITOR} {AUDITOR_KEY}\n")).unwrap();
    let mut service = spawn_service(&db, &fake, assets.path(), keys.path()).await;
    let python = Python {
        python,
        clients,
        stand_ins: stand_ins(),
    };

    // A request, a follow-up, then **tokens** (which ends its chat loop).
    let first = python
        .chat(
            &service,
            "I need a new laptop",
            &["Which models are there?", "**tokens**"],
        )
        .await;
    assert_eq!(
        answers(&first),
        [
            "laptop-refresh agent: about 'I need a new laptop'",
            "laptop-refresh agent: about 'Which models are there?'",
        ],
        "{first}\n{}",
        service.log()
    );
    assert!(first.contains(TERMINATOR), "test mode: {first}");
    assert!(first.contains("CURRENT_TOKEN_SUMMARY:") && first.contains("TOKEN_SUMMARY_END"));

    // reset, then a new conversation, then its **tokens**.
    let second = python
        .chat(&service, "reset", &["hello", "**tokens**"])
        .await;
    assert_eq!(
        answers(&second),
        [RESET_ANSWER, ROUTING_GREETING],
        "{second}"
    );

    let export = python
        .run(
            &[
                &python
                    .stand_ins
                    .path()
                    .join("export.py")
                    .display()
                    .to_string(),
                &service.base_url,
                AUDITOR_KEY,
                ALICE,
            ],
            "",
        )
        .await;
    let export: Value = serde_json::from_str(&export).unwrap();
    let everything = &export["everything"];
    assert_eq!(everything["total"], 2, "{everything}");
    let sessions = everything["sessions"].as_array().unwrap();
    let (new, old) = (&sessions[0], &sessions[1]);
    assert_eq!(
        said(old),
        [
            "I need a new laptop",
            "Which models are there?",
            "**tokens**",
            "reset"
        ]
    );
    assert_eq!(old["status"], "INACTIVE");
    assert_eq!(said(new), ["hello", "**tokens**"]);
    assert_eq!(new["status"], "ACTIVE");
    let laptop = &export["laptop"];
    assert_eq!(laptop["total"], 1, "{laptop}");
    assert_eq!(laptop["sessions"][0]["session_id"], old["session_id"]);
    assert_eq!(export["refused"], 403, "Bob may not read Alice's");

    // The summaries the client printed are the stored usage of each session.
    let old_usage = stored_summary(&db, old["session_id"].as_str().unwrap()).await;
    assert_eq!(printed_summary(&first), old_usage);
    assert!(
        !old_usage.starts_with("TOKEN_SUMMARY:INPUT:0:"),
        "{old_usage}"
    );
    let new_usage = stored_summary(&db, new["session_id"].as_str().unwrap()).await;
    assert_eq!(printed_summary(&second), new_usage);
    assert!(new_usage.contains(":CALLS:1:"), "{new_usage}");

    service.child.kill().await.unwrap();
}
