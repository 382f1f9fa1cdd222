//! `up --image`: the project's binaries from the built images, as
//! containers of one podman pod, each on the host's network (so they
//! listen on 127.0.0.1 like the host binaries; the pod has no infra
//! container, as nothing is shared but its lifetime, so no pause image is
//! needed), each run with the chart's command
//! and securityContext (user 1001, read-only root filesystem, a `/tmp`
//! tmpfs; `docs/chart.md`). PostgreSQL, LlamaStack and the stub stay host
//! processes. Each container is an attached `podman run --rm`, so the
//! supervisor stops it like any child (podman passes the signal on).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::image::{AGENT_RECORD, MCP_SERVERS};
use crate::workspace::target_dir;

/// The fields of a build record (`target/image/last-build*.json`) used here.
#[derive(Debug, Deserialize)]
struct BuildRecord {
    reference: String,
    #[serde(default)]
    archive: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Pod {
    pub name: String,
    /// The image of db-migrate, register-assets and self-service-agent.
    agent: String,
    /// binary → image, for the MCP servers whose image is built.
    mcp: BTreeMap<&'static str, String>,
}

impl Pod {
    /// The pod `name` over the last built images (the build records in
    /// `dir`, default `target/image`). A missing MCP image is said in one
    /// line (its server then runs from the host binary).
    pub fn from_build_records(name: String, dir: Option<&Path>) -> Result<(Self, Option<String>)> {
        let dir = dir.map_or_else(|| target_dir().join("image"), Path::to_path_buf);
        let record = dir.join(AGENT_RECORD);
        let Some(agent) = read(&record)? else {
            bail!(
                "image: no image built ({} is missing): run cargo xtask build-image",
                record.display()
            );
        };
        let mut mcp = BTreeMap::new();
        let mut missing = Vec::new();
        for server in MCP_SERVERS {
            match read(&dir.join(server.record_file_name()))? {
                Some(image) => {
                    mcp.insert(server.binary, image);
                }
                None => missing.push(server.binary),
            }
        }
        let note = (!missing.is_empty()).then(|| {
            format!(
                "image: no MCP server image built for {} (no build record in {}; \
                 cargo xtask build-image --all builds them): those run from the host binaries",
                missing.join(", "),
                dir.display()
            )
        });
        Ok((Self { name, agent, mcp }, note))
    }

    /// Whether `binary` runs from an image.
    pub fn has_image(&self, binary: &str) -> bool {
        matches!(
            binary,
            "db-migrate" | "register-assets" | "self-service-agent"
        ) || self.mcp.contains_key(binary)
    }

    fn image_of(&self, binary: &str) -> &str {
        self.mcp.get(binary).unwrap_or(&self.agent)
    }

    /// A fresh pod (an earlier one of the same name is removed first).
    pub async fn create(&self) -> Result<()> {
        self.remove().await;
        let output = tokio::process::Command::new("podman")
            .args(["pod", "create", "--name", &self.name, "--infra=false"])
            .output()
            .await
            .context("image: running podman pod create")?;
        if !output.status.success() {
            bail!(
                "image: podman pod create failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// `podman run` of `binary` in the pod, as the chart runs it: the
    /// environment passed by name (`-e KEY`, values from podman's own
    /// environment, so no secret is on a command line), `assets` mounted
    /// read-only at `/app/config`.
    pub fn command(
        &self,
        binary: &str,
        args: &[&str],
        env: &[(&str, String)],
        assets: Option<&Path>,
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("podman");
        command
            .args(["run", "--rm", "--pod", &self.name, "--network", "host"])
            .arg(format!("--name={}-{binary}", self.name))
            .args(["--user", "1001:1001", "--read-only", "--tmpfs", "/tmp"])
            .args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]);
        if let Some(dir) = assets {
            command.arg("--volume").arg(format!(
                "{}:{}:ro",
                dir.display(),
                super::stack::IMAGE_ASSET_DIR
            ));
        }
        for (key, value) in env {
            command.arg("-e").arg(key).env(key, value);
        }
        command.arg(self.image_of(binary));
        // an MCP server's image has its binary, `/usr/local/bin/mcp-server`,
        // as entrypoint (Containerfile.mcp-template), which the chart's
        // command names too; the unified image has none
        if !self.mcp.contains_key(binary) {
            command.arg(format!("/usr/local/bin/{binary}"));
        }
        command.args(args);
        command
    }

    /// What the guardian runs if the supervisor dies.
    pub fn removal(&self) -> String {
        format!("podman pod rm -f -t 5 {}", self.name)
    }

    pub async fn remove(&self) {
        let _ = tokio::process::Command::new("podman")
            .args(["pod", "rm", "-f", "-t", "5", &self.name])
            .output()
            .await;
    }
}

/// The image a build record names: its reference when podman has it,
/// else its OCI archive.
fn read(path: &Path) -> Result<Option<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let record: BuildRecord = serde_json::from_str(&text)
        .with_context(|| format!("image: reading {}", path.display()))?;
    let present = std::process::Command::new("podman")
        .args(["image", "exists", &record.reference])
        .status()
        .is_ok_and(|status| status.success());
    Ok(Some(match record.archive {
        Some(archive) if !present && archive.is_file() => {
            format!("oci-archive:{}", archive.display())
        }
        _ => record.reference,
    }))
}

/// A hint when podman's failure is this machine's rlimit restriction.
pub fn hint(log: &str) -> Option<&'static str> {
    (log.contains("rlimit") || log.contains("RLIMIT")).then_some(
        "podman cannot set rlimits here: point CONTAINERS_CONF at a file with \
         `[containers]` `default_ulimits = []` (docs/local-stack.md)",
    )
}
