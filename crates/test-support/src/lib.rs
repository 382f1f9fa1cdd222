//! Test harness shared by the workspace's integration tests: throwaway
//! PostgreSQL clusters started from the installed server binaries, one
//! database per test, a real LlamaStack server behind an OpenAI-compatible
//! stub, a stateful fake ServiceNow, helpers to run the workspace's
//! binaries and to drive MCP servers with the Python MCP SDK, and the
//! delivery channels' peers: a real SMTP server and webhook receivers.
//! Not part of the product.

pub mod agent_assets;
pub mod bins;
pub mod captured_log;
pub mod catalog;
pub mod fake_llamastack;
pub mod fake_servicenow;
pub mod fake_slack;
pub mod fixtures;
mod guardian;
mod instant_receiver;
pub mod llamastack;
pub mod mcp;
pub mod openai_stub;
pub mod postgres;
mod python_peer;
pub mod smtp;
mod thread_server;
pub mod venv;
pub mod webhook_receiver;

pub use llamastack::RealLlamaStack;
pub use postgres::{PgCluster, TestDatabase, test_database};

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| manifest.join("../.."))
}

/// Tells that `test` did not run and why, where it is always seen: straight
/// to the stderr handle (the test harness captures `println!`/`eprintln!`,
/// and shows them only for failing tests).
pub fn report_skip(test: &str, reason: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason} [{test}]");
}

/// A test that cannot run on this machine (a tool is not provisioned):
/// under `SSA_REQUIRE_ALL=1`, set by `cargo xtask test` where everything is
/// provisioned, that is a failure; elsewhere the skip is reported.
pub fn skip_unless_required(test: &str, reason: &str) {
    assert!(
        std::env::var("SSA_REQUIRE_ALL").as_deref() != Ok("1"),
        "{test}: {reason}, and SSA_REQUIRE_ALL=1 (`cargo xtask provision` installs it)"
    );
    report_skip(test, reason);
}

/// Asserts that `text` contains every one of `parts`, naming the first
/// missing one.
pub fn assert_contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}
