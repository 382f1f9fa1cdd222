//! A stack of the test's own: free ports, a copy of the project's asset
//! directory, a state directory, `cargo xtask up --detach` and `down`, and
//! what is left of it afterwards.

use std::net::TcpListener;
use std::process::Output;
use std::time::{Duration, Instant};

use xtask::up::State;

use crate::common::{describe, has_program, run, xtask};

/// The server `up` runs by default (docs/local-stack.md), its venv and
/// what its status line says.
pub const SERVER_VENV: &str = "ogx-1.5.0";
pub const SERVER_NAME: &str = "OGX 1.5.0";

/// Whether `up` can run here: the venv of its default server (OGX) with
/// tiktoken's cache, and PostgreSQL's server. When not, the test is
/// skipped visibly (or fails under `SSA_REQUIRE_ALL=1`).
pub fn available_or_skip(test: &str) -> bool {
    let python = xtask::provision::venv_dir(SERVER_VENV).join("bin/python");
    if !python.is_file() {
        test_support::skip_unless_required(
            test,
            &format!("no {SERVER_NAME} venv at {}", python.display()),
        );
        return false;
    }
    let cache = xtask::provision::tiktoken_cache_dir();
    if !cache.join(xtask::provision::CL100K_BASE_FILE).is_file() {
        test_support::skip_unless_required(
            test,
            &format!("no tiktoken cl100k_base in {}", cache.display()),
        );
        return false;
    }
    for program in ["initdb", "postgres"] {
        if !has_program(program) {
            test_support::skip_unless_required(test, &format!("{program} not on PATH"));
            return false;
        }
    }
    true
}

/// The binaries `up --no-build` starts, from `target/<profile>/` beside
/// this test (`cargo test --workspace` builds them all).
pub const BINARIES: [&str; 6] = [
    "db-migrate",
    "register-assets",
    "self-service-agent",
    "mcp-employee-info",
    "mcp-snow",
    "openai-stub",
];

/// Panics naming the binaries not built: the stack would not start.
pub fn binaries_built() {
    let missing: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|name| !test_support::bins::workspace_binary(name).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "not built: {} (cargo test --workspace builds them; or cargo build --workspace --bins)",
        missing.join(", ")
    );
}

/// The flags of every port of the stack (`cargo xtask up --help`).
pub const PORT_FLAGS: [&str; 6] = [
    "--api-port",
    "--llamastack-port",
    "--postgres-port",
    "--employee-info-port",
    "--snow-port",
    "--stub-port",
];

/// Distinct ports free right now, one per flag.
pub fn free_ports() -> Vec<u16> {
    let listeners: Vec<TcpListener> = PORT_FLAGS
        .iter()
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect()
}

pub struct Stack {
    pub state_dir: tempfile::TempDir,
    pub assets: tempfile::TempDir,
    pub ports: Vec<u16>,
}

impl Stack {
    /// Free ports, a copy of `assets/config` and an empty state directory;
    /// nothing started yet.
    pub fn new() -> Self {
        Self {
            state_dir: tempfile::tempdir().unwrap(),
            assets: test_support::fixtures::copy_of(
                &xtask::workspace::root().join("assets/config"),
            ),
            ports: free_ports(),
        }
    }

