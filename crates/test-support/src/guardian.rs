//! A guardian for a server a test process starts in a process group of its
//! own: a shell that waits for end of input (the test dropping the server,
//! or the test process dying, however it dies, even from a `static` that is
//! never dropped), then ends the group (TERM, KILL after 3 s) and removes
//! the server's directory, if it has one.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, Result};

/// Starts the guardian of process group `pgid`; the caller keeps the
/// returned stdin open for as long as the group should live.
pub(crate) fn spawn(pgid: u32, remove_dir: Option<&Path>) -> Result<(Child, ChildStdin)> {
    // (dash's kill takes no `--`; `-N` is the process group N)
    let script = "trap '' INT TERM HUP; cat >/dev/null; \
                  kill -TERM -\"$0\" 2>/dev/null; i=0; \
                  while kill -0 -\"$0\" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; \
                  kill -KILL -\"$0\" 2>/dev/null; [ -z \"$1\" ] || rm -rf \"$1\"";
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(pgid.to_string())
        .arg(remove_dir.map(Path::as_os_str).unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting a server's guardian")?;
    let stdin = child.stdin.take().context("guardian stdin")?;
    Ok((child, stdin))
}
