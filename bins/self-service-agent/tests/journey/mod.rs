//! The laptop refresh journey against real parts: a real LlamaStack 0.2.18
//! whose model is the OpenAI stub playing a script
//! (`test_support::openai_stub::Script`), both MCP server binaries, an
//! asset directory reconciled by `register-assets`, and the service binary
//! on a migrated test database.
//!
//! One [`World`] (LlamaStack, MCP servers, registered assets) serves every
//! test of a test binary; each [`Journey`] starts a service of its own.
//! Journeys take turns: the stub's script is one for all.

#![allow(dead_code)] // each test file uses its own subset

pub mod assets;
mod binaries;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::mcp::{ServerProcess, call, run_client};
use test_support::openai_stub::{Answer, ChatRecord, Script, ToolCall, ToolResult};

use crate::common;

/// LlamaStack, the two MCP servers, and an asset directory registered.
pub struct World {
    pub llama: &'static RealLlamaStack,
    pub employee_info: ServerProcess,
    pub snow: ServerProcess,
    /// The MCP servers' `MCP_AUTH_TOKEN`.
    pub token: String,
    /// The registered copy of the asset directory.
    assets: tempfile::TempDir,
}

impl World {
    /// Starts the MCP servers, copies the asset directory `source`, lets
    /// `prepare` point it at this world, and registers it.
    pub fn start(source: &Path, prepare: impl FnOnce(&Path, &Self)) -> Self {
        let llama = RealLlamaStack::shared().unwrap();
        let token = format!("mcp-{}", unique_suffix());
        let env = [("MCP_AUTH_TOKEN", token.as_str())];
        let employee_info =
            ServerProcess::start(&binaries::binary("mcp-employee-info"), &env).unwrap();
        let snow = ServerProcess::start(&binaries::binary("mcp-snow"), &env).unwrap();
        let world = Self {
            llama,
            employee_info,
            snow,
            token,
            assets: assets::copy_of(source),
        };
        prepare(world.assets.path(), &world);
        register(llama.url(), world.assets.path());
        world
    }

    /// The base URL of the MCP server of toolgroup `name` (`employee-info`
    /// or `snow`).
    pub fn mcp_base(&self, name: &str) -> String {
        match name {
            "employee-info" => self.employee_info.base().to_owned(),
            "snow" => self.snow.base().to_owned(),
            other => panic!("no MCP server for toolgroup {other}"),
        }
    }

    /// Runs `journey` with a service of its own; panics if it cannot run.
    pub fn run(&self, journey: Journey<'_>) -> Outcome {
        static TURNS: Mutex<()> = Mutex::new(());
        let _turn = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
        let stub = self.llama.stub();
        stub.set_script(journey.script.clone());
        let seen = stub.chats().len();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(self.request(&journey))
        }));
        stub.set_script(Script::default());
        let (status, answer, stored) =
            result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Outcome {
            status,
            answer,
            stored,
            chats: stub.chats().split_off(seen),
        }
    }

    async fn request(&self, journey: &Journey<'_>) -> (u16, Value, Value) {
        let db = test_support::test_database().await.unwrap();
        common::migrate(&db.url()).await;
        let mut env = common::service_env(&db, self.llama.url(), common::port());
        env.push(("MCP_AUTH_TOKEN", journey.service_token.to_owned()));
        let mut service = common::spawn(&env).await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let response = common::sync(&http, &service, journey.user, journey.message).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        let stored: Value = match answer["request_id"].as_str() {
            Some(id) => http
                .get(service.url(&format!("/api/v1/requests/{id}")))
                .header("x-user-id", journey.user)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
            None => Value::Null,
        };
        let _ = service.child.kill().await;
        (status, answer, stored)
    }

    /// What the snow server lists as `user`'s open tickets (through the
    /// official Python MCP client, as the user).
    pub fn open_tickets(&self, python: &Path, user: &str) -> String {
        let bearer = format!("Bearer {}", self.token);
        let entries = run_client(
            python,
            &format!("{}/mcp", self.snow.base()),
            &[("AUTHORITATIVE_USER_ID", user), ("Authorization", &bearer)],
            &[call("get_laptop_refresh_tickets", json!({}))],
        )
        .unwrap();
        assert_eq!(entries[0]["isError"], false, "{entries:?}");
        entries[0]["text"].as_str().unwrap().to_owned()
    }
}

