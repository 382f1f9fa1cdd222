//! The other packages' binaries these tests run. Cargo gives an
//! integration test only its own package's binaries
//! (`CARGO_BIN_EXE_<name>`); the others live in the same profile
//! directory (`test_support::bins::workspace_binary`). They are built here,
//! once per test process, even when present: a binary left by an earlier
//! build of other sources would test those (cargo answers at once when
//! they are up to date).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The MCP servers and `register-assets`, each a package of its own.
const PACKAGES: [&str; 3] = ["mcp-employee-info", "mcp-snow", "register-assets"];

/// The path of the binary of package `name` (binary and package share the
/// name), built first.
pub fn binary(name: &str) -> PathBuf {
    assert!(PACKAGES.contains(&name), "{name} is not built here");
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(error) = BUILT.get_or_init(|| build(&PACKAGES)) {
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
