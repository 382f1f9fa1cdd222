//! A Python server of `crates/test-support/python/` run from the venv
//! `target/venv/delivery` (`ci/python/delivery.txt`): it prints
//! `{"port": N}` first, takes one JSON command a line on stdin and answers
//! each with one JSON line; it ends when its stdin closes (so it never
//! outlives the test process) or when dropped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The Python of `target/venv/delivery`, if provisioned.
pub fn python() -> Option<PathBuf> {
    crate::venv::python("delivery")
}

/// For tests: the venv's Python, or `None` after a visible skip (a failure
/// under `SSA_REQUIRE_ALL=1`).
pub fn python_or_skip(test: &str) -> Option<PathBuf> {
    crate::venv::python_or_skip(test, "delivery", "aiosmtpd and standardwebhooks are")
}

#[derive(Debug)]
pub(crate) struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    port: u16,
    stderr: PathBuf,
}

impl PythonPeer {
    /// Runs `crates/test-support/python/<script>` with `args`; its stderr
    /// goes to `stderr` (shown when it fails).
    pub(crate) fn spawn(python: &Path, script: &str, args: &[&str], stderr: &Path) -> Result<Self> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .join(script);
        let mut child = Command::new(python)
            .arg(&path)
            .args(args)
            // the scripts import peer_control.py: no __pycache__ in the checkout
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr)?)
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut peer = Self {
            child,
            stdin,
            stdout,
            port: 0,
            stderr: stderr.to_owned(),
        };
        let ready = peer
            .read_line()
            .with_context(|| format!("{script} did not start"))?;
        peer.port = ready["port"]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .with_context(|| format!("{script} printed no port: {ready}"))?;
        Ok(peer)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Sends one command and waits for its answer (`{"ok": true}`).
    pub(crate) fn command(&mut self, command: &Value) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the peer's stdin is closed")?;
        writeln!(stdin, "{command}")?;
        stdin.flush()?;
        let answer = self.read_line()?;
        if answer["ok"] != Value::Bool(true) {
            bail!("the peer refused {command}: {answer}");
        }
        Ok(())
    }

    fn read_line(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.try_wait()?;
            bail!(
                "the peer ended ({status:?}): {}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
        serde_json::from_str(line.trim()).with_context(|| format!("not JSON: {line}"))
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
