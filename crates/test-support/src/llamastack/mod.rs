//! Real LlamaStack servers for tests, on 127.0.0.1: 0.2.18, 0.7.3 and
//! OGX 1.5.0 ([`ServerVersion`]), each behind an [`OpenAiStub`] of its own.
//!
//! The Python environments are provisioned outside the tests: a venv per
//! version at `<target dir>/venv/<venv>` from `ci/python/<venv>.txt`, and,
//! for 0.7.3 and OGX, tiktoken's `cl100k_base` at
//! `<target dir>/tiktoken-cache` (`cargo xtask provision` makes both).
//! Without them, tests call [`RealLlamaStack::available_or_skip`], which
//! prints a `SKIPPED` line and lets them return, or fails them when
//! `SSA_REQUIRE_ALL=1`.
//!
//! [`RealLlamaStack::start`] starts the stub (inference and embeddings,
//! behind `remote::vllm`), writes the version's run.yaml
//! (`crates/test-support/llamastack/<version>/run.yaml`) with every store in
//! a fresh temporary directory, starts the server (`python -m <module>`) in
//! a process group of its own and waits for `GET /v1/health`. Dropping it
//! ends the process group and removes the directory; a guardian shell does
//! the same if the test process dies first (so [`RealLlamaStack::shared`]
//! leaks nothing). What the server says goes to `server.log` in the state
//! directory and is quoted when it fails to start.

mod version;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub use version::{CL100K_BASE_FILE, ServerVersion, tiktoken_cache};

use crate::openai_stub::{self, OpenAiStub};
use crate::postgres::free_port;

// Generous: three servers may start at once on a 2-core machine busy with
// other test binaries and builds.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(300);

/// The models a server is given, and where it reaches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    /// The OpenAI base URL (ends in `/v1`).
    pub url: String,
    /// The chat model, as the endpoint names it.
    pub llm: String,
    /// The embedding model, as the endpoint names it.
    pub embedding: String,
    pub embedding_dimension: usize,
}

/// A running LlamaStack server with the stub behind it.
#[derive(Debug)]
pub struct RealLlamaStack {
    version: ServerVersion,
    url: String,
    state_dir: PathBuf,
    server: Mutex<Option<Child>>,
    guardian: Mutex<Option<(Child, ChildStdin)>>,
    startup: Duration,
    // dropped after the server: it must outlive it
    stub: OpenAiStub,
}

impl RealLlamaStack {
    /// The chat model as every version lists it (`GET /v1/models`):
    /// registered as [`openai_stub::LLM_MODEL`] of provider `vllm`. 0.7.3
    /// and OGX accept only this id; 0.2.18 also the bare name.
    pub const LLM_MODEL: &'static str = "vllm/stub-llm";
    /// The embedding model, as listed.
    pub const EMBEDDING_MODEL: &'static str = "vllm/all-MiniLM-L6-v2";
    /// Its `embedding_dimension`.
    pub const EMBEDDING_DIMENSION: usize = openai_stub::EMBEDDING_DIMENSION;

    /// Why `version` cannot be started here, or `None` when it can.
    pub fn missing(version: ServerVersion) -> Option<String> {
        let venv = version.venv();
        if version.python().is_none() {
            return Some(format!(
                "real {version} not provisioned (target/venv/{venv} from ci/python/{venv}.txt; run cargo xtask provision)"
            ));
        }
        if version.needs_tiktoken() && tiktoken_cache().is_none() {
            return Some(format!(
                "real {version} needs tiktoken's cl100k_base, not provisioned \
                 (target/tiktoken-cache/{CL100K_BASE_FILE}; run cargo xtask provision)"
            ));
        }
        None
    }

    /// Whether a real `version` can be started here.
    pub fn available(version: ServerVersion) -> bool {
        Self::missing(version).is_none()
    }

    /// For tests: `true` when `version` is provisioned. Otherwise prints
    /// `SKIPPED: ...` and returns `false` (the test returns), or panics
    /// when `SSA_REQUIRE_ALL=1`.
    pub fn available_or_skip(version: ServerVersion, test: &str) -> bool {
        match Self::missing(version) {
            None => true,
            Some(reason) => {
                crate::skip_unless_required(test, &reason);
                false
            }
        }
    }

