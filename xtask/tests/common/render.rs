//! The chart rendered by the real Helm engine: `helm/tests/render.py`
//! (helm-python-sdk) run with the tools venv's Python, one JSON request in,
//! one JSON answer out (the protocol is in render.py's docstring).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The tools venv's interpreter (it may not exist yet).
pub fn venv_python() -> PathBuf {
    xtask::provision::venv_dir("tools").join("bin/python")
}

/// Why the chart cannot be rendered without the venv, and how to get it.
pub fn missing_venv(python: &Path) -> String {
    format!(
        "no Python tools venv at {} (python3 -m venv target/venv/tools && \
         target/venv/tools/bin/pip install -r ci/python/tools.txt, or `cargo xtask provision`)",
        python.display()
    )
}

/// render.py's JSON answer to `request` (chart, values, release, ...).
pub fn render(python: &Path, request: &Value) -> Value {
    let root = xtask::workspace::root();
    let mut child = Command::new(python)
        .arg(root.join("helm/tests/render.py"))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start render.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let output = child.wait_with_output().expect("render.py output");
    assert!(
        output.status.success(),
        "render.py failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("render.py answers JSON")
}
