//! The other packages' binaries these tests run. Cargo gives an
//! integration test only its own package's binaries
//! (`CARGO_BIN_EXE_<name>`); the others live in the same profile
//! directory (`test_support::bins::workspace_binary`) once built.
//! `cargo test --workspace` builds them before any test runs; a run of
//! this package alone builds them here, once per test process.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The MCP servers and `register-assets`, each a package of its own.
const PACKAGES: [&str; 3] = ["mcp-employee-info", "mcp-snow", "register-assets"];

/// The path of the binary of package `name` (binary and package share the
/// name), built first if it is missing.
pub fn binary(name: &str) -> PathBuf {
    assert!(PACKAGES.contains(&name), "{name} is not built here");
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let missing: Vec<&str> = PACKAGES
            .into_iter()
            .filter(|package| !test_support::bins::workspace_binary(package).is_file())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        build(&missing)
    });
    if let Err(error) = built {
        panic!("{error}");
    }
    test_support::bins::workspace_binary(name)
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
        .arg("build")
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
