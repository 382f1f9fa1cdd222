//! Shared by the `register-assets` binary tests: running it as a Job would,
//! with a deadline, and asset directories to run it on.

#![allow(dead_code)] // each test file uses its own subset

pub mod playground;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// Longer than any run of these tests takes; a run past it has hung.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn project_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config")
}

/// Runs `register-assets` on `config` against `url`; a run past
/// [`DEADLINE`] is killed and fails the test.
pub async fn register(
    url: Option<&str>,
    config: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_register-assets"));
    command
        .args(args)
        .env("ASSET_CONFIG_DIR", config)
        .env("LLAMA_STACK_WAIT_TIMEOUT", "5")
        .env("LLAMA_STACK_RETRIES", "2")
        .env("RUST_LOG", "info")
        .env_remove("LLAMASTACK_SERVICE_HOST")
        .env_remove("LLAMA_STACK_API_KEY")
        .env_remove("LOG_FORMAT")
        .env_remove("ASSET_MAX_FILE_BYTES")
        .env_remove("ASSET_MAX_TOTAL_BYTES")
        .env_remove("ASSET_MAX_FILES")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match url {
        Some(url) => command.env("LLAMA_STACK_URL", url),
        None => command.env_remove("LLAMA_STACK_URL"),
    };
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let child = command.output();
    match tokio::time::timeout(DEADLINE, child).await {
        Ok(output) => output.expect("register-assets runs"),
        // dropping the future kills the child (kill_on_drop)
        Err(_) => panic!(
            "register-assets on {} hung: killed after {DEADLINE:?}",
            config.display()
        ),
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A writable copy of `from` at `to`.
pub use test_support::fixtures::copy_dir;

/// `path` below the base where `fake` serves files and vector stores.
pub fn route(fake: &test_support::fake_llamastack::FakeLlamaStack, path: &str) -> String {
    format!("{}{path}", fake.api_base())
}

/// A fake LlamaStack 0.2.18 holding what an earlier release registered
/// through its Agents API: the two agents, the MCP toolgroup `mcp::snow`
/// and the knowledge base's vector DB `laptop-refresh`.
pub async fn fake_with_an_earlier_release() -> test_support::fake_llamastack::FakeLlamaStack {
    use test_support::fake_llamastack::{FakeLlamaStack, Flavor};
    let fake = FakeLlamaStack::builder()
        .flavor(Flavor::V0_2_18)
        .start()
        .await
        .expect("fake starts");
    for name in ["routing-agent", "laptop-refresh"] {
        fake.add_legacy_agent(name);
    }
    fake.add_legacy_toolgroup("mcp::snow", Some("http://self-service-agent-snow:8000/sse"));
    fake.add_legacy_vector_db("laptop-refresh");
    fake
}
