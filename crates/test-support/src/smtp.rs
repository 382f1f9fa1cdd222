//! A real SMTP server for the delivery tests: aiosmtpd
//! (`crates/test-support/python/smtp_server.py`) on a free loopback port,
//! storing what it accepts in a directory of its own; told to reject the
//! next messages with 4xx or 5xx replies.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use crate::python_peer::PythonPeer;
pub use crate::python_peer::{python, python_or_skip};

/// One accepted message, as Python's email parser reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedEmail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    /// `multipart/alternative` for a message with text and HTML parts.
    pub content_type: String,
    /// The content types of the top-level parts.
    pub parts: Vec<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    /// The AUTH login, on a server started with credentials.
    pub authenticated_as: Option<String>,
}

impl ReceivedEmail {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
pub struct SmtpServer {
    peer: PythonPeer,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// A server accepting every message, without AUTH.
    pub fn start(python: &Path) -> Result<Self> {
        Self::spawn(python, &[])
    }

    /// A server that requires AUTH with these credentials.
    pub fn start_with_auth(python: &Path, user: &str, password: &str) -> Result<Self> {
        Self::spawn(python, &["--user", user, "--password", password])
    }

    fn spawn(python: &Path, extra: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let messages = dir.path().join("messages");
        std::fs::create_dir(&messages)?;
        let messages = messages.to_str().context("non-UTF-8 temporary path")?;
        let mut args = vec!["--dir", messages];
        args.extend_from_slice(extra);
        let peer = PythonPeer::spawn(
            python,
            "smtp_server.py",
            &args,
            &dir.path().join("stderr.log"),
        )?;
        Ok(Self { peer, dir })
    }

    pub fn port(&self) -> u16 {
        self.peer.port()
    }

    /// The next messages' DATA are answered with these codes, in order
    /// (451: try later, 550: rejected, …), instead of being accepted.
    pub fn reject_next(&mut self, codes: &[u16]) -> Result<()> {
        self.peer.command(&json!({ "reject": codes }))
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Result<Vec<ReceivedEmail>> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("messages"))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)?;
                serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
            })
            .collect()
    }

    /// Waits until `count` messages were accepted.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Result<Vec<ReceivedEmail>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages()?;
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() > deadline {
                bail!("{} of {count} messages within {timeout:?}", messages.len());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
