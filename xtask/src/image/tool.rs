//! The container tool: which one (`CONTAINER_TOOL`, else podman, docker
//! with a reachable daemon, buildah, else none), and building with it.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use super::spec::ImageSpec;
use crate::workspace::{has_program, run_command};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tool {
    Podman,
    Buildah,
    Docker,
    /// No container tool: xtask writes the OCI archive itself and pushes
    /// it through the registry API.
    None,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Podman => "podman",
            Tool::Buildah => "buildah",
            Tool::Docker => "docker",
            Tool::None => "none",
        }
    }

    /// `--tool`, else `CONTAINER_TOOL`, else the first tool found.
    pub fn select(flag: Option<Tool>) -> Result<Tool> {
        if let Some(tool) = flag {
            return Ok(tool);
        }
        if let Some(value) = std::env::var("CONTAINER_TOOL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return Tool::from_str(&value, true).map_err(|_| {
                anyhow::anyhow!(
                    "CONTAINER_TOOL={value:?}: expected podman, buildah, docker or none"
                )
            });
        }
        Ok(Tool::detect())
    }

    fn detect() -> Tool {
        if has_program("podman") {
            Tool::Podman
        } else if has_program("docker") && docker_daemon_reachable() {
            Tool::Docker
        } else if has_program("buildah") {
            Tool::Buildah
        } else {
            Tool::None
        }
    }

    /// Builds `spec` from `context` and tags it `reference`.
    pub fn build(
        self,
        spec: &ImageSpec,
        context: &Path,
        reference: &str,
        epoch: i64,
        no_cache: bool,
    ) -> Result<()> {
        let mut command = Command::new(self.name());
        match self {
            Tool::Podman | Tool::Buildah => {
                command.args([
                    "build",
                    "--format",
                    "oci",
                    "--pull=never",
                    "--identity-label=false",
                ]);
                // Sets the image's `created` and every file's mtime in its layers.
                command.arg(format!("--timestamp={epoch}"));
                // buildah's layer cache ignores --timestamp: a layer cached by a
                // build with another SOURCE_DATE_EPOCH would be reused with its
                // old mtimes. The build is a few COPYs, so do without the cache.
                // (--layers=false would too, but podman 4.3 then fails removing
                // the `binaries` stage, an alias of the `host` stage's image.)
                command.arg("--no-cache");
                // One layer per COPY (buildah's default squashes them into one).
                command.arg("--layers");
            }
            Tool::Docker => {
                command.arg("build");
                // BuildKit takes `created` and history times from it.
                command.env("SOURCE_DATE_EPOCH", epoch.to_string());
            }
            Tool::None => bail!("no container tool to build with"),
        }
        if no_cache && self == Tool::Docker {
            command.arg("--no-cache");
        }
        for (name, value) in &spec.build_args {
            command.arg("--build-arg").arg(format!("{name}={value}"));
        }
        command
            .arg("--tag")
            .arg(reference)
            .arg("--file")
            .arg(&spec.containerfile)
            .arg(context)
            .stdout(stderr()?);
        run_command(&mut command)
    }

    /// Exports the built image as an OCI archive (gzip layers, as a
    /// registry stores them); returns the manifest digest.
    pub fn export_archive(
        self,
        reference: &str,
        archive: &Path,
        digest_file: &Path,
    ) -> Result<String> {
        match self {
            Tool::Podman | Tool::Buildah => {}
            Tool::Docker | Tool::None => bail!("{} cannot export an OCI archive here", self.name()),
        }
        if archive.exists() {
            std::fs::remove_file(archive)?;
        }
        let destination = format!("oci-archive:{}:{reference}", archive.display());
        run_command(
            Command::new(self.name())
                .args([
                    "push",
                    "--quiet",
                    "--compression-format",
                    "gzip",
                    "--digestfile",
                ])
                .arg(digest_file)
                .arg(reference)
                .arg(destination)
                .stdout(stderr()?),
        )?;
        let digest = std::fs::read_to_string(digest_file)
            .with_context(|| format!("reading {}", digest_file.display()))?;
        Ok(digest.trim().to_owned())
    }
}

/// The tools' progress goes to our stderr: stdout carries only the result.
fn stderr() -> Result<Stdio> {
    use std::os::fd::AsFd as _;
    Ok(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
}

fn docker_daemon_reachable() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
