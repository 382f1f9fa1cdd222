//! `up.json` in the state directory: the supervisor's pid and status,
//! each component's pid, URL and log, the last change of the asset
//! directory and the last reconcile. Written by the
//! supervisor (replaced atomically), read by `up --detach` (to know when
//! the stack is ready), by `down`, and by people.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use super::assets::Reconcile;
use super::reload::AssetUpdate;
use super::settings::Ports;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Starting,
    Ready,
    Stopping,
    Stopped,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The supervisor.
    pub pid: u32,
    /// The guardian shell that ends the components if the supervisor dies
    /// without stopping them (`process.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<u32>,
    pub status: Status,
    /// Why it failed or stopped, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub ports: Ports,
    pub components: Vec<Component>,
    /// What `up` printed once ready: the components and how to use them.
    #[serde(default)]
    pub summary: String,
    /// How many times `register-assets` ran, and the last outcome.
    #[serde(default)]
    pub reconciles: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile: Option<Reconcile>,
    /// How many changes of the asset directory were copied into the
    /// service's since the start, and the last one.
    #[serde(default)]
    pub updates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<AssetUpdate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    /// Process group id (the component's pid); none for containers'
    /// pods or external services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub url: String,
    pub log: String,
}

impl State {
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let temporary = path.with_extension("json.new");
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(&temporary, text)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
    }

    /// Whether its supervisor still runs.
    pub fn supervisor_alive(&self) -> bool {
        matches!(
            self.status,
            Status::Starting | Status::Ready | Status::Stopping
        ) && process_alive(self.pid)
    }
}

/// Whether `pid` is a live process (not a zombie waiting to be reaped).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state follows the command name in parentheses
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
