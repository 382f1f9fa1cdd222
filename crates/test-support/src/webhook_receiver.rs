//! Webhook receivers for the delivery tests and benchmarks:
//! [`WebhookReceiver`], a Python server
//! (`crates/test-support/python/webhook_receiver.py`) that verifies every
//! request with the official Standard Webhooks library, records it, and
//! answers what the test scripted (over HTTPS with a throwaway certificate
//! if asked); and [`InstantReceiver`], in Rust, answering 204 at once and
//! counting, for throughput measurements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Value, json};

pub use crate::instant_receiver::InstantReceiver;
use crate::python_peer::PythonPeer;
pub use crate::python_peer::{python, python_or_skip};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Waits this long before answering (for timeouts).
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect();
        json!({
            "status": self.status,
            "headers": headers,
            "body": self.body,
            "delay": self.delay.as_secs_f64(),
        })
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// `standardwebhooks.Webhook(secret).verify(body, headers)` passed.
    pub verified: bool,
    /// Why it did not.
    pub error: Option<String>,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).context("the body is not JSON")
    }
}

#[derive(Debug)]
pub struct WebhookReceiver {
    peer: PythonPeer,
    records: PathBuf,
    scheme: &'static str,
    _dir: tempfile::TempDir,
}

impl WebhookReceiver {
    /// An HTTP receiver verifying with `secret` (`whsec_…`).
    pub fn start(python: &Path, secret: &str) -> Result<Self> {
        Self::spawn(python, secret, false)
    }

    /// The same over HTTPS, with a self-signed certificate for 127.0.0.1
    /// that no client trusts.
    pub fn start_tls(python: &Path, secret: &str) -> Result<Self> {
        Self::spawn(python, secret, true)
    }

    fn spawn(python: &Path, secret: &str, tls: bool) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let records = dir.path().join("requests.jsonl");
        std::fs::write(&records, "")?;
        let records_arg = records.to_str().context("non-UTF-8 temporary path")?;
        let mut args = vec!["--secret", secret, "--records", records_arg];
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        if tls {
            let certified =
                rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])?;
            std::fs::write(&cert, certified.cert.pem())?;
            std::fs::write(&key, certified.signing_key.serialize_pem())?;
            args.extend([
                "--cert",
                cert.to_str().context("path")?,
                "--key",
                key.to_str().context("path")?,
            ]);
        }
        let peer = PythonPeer::spawn(
            python,
            "webhook_receiver.py",
            &args,
            &dir.path().join("stderr.log"),
        )?;
        Ok(Self {
            peer,
            records,
            scheme: if tls { "https" } else { "http" },
            _dir: dir,
        })
    }

    /// `http(s)://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme, self.peer.port())
    }

    /// The answers to the next requests, in order; 204 after them.
    pub fn script(&mut self, answers: &[Answer]) -> Result<()> {
        let script: Vec<Value> = answers.iter().map(Answer::to_json).collect();
        self.peer.command(&json!({ "script": script }))
    }

    /// Every request so far, in order (each is recorded before it is
    /// answered).
    pub fn requests(&self) -> Result<Vec<ReceivedRequest>> {
        std::fs::read_to_string(&self.records)?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).context("a record is not JSON"))
            .collect()
    }
}