    /// Starts a server of its own (blocks for the 6–11 s it takes; the stub
    /// runs on its own thread, so this may be called from async tests).
    pub fn start(version: ServerVersion) -> Result<Self> {
        let begun = Instant::now();
        if let Some(reason) = Self::missing(version) {
            bail!("{reason}");
        }
        let python = version.python().context("the venv's Python")?;
        let stub = OpenAiStub::start()?;
        let state_dir = tempfile::Builder::new()
            .prefix(&format!("ssa-{}-", version.venv()))
            .tempdir()
            .context("creating the server's state directory")?
            .keep();
        std::fs::create_dir_all(state_dir.join("tmp"))?;
        let port = free_port()?;
        let run_yaml = state_dir.join("run.yaml");
        let models = Models {
            url: format!("{}/v1", stub.url()),
            llm: openai_stub::LLM_MODEL.to_owned(),
            embedding: openai_stub::EMBEDDING_MODEL.to_owned(),
            embedding_dimension: Self::EMBEDDING_DIMENSION,
        };
        std::fs::write(
            &run_yaml,
            render_run_yaml(version.run_yaml_template(), &state_dir, &models)?,
        )?;
        let log_path = state_dir.join("server.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(&python);
        command
            .args(version.server_args(&run_yaml, port))
            .current_dir(&state_dir)
            .envs(version.server_env(&state_dir, tiktoken_cache().as_deref()));
        for name in ServerVersion::UNSET_ENV {
            command.env_remove(name);
        }
        let server = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", python.display()))?;
        let guardian = crate::guardian::spawn(server.id(), Some(&state_dir));
        let mut stack = Self {
            version,
            url: format!("http://127.0.0.1:{port}"),
            state_dir,
            server: Mutex::new(Some(server)),
            guardian: Mutex::new(guardian.ok()),
            startup: Duration::ZERO,
            stub,
        };
        stack.wait_healthy(port, start_timeout())?;
        for path in version.warm_up_paths() {
            http_get_status(port, path)
                .with_context(|| format!("{version}: warming up with GET {path}"))?;
        }
        stack.startup = begun.elapsed();
        Ok(stack)
    }

    /// One server of `version` for every test of the process (started on
    /// first use, ended with the process). Tests sharing it use unique
    /// names.
    pub fn shared(version: ServerVersion) -> Result<&'static Self> {
        type Slot = OnceLock<std::result::Result<RealLlamaStack, String>>;
        static SHARED: [Slot; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = &SHARED[version as usize];
        match slot.get_or_init(|| Self::start(version).map_err(|e| format!("{e:#}"))) {
            Ok(stack) => Ok(stack),
            Err(error) => bail!("no real {version} for the tests: {error}"),
        }
    }

    /// The shared servers of `versions`, started side by side (a server
    /// spends most of its start in Python imports, one core each), in the
    /// order asked.
    pub fn shared_all(versions: &[ServerVersion]) -> Vec<Result<&'static Self>> {
        std::thread::scope(|scope| {
            let starting: Vec<_> = versions
                .iter()
                .map(|version| scope.spawn(move || Self::shared(*version)))
                .collect();
            starting
                .into_iter()
                .map(|start| {
                    start
                        .join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a server's start panicked")))
                })
                .collect()
        })
    }

    pub fn version(&self) -> ServerVersion {
        self.version
    }

    /// Base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the Responses, Files and Vector Stores APIs are:
    /// [`url`](Self::url) followed by [`ServerVersion::api_base`].
    pub fn api_url(&self) -> String {
        format!("{}{}", self.url, self.version.api_base())
    }

