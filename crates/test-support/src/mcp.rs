//! For the MCP servers' tests: run a server binary of the workspace on a
//! free port (stderr kept for log assertions), and drive it with the
//! official Python MCP SDK (`crates/test-support/python/mcp_client.py` in
//! the venv `target/venv/mcp`, from `ci/python/mcp.txt`).

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::postgres::free_port;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/mcp_client.py");

/// A running server process, ended when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Ends the server's process group should this process die without
    /// dropping it (a server in a `static`).
    guardian: Option<(Child, ChildStdin)>,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `binary` with `env` (plus `LISTEN_ADDR` on a free port and
    /// `LOG_FORMAT=json`), and waits for `/health`.
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("server.log");
        let port = free_port()?;
        let mut command = Command::new(binary);
        for var in [
            "RUST_LOG",
            "LOG_LEVEL",
            "MCP_AUTH_TOKEN",
            "SERVICENOW_INSTANCE_URL",
        ] {
            command.env_remove(var);
        }
        command
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let guardian = crate::guardian::spawn(child.id(), None).ok();
        let mut server = Self {
            child,
            guardian,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        server.wait_healthy(Duration::from_secs(20))?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// [`base`](Self::base) followed by `path` (`/mcp`, `/sse`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the process to end.
    pub fn terminate(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("still running {timeout:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/health", self.base);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("server exited during startup ({status}): {}", self.log());
            }
            if probe::blocking_get_ok(&url) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no /health answer within {timeout:?}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((mut guardian, stdin)) = self.guardian.take() {
            drop(stdin);
            let _ = guardian.wait();
        }
    }
}

/// A plain HTTP GET answering 2xx, without a runtime (std sockets).
mod probe {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn blocking_get_ok(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else {
            return false;
        };
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let probe = || -> std::io::Result<bool> {
            let mut stream = TcpStream::connect(host)?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            write!(
                stream,
                "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer.starts_with("HTTP/1.1 2"))
        };
        probe().unwrap_or(false)
    }
}

/// The Python of `target/venv/mcp`, if provisioned.
pub fn python() -> Option<PathBuf> {
    crate::venv::python("mcp")
}

/// For tests: the venv's Python, or `None` after a visible skip (a failure
/// under `SSA_REQUIRE_ALL=1`).
pub fn python_or_skip(test: &str) -> Option<PathBuf> {
    crate::venv::python_or_skip(test, "mcp", "the Python MCP SDK is")
}

/// One step of a client session.
pub fn list() -> Value {
    json!({"op": "list"})
}

pub fn call(name: &str, arguments: Value) -> Value {
    json!({"op": "call", "name": name, "arguments": arguments})
}

/// [`run_client`] at `server`'s `path` with the `AUTHORITATIVE_USER_ID`
/// header naming `user` (none for `None`); panics when the client cannot
/// connect.
pub fn run_as(
    python: &Path,
    server: &ServerProcess,
    path: &str,
    user: Option<&str>,
    steps: &[Value],
) -> Vec<Value> {
    let headers: &[(&str, &str)] = match user {
        Some(user) => &[("AUTHORITATIVE_USER_ID", user)],
        None => &[],
    };
    run_client(python, &server.url(path), headers, steps).expect("the client connects")
}

/// The tools `server` lists at `path`.
pub fn list_tools(python: &Path, server: &ServerProcess, path: &str) -> Vec<Value> {
    let entries = run_client(python, &server.url(path), &[], &[list()]).expect(path);
    entries[0]["tools"].as_array().expect("tools").clone()
}

/// The text of a session entry (a tool's answer), empty when it has none.
pub fn text(entry: &Value) -> &str {
    entry["text"].as_str().unwrap_or_default()
}

/// The text of a tool's answer that must not be an error.
pub fn answer_text(entry: &Value) -> &str {
    assert_eq!(entry["isError"], false, "{entry}");
    text(entry)
}

/// The text of a tool's answer that must be an error.
pub fn error_text(entry: &Value) -> &str {
    assert_eq!(entry["isError"], true, "{entry}");
    text(entry)
}

/// Connects to `url` with the Python SDK's streamable HTTP client, sending
/// `headers`, runs `steps`; the entries after `initialize`, or the error
/// the client gave.
pub fn run_client(
    python: &Path,
    url: &str,
    headers: &[(&str, &str)],
    steps: &[Value],
) -> Result<Vec<Value>, String> {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
        .collect();
    let plan = json!({"url": url, "headers": headers, "steps": steps});
    let mut child = Command::new(python)
        .arg(CLIENT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting {}: {error}", python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(plan.to_string().as_bytes())
            .map_err(|error| error.to_string())?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer: Value = serde_json::from_str(stdout.trim()).map_err(|_| {
        format!(
            "the client printed no JSON (exit {:?}): {stdout} {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    match answer {
        Value::Array(mut entries) if !entries.is_empty() => {
            let initialize = entries.remove(0);
            if initialize["op"] != "initialize" {
                return Err(format!("no initialize entry: {initialize}"));
            }
            Ok(entries)
        }
        other => Err(other["failure"].as_str().unwrap_or("no answer").to_owned()),
    }
}
