//! A real LlamaStack 0.2.18 server for tests, on 127.0.0.1.
//!
//! The Python environment is provisioned outside the tests: a venv at
//! `<target dir>/venv/llamastack` installed from
//! `ci/python/llamastack.txt` (`cargo xtask test` does it), or the
//! interpreter named by `LLAMASTACK_PYTHON`. Without it, tests call
//! [`RealLlamaStack::available_or_skip`], which prints a `SKIPPED` line
//! and lets them return, or fails them when `SSA_REQUIRE_ALL=1`.
//!
//! [`RealLlamaStack::start`] starts the [`OpenAiStub`] (inference and
//! embeddings, behind `remote::vllm`), writes `llamastack/run.yaml` with
//! every store in a fresh temporary directory, starts
//! `python -m llama_stack.core.server.server` in a process group of its own
//! and waits for `GET /v1/health`. Dropping it ends the process group and
//! removes the directory; a guardian shell does the same if the test
//! process dies first (so [`RealLlamaStack::shared`] leaks nothing).
//! What the server says goes to `server.log` in the state directory and is
//! quoted when it fails to start.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::openai_stub::{self, OpenAiStub};
use crate::postgres::free_port;

const RUN_YAML: &str = include_str!("../llamastack/run.yaml");
// Generous: two servers may start at once on a 2-core machine busy with
// other test binaries and builds.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(180);

/// A running LlamaStack server with the stub behind it.
#[derive(Debug)]
pub struct RealLlamaStack {
    url: String,
    state_dir: PathBuf,
    server: Mutex<Option<Child>>,
    guardian: Mutex<Option<(Child, ChildStdin)>>,
    startup: Duration,
    // dropped after the server: it must outlive it
    stub: OpenAiStub,
}

impl RealLlamaStack {
    /// The chat model, as `GET /v1/models` lists it: registered as
    /// [`openai_stub::LLM_MODEL`], listed provider-prefixed (both resolve).
    pub const LLM_MODEL: &'static str = "vllm/stub-llm";
    /// The embedding model, as listed.
    pub const EMBEDDING_MODEL: &'static str = "vllm/all-MiniLM-L6-v2";
    /// Its `embedding_dimension`.
    pub const EMBEDDING_DIMENSION: usize = openai_stub::EMBEDDING_DIMENSION;

