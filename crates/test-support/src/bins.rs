//! Running the workspace's own binaries from integration tests and tools.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// Path of a binary of this workspace, built by `cargo test` beforehand
/// (integration tests of a bin crate get `CARGO_BIN_EXE_<name>`; other
/// crates find it next to their own test executable).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory layout");
    profile_dir.join(name)
}

/// A binary in the same directory as the running executable (a tool of
/// this crate run from `target/<profile>/`).
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("executable directory")?.join(name);
    if !path.is_file() {
        bail!("{} is not built (cargo build -p {name})", path.display());
    }
    Ok(path)
}
