//! The asset directory as the local stack registers it: a generated copy
//! whose toolgroups point at the local MCP servers (the project's name
//! Kubernetes Services), and what `register-assets` did with it.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value;

/// Replaces `target` with a copy of `source` (links followed; hidden files,
/// editor backups and anything but files and directories left out), the
/// `uri` of each `toolgroups/*.yaml` whose `name` has a server in
/// `servers` (name → base URL) pointed at it, keeping the uri's path.
/// Returns the toolgroups left as they were.
pub fn generate(source: &Path, target: &Path, servers: &[(&str, String)]) -> Result<Vec<String>> {
    if target.exists() {
        std::fs::remove_dir_all(target)
            .with_context(|| format!("removing {}", target.display()))?;
    }
    copy_dir(source, target)?;
    let mut unchanged = Vec::new();
    let Ok(entries) = std::fs::read_dir(target.join("toolgroups")) else {
        return Ok(unchanged);
    };
    for entry in entries.flatten() {
        let file = entry.path();
        if !file
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let name = value_of(&text, "name").unwrap_or_default();
        match servers.iter().find(|(server, _)| *server == name) {
            Some((_, base)) => std::fs::write(&file, with_uri_at(&text, base))?,
            None => unchanged.push(name),
        }
    }
    unchanged.sort();
    Ok(unchanged)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // a dangling link: the loader would refuse it too
        };
        if meta.is_dir() {
            copy_dir(&path, &to.join(&name))?;
        } else if meta.is_file() {
            std::fs::copy(&path, to.join(&name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// The value of a top-level `key: value` line, quotes removed.
fn value_of(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
}

/// `text` with its top-level `uri:` on `base`, the old uri's path kept.
fn with_uri_at(text: &str, base: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("uri:") {
            Some(value) => {
                let uri = value.trim().trim_matches(|c| c == '"' || c == '\'');
                let path = uri
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
                    .unwrap_or("/mcp");
                lines.push(format!("uri: \"{base}{path}\""));
            }
            None => lines.push(line.to_owned()),
        }
    }
    lines.join("\n") + "\n"
}

/// What one `register-assets` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reconcile {
    /// Its summary line: `created=N replaced=N unchanged=N pruned=N failed=N`.
    pub summary: String,
    /// `<action> <kind> <name>` of each step that changed something.
    pub changes: Vec<String>,
    /// `<kind> <name>: <error>` of each failed step.
    pub failures: Vec<String>,
}

impl Reconcile {
    /// Reads its stdout (the summary) and its JSON log lines
    /// (`LOG_FORMAT=json`; `crates/asset-manager/src/apply/mod.rs` logs
    /// each step that changed something or failed).
    pub fn read(stdout: &str, stderr: &str) -> Self {
        let summary = stdout
            .lines()
            .rev()
            .find(|line| line.contains("created="))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut reconcile = Self {
            summary,
            ..Self::default()
        };
        for line in stderr.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let fields = if event["fields"].is_object() {
                &event["fields"]
            } else {
                &event
            };
            let text = |key: &str| fields[key].as_str().unwrap_or_default().to_owned();
            let (kind, name, action) = (text("kind"), text("name"), text("action"));
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            if text("message") == "step failed" {
                reconcile
                    .failures
                    .push(format!("{kind} {name}: {}", text("error")));
            } else if !action.is_empty() {
                reconcile.changes.push(format!("{action} {kind} {name}"));
            }
        }
        reconcile
    }

    /// The line `up` prints: the summary, then what changed.
    pub fn line(&self) -> String {
        let mut line = format!("register-assets: {}", self.summary);
        if !self.changes.is_empty() {
            line.push_str(&format!(" ({})", self.changes.join(", ")));
        }
        if !self.failures.is_empty() {
            line.push_str(&format!(" FAILED: {}", self.failures.join("; ")));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toolgroup_uri_moves_to_its_local_server_and_keeps_its_path() {
        let text = "name: \"snow\"\nuri: \"http://self-service-agent-snow:8000/sse\"\ntransport: \"sse\"\n";
        assert_eq!(
            with_uri_at(text, "http://127.0.0.1:8102"),
            "name: \"snow\"\nuri: \"http://127.0.0.1:8102/sse\"\ntransport: \"sse\"\n"
        );
    }

    #[test]
    fn the_reconcile_names_what_changed_and_what_failed() {
        let stdout = "created=0 replaced=1 unchanged=6 pruned=0 failed=1\n";
        let stderr = concat!(
            "not json\n",
            r#"{"level":"INFO","message":"instructions changed","kind":"agent","name":"laptop-refresh","action":"replace"}"#,
            "\n",
            r#"{"level":"ERROR","message":"step failed","kind":"toolgroup","name":"snow","action":"replace","error":"500"}"#,
            "\n",
            r#"{"level":"INFO","message":"assets reconciled","summary":"created=0"}"#,
            "\n"
        );
        let reconcile = Reconcile::read(stdout, stderr);
        assert_eq!(reconcile.changes, ["replace agent laptop-refresh"]);
        assert_eq!(reconcile.failures, ["toolgroup snow: 500"]);
        assert_eq!(
            reconcile.line(),
            "register-assets: created=0 replaced=1 unchanged=6 pruned=0 failed=1 \
             (replace agent laptop-refresh) FAILED: toolgroup snow: 500"
        );
    }
}