    /// The Python interpreter of the provisioned venv, if there is one:
    /// `LLAMASTACK_PYTHON`, else `venv/llamastack/bin/python` in the target
    /// directory (`CARGO_TARGET_DIR`, else `<workspace>/target`, as
    /// `cargo xtask provision` does).
    pub fn python() -> Option<PathBuf> {
        let path = match std::env::var_os("LLAMASTACK_PYTHON") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => std::env::var_os("CARGO_TARGET_DIR")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::workspace_root().join("target"))
                .join("venv/llamastack/bin/python"),
        };
        path.is_file().then_some(path)
    }

    /// Whether a real LlamaStack can be started here.
    pub fn available() -> bool {
        Self::python().is_some()
    }

    /// For tests: `true` when LlamaStack is provisioned. Otherwise prints
    /// `SKIPPED: ...` and returns `false` (the test returns), or panics when
    /// `SSA_REQUIRE_ALL=1`.
    pub fn available_or_skip(test: &str) -> bool {
        if Self::available() {
            return true;
        }
        crate::skip_unless_required(
            test,
            "real LlamaStack not provisioned (target/venv/llamastack missing; run cargo xtask test)",
        );
        false
    }

    /// Starts a server of its own (blocks for the 2–5 s it takes; the stub
    /// runs on its own thread, so this may be called from async tests).
    pub fn start() -> Result<Self> {
        let begun = Instant::now();
        let python = Self::python().context(
            "real LlamaStack not provisioned (target/venv/llamastack missing; run cargo xtask test)",
        )?;
        let stub = OpenAiStub::start()?;
        let state_dir = tempfile::Builder::new()
            .prefix("ssa-llamastack-")
            .tempdir()
            .context("creating the LlamaStack state directory")?
            .keep();
        let port = free_port()?;
        let run_yaml = state_dir.join("run.yaml");
        std::fs::write(&run_yaml, render_run_yaml(&state_dir, &stub, port)?)?;
        let log_path = state_dir.join("server.log");
        let log = std::fs::File::create(&log_path)?;
        let server = Command::new(&python)
            .args(["-m", "llama_stack.core.server.server"])
            .arg(&run_yaml)
            .args(["--port", &port.to_string()])
            .current_dir(&state_dir)
            .env("LLAMA_STACK_CONFIG_DIR", state_dir.join("llama"))
            .env("LLAMA_STACK_DISABLE_VERSION_CHECK", "1")
            .env("HF_HUB_OFFLINE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("LLAMA_STACK_PORT")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", python.display()))?;
        let guardian = crate::guardian::spawn(server.id(), Some(&state_dir));
        let mut stack = Self {
            url: format!("http://127.0.0.1:{port}"),
            state_dir,
            server: Mutex::new(Some(server)),
            guardian: Mutex::new(guardian.ok()),
            startup: Duration::ZERO,
            stub,
        };
        stack.wait_healthy(port, start_timeout())?;
        stack.startup = begun.elapsed();
        Ok(stack)
    }

    /// One server for every test of the process (started on first use,
    /// ended with the process). Tests sharing it use unique names.
    pub fn shared() -> Result<&'static Self> {
        static SHARED: OnceLock<std::result::Result<RealLlamaStack, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|e| format!("{e:#}"))) {
            Ok(stack) => Ok(stack),
            Err(error) => bail!("no real LlamaStack for the tests: {error}"),
        }
    }

    /// Base URL, `http://127.0.0.1:<port>` (the API is under `/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OpenAI stub behind the server (what it was asked).
    pub fn stub(&self) -> &OpenAiStub {
        &self.stub
    }

    /// URL of the stub's MCP endpoint, for `mcp_endpoint.uri`.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.stub.url())
    }

    /// The URL of a stub MCP server of its own, named `server` (its tool is
    /// `<server>_echo`): one per toolgroup of an agent.
    pub fn named_mcp_url(&self, server: &str) -> String {
        format!("{}/mcp/{server}", self.stub.url())
    }

    /// Where the run.yaml, the stores and `server.log` are.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// What the server has written so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("server.log")).unwrap_or_default()
    }

    /// Time from [`start`](Self::start) to the first healthy answer.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    fn wait_healthy(&self, port: u16, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(mut server) = self.server.lock()
                && let Some(status) = server.as_mut().and_then(|s| s.try_wait().ok().flatten())
            {
                bail!(
                    "LlamaStack exited during startup ({status}); its log ends with:\n{}",
                    tail(&self.server_log(), 4000)
                );
            }
            if health_ok(port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "LlamaStack did not answer GET /v1/health within {timeout:?}; its log ends with:\n{}",
                    tail(&self.server_log(), 4000)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RealLlamaStack {
    fn drop(&mut self) {
        let guardian = self.guardian.get_mut().ok().and_then(Option::take);
        let server = self.server.get_mut().ok().and_then(Option::take);
        match guardian {
            Some((mut guardian, stdin)) => {
                // end of input: the guardian ends the group and removes the directory
                drop(stdin);
                if let Some(mut server) = server {
                    let _ = server.wait();
                }
                let _ = guardian.wait();
            }
            None => {
                if let Some(mut server) = server {
                    let _ = server.kill();
                    let _ = server.wait();
                }
                let _ = std::fs::remove_dir_all(&self.state_dir);
            }
        }
    }
}

fn start_timeout() -> Duration {
    std::env::var("LLAMASTACK_START_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_START_TIMEOUT)
}

fn render_run_yaml(state_dir: &Path, stub: &OpenAiStub, port: u16) -> Result<String> {
    let state_dir = state_dir.to_str().context("non-UTF-8 temporary path")?;
    Ok(RUN_YAML
        .replace("__STATE_DIR__", state_dir)
        .replace("__INFERENCE_URL__", &format!("{}/v1", stub.url()))
        .replace("__PORT__", &port.to_string())
        .replace("__LLM_MODEL__", openai_stub::LLM_MODEL)
        .replace("__EMBEDDING_MODEL__", openai_stub::EMBEDDING_MODEL)
        .replace(
            "__EMBEDDING_DIMENSION__",
            &RealLlamaStack::EMBEDDING_DIMENSION.to_string(),
        ))
}

/// `GET /v1/health` answers 200 (plain HTTP/1.1 over a socket, so this
/// works whatever runtime the caller is in).
fn health_ok(port: u16) -> bool {
    let probe = || -> std::io::Result<bool> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(
            b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.starts_with("HTTP/1.1 200"))
    };
    probe().unwrap_or(false)
}

fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
