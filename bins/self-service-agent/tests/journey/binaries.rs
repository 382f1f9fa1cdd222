//! The other packages' binaries these tests run. Cargo gives an
//! integration test only its own package's binaries
//! (`CARGO_BIN_EXE_<name>`); the others live in the same profile
//! directory (`test_support::bins::workspace_binary`). `cargo test
//! --workspace` builds them before any test runs; a run of this package
//! alone builds them here, once per test process, when one is missing or
//! older than a source of the workspace (it would test other sources). A
//! fresh one is not built again: a build of a few packages unifies other
//! features than the workspace's, and would rebuild their dependencies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The MCP servers and `register-assets`, each a package of its own.
const PACKAGES: [&str; 3] = ["mcp-employee-info", "mcp-snow", "register-assets"];

/// The path of the binary of package `name` (binary and package share the
/// name), built first if it is missing or stale.
pub fn binary(name: &str) -> PathBuf {
    assert!(PACKAGES.contains(&name), "{name} is not built here");
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let sources = newest_source();
        let stale: Vec<&str> = PACKAGES
            .into_iter()
            .filter(|package| {
                modified(&test_support::bins::workspace_binary(package))
                    .is_none_or(|built| sources.is_some_and(|source| source > built))
            })
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        build(&stale)
    });
    if let Err(error) = built {
        panic!("{error}");
    }
    test_support::bins::workspace_binary(name)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// When a source of the workspace's crates and binaries (their `src`,
/// their manifests, `Cargo.lock`) last changed.
fn newest_source() -> Option<SystemTime> {
    let root = test_support::workspace_root();
    let mut newest = modified(&root.join("Cargo.lock"));
    for group in ["crates", "bins"] {
        let Ok(packages) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        for package in packages.flatten() {
            let package = package.path();
            newest = newest.max(modified(&package.join("Cargo.toml")));
            newest = newest.max(newest_in(&package.join("src")));
        }
    }
    newest
}

fn newest_in(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_in(&path)
        } else {
            modified(&path)
        };
        newest = newest.max(time);
    }
    newest
}

/// `cargo build -p <package>...` into this test's target directory and
/// profile.
fn build(packages: &[&str]) -> Result<(), String> {
    let profile_dir = test_support::bins::workspace_binary("x")
        .parent()
        .map(PathBuf::from)
        .ok_or("no profile directory")?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or("no profile name")?;
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(test_support::workspace_root())
        .args(["build", "--quiet"])
        .arg("--target-dir")
        .arg(target_dir)
        .args([
            "--profile",
            if profile == "debug" { "dev" } else { profile },
        ]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .map_err(|error| format!("running cargo build: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build of {packages:?} failed ({status})"))
    }
}
