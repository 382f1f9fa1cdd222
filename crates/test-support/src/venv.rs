//! The Python venvs `cargo xtask provision` builds at `target/venv/<name>`
//! from `ci/python/<name>.txt` (below `CARGO_TARGET_DIR` when it is set).

use std::path::PathBuf;

/// The target directory `cargo xtask provision` fills: `CARGO_TARGET_DIR`,
/// else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// The Python of `target/venv/<name>`, if provisioned.
pub fn python(name: &str) -> Option<PathBuf> {
    let python = target_dir().join("venv").join(name).join("bin/python");
    python.is_file().then_some(python)
}

/// For tests: the Python of `target/venv/<name>`, or `None` after a
/// visible skip (a failure under `SSA_REQUIRE_ALL=1`) saying "`what` not
/// provisioned", `what` naming what the venv holds with its verb
/// ("the Python MCP SDK is").
pub fn python_or_skip(test: &str, name: &str, what: &str) -> Option<PathBuf> {
    let found = python(name);
    if found.is_none() {
        crate::skip_unless_required(
            test,
            &format!(
                "{what} not provisioned (target/venv/{name} from ci/python/{name}.txt; run cargo xtask provision)"
            ),
        );
    }
    found
}