    /// `/v1/openai/v1` (0.2.18) or `/v1`.
    pub fn api_base(&self) -> &'static str {
        self.version.api_base()
    }

    /// The OpenAI stub behind the server (what it was asked).
    pub fn stub(&self) -> &OpenAiStub {
        &self.stub
    }

    /// URL of the stub's MCP endpoint (its tool is `echo`).
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.stub.url())
    }

    /// The URL of a stub MCP server of its own, named `server` (its tool is
    /// `<server>_echo`).
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
        let version = self.version;
        loop {
            if let Ok(mut server) = self.server.lock()
                && let Some(status) = server.as_mut().and_then(|s| s.try_wait().ok().flatten())
            {
                bail!(
                    "{version} exited during startup ({status}); its log ends with:\n{}",
                    tail(&self.server_log(), 4000)
                );
            }
            if health_ok(port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{version} did not answer GET /v1/health within {timeout:?}; its log ends with:\n{}",
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

/// A run.yaml template (`crates/test-support/llamastack/*/run.yaml`) for a
/// server keeping its state in `state_dir` and served `models`: comment
/// lines dropped, every placeholder replaced by a quoted YAML (JSON) string,
/// the dimension by a number. `cargo xtask up` renders the same templates
/// the same way (`xtask/src/up/llamastack.rs`).
pub fn render_run_yaml(template: &str, state_dir: &Path, models: &Models) -> Result<String> {
    let dir = state_dir
        .to_str()
        .context("the state directory's path is not UTF-8")?;
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let mut out = String::with_capacity(template.len());
    for line in template.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let line = match line.split_once("__STATE_DIR__/") {
            Some((head, file)) => format!("{head}{}", quoted(&format!("{dir}/{}", file.trim()))),
            None => line
                .replace("__INFERENCE_URL__", &quoted(&models.url))
                .replace("__LLM_MODEL__", &quoted(&models.llm))
                .replace("__EMBEDDING_MODEL__", &quoted(&models.embedding))
                .replace(
                    "__EMBEDDING_DIMENSION__",
                    &models.embedding_dimension.to_string(),
                ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// `GET /v1/health` answers 200.
fn health_ok(port: u16) -> bool {
    http_get_status(port, "/v1/health").is_ok_and(|status| status == 200)
}

/// The status of `GET <path>` on 127.0.0.1:`port` (plain HTTP/1.1 over a
/// socket, so this works whatever runtime the caller is in).
fn http_get_status(port: u16, path: &str) -> std::io::Result<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer)?;
    std::str::from_utf8(answer.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|status| status.parse().ok())
        .filter(|_| answer.starts_with(b"HTTP/1.1 "))
        .ok_or_else(|| std::io::Error::other("not an HTTP/1.1 answer"))
}

fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Models {
        Models {
            url: "http://127.0.0.1:9/v1".into(),
            llm: "org/model: 7b".into(),
            embedding: "embedder".into(),
            embedding_dimension: 768,
        }
    }

    #[test]
    fn every_template_renders_without_a_placeholder_a_comment_or_a_key() {
        for version in ServerVersion::ALL {
            let text = render_run_yaml(
                version.run_yaml_template(),
                Path::new("/state dir/x"),
                &models(),
            )
            .unwrap_or_default();
            assert!(!text.contains("__"), "{version}: {text}");
            assert!(!text.contains('#'), "{version}: {text}");
            assert!(text.contains("\"org/model: 7b\""), "{version}: {text}");
            assert!(
                text.contains("embedding_dimension: 768"),
                "{version}: {text}"
            );
            assert!(
                text.contains("${env.VLLM_API_TOKEN:=fake}"),
                "{version}: the key comes from the environment: {text}"
            );
            assert!(text.contains("host: 127.0.0.1"), "{version}: {text}");
        }
    }

    #[test]
    fn every_store_is_in_the_state_directory() {
        for version in ServerVersion::ALL {
            let text = render_run_yaml(
                version.run_yaml_template(),
                Path::new("/state dir/x"),
                &models(),
            )
            .unwrap_or_default();
            let paths: Vec<&str> = text
                .lines()
                .filter_map(|line| line.split_once("db_path: ").map(|(_, path)| path))
                .collect();
            assert!(!paths.is_empty(), "{version}");
            for path in paths {
                assert!(path.starts_with("\"/state dir/x/"), "{version}: {path}");
            }
        }
    }
}