    pub fn port(&self, flag: &str) -> u16 {
        let at = PORT_FLAGS.iter().position(|f| *f == flag).unwrap();
        self.ports[at]
    }

    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.port("--api-port"))
    }

    pub fn llamastack(&self) -> String {
        format!("http://127.0.0.1:{}", self.port("--llamastack-port"))
    }

    /// `cargo xtask up --detach` on this stack's ports and directories,
    /// with no inference endpoint nor database of the caller's leaking in.
    pub fn up(&self) -> Output {
        self.up_with(&[])
    }

    /// [`Self::up`] with more flags (`--image`).
    pub fn up_with(&self, flags: &[&str]) -> Output {
        let mut command = xtask();
        command.arg("up").args(flags);
        command
            .arg("--detach")
            // the binaries of this cargo test run (`binaries_built`): a
            // cargo build from inside it would build them again with the
            // features of a plain build
            .arg("--no-build")
            .arg("--state-dir")
            .arg(self.state_dir.path())
            .arg("--assets")
            .arg(self.assets.path());
        for (flag, port) in PORT_FLAGS.iter().zip(&self.ports) {
            command.arg(flag).arg(port.to_string());
        }
        for var in [
            "INFERENCE_URL",
            "INFERENCE_MODEL",
            "INFERENCE_API_KEY",
            "INFERENCE_EMBEDDING_MODEL",
            "INFERENCE_EMBEDDING_DIMENSION",
            "DATABASE_URL",
            "SSA_UP_STATE_DIR",
            "SERVICENOW_INSTANCE_URL",
        ] {
            command.env_remove(var);
        }
        run(&mut command)
    }

    /// `cargo xtask down`.
    pub fn down(&self) -> Output {
        run(xtask()
            .arg("down")
            .arg("--state-dir")
            .arg(self.state_dir.path())
            .env_remove("SSA_UP_STATE_DIR"))
    }

    pub fn state(&self) -> Option<State> {
        State::read(&self.state_dir.path().join("up.json"))
    }

    /// A component's log, for failure messages.
    pub fn log(&self, component: &str) -> String {
        let path = self
            .state_dir
            .path()
            .join("logs")
            .join(format!("{component}.log"));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Waits until `done` holds for the state, or panics after `timeout`.
    pub fn wait_state(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&State) -> bool,
    ) -> State {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(state) = self.state()
                && done(&state)
            {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{what} within {timeout:?}: {:?}\n--- up.log\n{}",
                self.state(),
                self.log("up")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What of this stack still runs or listens: the processes of the
    /// supervisor's, the guardian's and every component's process group,
    /// any process naming the state directory, every port still taken.
    pub fn leftovers(&self, state: Option<&State>) -> Vec<String> {
        let mut groups: Vec<u32> = Vec::new();
        if let Some(state) = state {
            groups.push(state.pid);
            groups.extend(state.guardian);
            groups.extend(state.components.iter().filter_map(|c| c.pid));
        }
        let dir = self.state_dir.path().display().to_string();
        let mut left = Vec::new();
        for (pid, pgrp, cmdline) in processes() {
            if pid == std::process::id() {
                continue;
            }
            if groups.contains(&pid) || groups.contains(&pgrp) || cmdline.contains(&dir) {
                left.push(format!("process {pid} (group {pgrp}): {cmdline}"));
            }
        }
        for (flag, port) in PORT_FLAGS.iter().zip(&self.ports) {
            if TcpListener::bind(("127.0.0.1", *port)).is_err() {
                left.push(format!("port {port} ({flag}) still taken"));
            }
        }
        left
    }
}

impl Drop for Stack {
    /// A failed test still stops what it started.
    fn drop(&mut self) {
        if self.state().is_some_and(|state| state.supervisor_alive()) {
            let _ = self.down();
        }
    }
}

/// The user of the laptop journeys.
pub const USER: &str = "alice.johnson@example.com";

impl Stack {
    /// `generic/sync` "I need a new laptop" through the running stack: the
    /// 200's body.
    pub async fn laptop_request(&self) -> serde_json::Value {
        let body = serde_json::json!({
            "user_id": USER, "content": "I need a new laptop", "integration_type": "CLI",
        });
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v1/requests/generic/sync", self.api()))
            .header("x-user-id", USER)
            .json(&body)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// The laptop-refresh agent's tool calls in the stub's laptop script
/// (`crates/test-support/src/openai_stub/script/mod.rs`), in order, as the
/// answer's metadata names them: (MCP server, tool); the knowledge search
/// has no server.
pub const SCRIPTED_TOOLS: [(Option<&str>, &str); 3] = [
    (Some("employee-info"), "get_employee_laptop_info"),
    (None, "file_search"),
    (Some("snow"), "open_laptop_refresh_ticket"),
];

/// The answer of [`Stack::laptop_request`]: completed by the
/// laptop-refresh agent after the routing agent's hand-off, through the
/// tools of the stub's script, quoting the ticket the snow server opened.
pub fn assert_handed_over_with_a_ticket(answer: &serde_json::Value) {
    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(answer["response"]["agent_id"], "laptop-refresh", "{answer}");
    assert_eq!(
        answer["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"]),
        "the routing agent did not hand over: {answer}"
    );
    let content = answer["response"]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("ticket REQ"),
        "the answer quotes no ticket the snow server opened: {answer}"
    );
    let tools: Vec<(Option<&str>, &str)> = answer["response"]["metadata"]["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|call| call["agent"] == "laptop-refresh")
        .map(|call| {
            (
                call["server"].as_str(),
                call["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        tools, SCRIPTED_TOOLS,
        "the laptop agent's tool calls: {answer}"
    );
}

/// Live processes: pid, process group, command line.
fn processes() -> Vec<(u32, u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // after the command name in parentheses: state, ppid, pgrp
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.len() < 3 || matches!(fields[0], "Z" | "X") {
            continue;
        }
        let pgrp = fields[2].parse().unwrap_or(0);
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
            .unwrap_or_default();
        found.push((pid, pgrp, cmdline.trim().to_owned()));
    }
    found
}

/// `output`'s stdout and stderr, for assertions and failure messages.
pub fn text(output: &Output) -> (String, String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        describe(output),
    )
}