/// One request of a user to the service, with the model playing `script`.
#[derive(Debug, Clone)]
pub struct Journey<'a> {
    pub user: &'a str,
    pub message: &'a str,
    pub script: Script,
    /// The service's `MCP_AUTH_TOKEN`.
    pub service_token: &'a str,
}

/// What a journey left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The status of `POST /api/v1/requests/generic/sync`.
    pub status: u16,
    /// Its body.
    pub answer: Value,
    /// `GET /api/v1/requests/{id}` afterwards.
    pub stored: Value,
    /// The chat completions of the journey, as the stub saw them.
    pub chats: Vec<ChatRecord>,
}

impl Outcome {
    /// The answer's text.
    pub fn content(&self) -> &str {
        self.answer["response"]["content"]
            .as_str()
            .unwrap_or_default()
    }

    /// The results of `tool` the model received.
    pub fn results_of(&self, tool: &str) -> Vec<&ToolResult> {
        self.chats
            .iter()
            .flat_map(|chat| &chat.tool_results)
            .filter(|result| result.tool == tool)
            .collect()
    }

    /// The calls of `tool` the model made.
    pub fn calls_of(&self, tool: &str) -> Vec<&ToolCall> {
        self.chats
            .iter()
            .filter_map(|chat| match &chat.answer {
                Answer::ToolCalls(calls) => Some(calls),
                Answer::Text(_) => None,
            })
            .flatten()
            .filter(|call| call.name == tool)
            .collect()
    }

    /// The one result of `tool`, or a failure saying what the model got.
    pub fn only_result_of(&self, tool: &str) -> &ToolResult {
        match self.results_of(tool).as_slice() {
            [result] => result,
            other => panic!(
                "expected one result of {tool}, got {other:?}; chats: {:#?}",
                self.chats
            ),
        }
    }
}

/// Runs `run` once per test process (a world, a journey), for the tests
/// that each check one thing of it; a failed run fails each of them with
/// its message.
pub fn once<T>(cell: &'static OnceLock<Result<T, String>>, run: impl FnOnce() -> T) -> &'static T {
    let outcome = cell.get_or_init(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "it panicked".to_owned())
        })
    });
    match outcome {
        Ok(outcome) => outcome,
        Err(error) => panic!("shared setup failed: {error}"),
    }
}

/// An employee of the demo directory (`assets/mcp/employees.json`).
#[derive(Debug, Clone)]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub email: String,
}

pub fn employee(id: &str) -> Employee {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/mcp/employees.json");
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let found = all
        .iter()
        .find(|employee| employee["employee_id"] == id)
        .unwrap_or_else(|| panic!("no employee {id} in assets/mcp/employees.json"));
    let text = |key: &str| found[key].as_str().unwrap().to_owned();
    Employee {
        id: text("employee_id"),
        name: text("name"),
        email: text("email"),
    }
}

/// The `Ticket Number:` of a snow tool answer.
pub fn ticket_number(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.strip_prefix("Ticket Number:"))
        .map(str::trim)
}

/// The project's own asset directory.
pub fn project_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config")
}

/// Runs `register-assets` on `dir`; panics with its output unless it succeeds.
fn register(llama_url: &str, dir: &Path) {
    let output = std::process::Command::new(binaries::binary("register-assets"))
        .env("ASSET_CONFIG_DIR", dir)
        .env("LLAMA_STACK_URL", llama_url)
        .env("LLAMA_STACK_WAIT_TIMEOUT", "30")
        .env("RUST_LOG", "info")
        .env_remove("LLAMASTACK_SERVICE_HOST")
        .env_remove("LLAMA_STACK_API_KEY")
        .env_remove("LOG_FORMAT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "register-assets failed: {said}");
}

/// Unique enough for a token of one test process.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", std::process::id())
}
