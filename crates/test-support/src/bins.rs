//! Running the workspace's own binaries from integration tests.

use std::path::PathBuf;

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
