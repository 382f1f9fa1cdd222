//! Which image to build and what to call it: the `VERSION`, `REGISTRY`,
//! `AGENT_IMG` settings shared with the Makefile (same names, same
//! defaults), the template selection, the project's MCP server images named
//! after the agent image (`mcp.rs`), and the reproducibility inputs
//! (`SOURCE_DATE_EPOCH`, the commit).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use super::mcp::{MCP_SERVERS, McpServer, mcp_server};
use crate::workspace::{root, target_dir};

/// Default registry (and organisation) images are named under.
pub const DEFAULT_REGISTRY: &str = "quay.io/ecosystem-appeng";
/// Repository name of the unified image.
pub const AGENT_REPOSITORY: &str = "self-service-agent";

/// The one-binary image templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// `Containerfile.services-template`: a further HTTP service.
    Services,
    /// `Containerfile.mcp-template`: an MCP server.
    Mcp,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::Services => "services",
            Template::Mcp => "mcp",
        }
    }
}

/// Selects and names an image; shared by `build-image` and `push`.
#[derive(Debug, Clone, Args)]
pub struct ImageOptions {
    /// Image version, the default tag [env: VERSION; default: the workspace version]
    #[arg(long)]
    pub version: Option<String>,
    /// Registry and organisation to name images under [env: REGISTRY; default: quay.io/ecosystem-appeng]
    #[arg(long)]
    pub registry: Option<String>,
    /// Full image reference `registry/repo:tag` [env: AGENT_IMG for the
    /// unified image; default: $REGISTRY/self-service-agent:$VERSION, or
    /// $REGISTRY/<binary>:$VERSION for a template image; the project's MCP
    /// servers' images are named after the unified image's,
    /// <repo>-employee-info-mcp:<tag> and <repo>-snow-mcp:<tag>]
    #[arg(long)]
    pub image: Option<String>,
    /// Build a one-binary image from a template instead of the unified image.
    #[arg(long, value_enum, requires = "binary")]
    pub template: Option<Template>,
    /// The binary (cargo package of the same name) a template image holds.
    #[arg(long, requires = "template")]
    pub binary: Option<String>,
    /// The commit recorded in the revision label [default: git rev-parse HEAD]
    #[arg(long)]
    pub revision: Option<String>,
    /// Where archives, build contexts and records go [default: target/image]
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// A parsed `registry/repo:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub tag: String,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Result<Self> {
        if reference.contains('@') {
            bail!("image reference {reference:?} must name a tag, not a digest");
        }
        let last_slash = reference.rfind('/').map_or(0, |at| at + 1);
        let (repository, tag) = match reference[last_slash..].rfind(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (&reference[..colon], &reference[colon + 1..])
            }
            None => (reference, "latest"),
        };
        if repository.is_empty() || tag.is_empty() {
            bail!("image reference {reference:?} is not `registry/repo:tag`");
        }
        let tag_ok = tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !tag_ok {
            bail!("image tag {tag:?} may only hold letters, digits, '_', '.', '-'");
        }
        if repository.chars().any(|c| c.is_ascii_uppercase()) {
            bail!("image repository {repository:?} must be lower case");
        }
        Ok(Self {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
        })
    }

    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// The registry host part (`quay.io`, `127.0.0.1:5000`); `docker.io`
    /// when the repository names none.
    pub fn registry_host(&self) -> &str {
        match split_registry(&self.repository) {
            ("", _) => "docker.io",
            (host, _) => host,
        }
    }
}

/// Splits `registry/repo` the way container tools do: the first component
/// is a registry when it has a `.` or `:` or is `localhost`; otherwise the
/// registry is empty (Docker Hub).
pub fn split_registry(full: &str) -> (&str, &str) {
    match full.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => ("", full),
    }
}

/// Everything that names and labels one image.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    pub image: ImageRef,
    /// Whether the reference came from a flag or the environment rather
    /// than defaults (then `push` uses it instead of the recorded one).
    pub explicit_reference: bool,
    pub version: String,
    pub template: Option<(Template, String)>,
    pub revision: String,
    pub source_date_epoch: i64,
    pub out_dir: PathBuf,
}

impl ImageSettings {
    /// The unified image and the project's MCP server images beside it
    /// (`build-image --all`, `push --all`).
    pub fn resolve_all(options: &ImageOptions) -> Result<Vec<Self>> {
        if options.template.is_some() {
            bail!(
                "--all builds the unified image and the MCP server images; it takes no --template"
            );
        }
        let agent = Self::resolve(options)?;
        let mut all = vec![agent.clone()];
        all.extend(MCP_SERVERS.iter().map(|server| agent.mcp_beside(server)));
        Ok(all)
    }

    pub fn resolve(options: &ImageOptions) -> Result<Self> {
        // A project MCP server's image is named after the unified image,
        // unless --image names it.
        if let (Some(Template::Mcp), Some(binary), None) =
            (options.template, &options.binary, &options.image)
            && let Some(server) = mcp_server(binary)
        {
            let agent = Self::resolve(&ImageOptions {
                template: None,
                binary: None,
                ..options.clone()
            })?;
            return Ok(agent.mcp_beside(&server));
        }
        let version_explicit = options.version.clone().or_else(|| env_var("VERSION"));
        let registry_explicit = options.registry.clone().or_else(|| env_var("REGISTRY"));
        let version = version_explicit
            .clone()
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
        let registry = registry_explicit
            .clone()
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_owned());
        let registry = registry.trim_end_matches('/');
        let template = options.template.zip(options.binary.clone());
        let image_explicit = match &template {
            None => options.image.clone().or_else(|| env_var("AGENT_IMG")),
            Some(_) => options.image.clone(),
        };
        let default_repository = match &template {
            None => AGENT_REPOSITORY,
            Some((_, binary)) => binary.as_str(),
        };
        let reference = image_explicit
            .clone()
            .unwrap_or_else(|| format!("{registry}/{default_repository}:{version}"));
        Ok(Self {
            image: ImageRef::parse(&reference)?,
            explicit_reference: image_explicit.is_some()
                || version_explicit.is_some()
                || registry_explicit.is_some(),
            version,
            template,
            revision: options.revision.clone().unwrap_or_else(git_revision),
            source_date_epoch: source_date_epoch()?,
            out_dir: options
                .out_dir
                .clone()
                .unwrap_or_else(|| target_dir().join("image")),
        })
    }

    /// The image of `server` beside this (unified) image, with the same
    /// inputs and output directory.
    fn mcp_beside(&self, server: &McpServer) -> Self {
        Self {
            image: server.image_beside(&self.image),
            template: Some((Template::Mcp, server.binary.to_owned())),
            ..self.clone()
        }
    }

    /// File stem for this image's archive and record under `target/image`.
    pub fn artifact_name(&self) -> String {
        match &self.template {
            None => AGENT_REPOSITORY.to_owned(),
            Some((template, binary)) => format!("{}-{binary}", template.name()),
        }
    }

    /// Where the last build of this image is recorded.
    pub fn record_path(&self) -> PathBuf {
        match &self.template {
            None => self.out_dir.join(AGENT_RECORD),
            Some(_) => self.out_dir.join(record_file_name(&self.artifact_name())),
        }
    }

    pub fn archive_path(&self) -> PathBuf {
        self.out_dir
            .join(format!("{}.oci.tar", self.artifact_name()))
    }

    /// The staged build context of this image.
    pub fn context_dir(&self) -> PathBuf {
        self.out_dir.join("context").join(self.artifact_name())
    }

    /// RFC 3339 form of `SOURCE_DATE_EPOCH`, the `created` of the image.
    pub fn created(&self) -> Result<String> {
        let time = chrono::DateTime::from_timestamp(self.source_date_epoch, 0)
            .context("SOURCE_DATE_EPOCH out of range")?;
        Ok(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    /// The `org.opencontainers.image.*` labels, as the Containerfiles set
    /// them from the build arguments.
    pub fn labels(&self) -> Result<Vec<(String, String)>> {
        let (title, description) = match &self.template {
            None => (
                AGENT_REPOSITORY.to_owned(),
                "Self-service agent: db-migrate, register-assets and the request service, \
                 static binaries on scratch"
                    .to_owned(),
            ),
            Some((template, binary)) => (binary.clone(), template_description(*template, binary)),
        };
        let prefix = "org.opencontainers.image";
        Ok(vec![
            (format!("{prefix}.created"), self.created()?),
            (format!("{prefix}.description"), description),
            (
                format!("{prefix}.licenses"),
                env!("CARGO_PKG_LICENSE").to_owned(),
            ),
            (format!("{prefix}.revision"), self.revision.clone()),
            (
                format!("{prefix}.source"),
                env!("CARGO_PKG_REPOSITORY").to_owned(),
            ),
            (format!("{prefix}.title"), title),
            (format!("{prefix}.version"), self.version.clone()),
        ])
    }
}

/// The record of the unified image's last build, under the output directory.
pub const AGENT_RECORD: &str = "last-build.json";

/// The record of a template image's last build (`artifact` is
/// `<template>-<binary>`), under the output directory.
pub fn record_file_name(artifact: &str) -> String {
    format!("last-build-{artifact}.json")
}

pub fn template_description(template: Template, binary: &str) -> String {
    match template {
        Template::Services => format!("{binary}: one static binary on scratch"),
        Template::Mcp => format!("{binary}: MCP server, one static binary on scratch"),
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// `SOURCE_DATE_EPOCH`, else the commit time of `HEAD`, else 0.
fn source_date_epoch() -> Result<i64> {
    if let Some(value) = env_var("SOURCE_DATE_EPOCH") {
        return value
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={value:?} is not a number of seconds"));
    }
    Ok(git(&["log", "-1", "--format=%ct", "HEAD"])
        .and_then(|out| out.parse().ok())
        .unwrap_or(0))
}

fn git_revision() -> String {
    git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .current_dir(root())
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_with_registry_port_splits_at_the_tag() {
        let image = ImageRef::parse("127.0.0.1:5000/team/agent:1.2.3").unwrap();
        assert_eq!(image.repository, "127.0.0.1:5000/team/agent");
        assert_eq!(image.tag, "1.2.3");
        assert_eq!(image.registry_host(), "127.0.0.1:5000");
    }

    #[test]
    fn reference_without_tag_is_latest() {
        let image = ImageRef::parse("127.0.0.1:5000/agent").unwrap();
        assert_eq!(image.repository, "127.0.0.1:5000/agent");
        assert_eq!(image.tag, "latest");
    }

    #[test]
    fn reference_without_registry_is_pushed_to_docker_hub() {
        let image = ImageRef::parse("team/agent:1").unwrap();
        assert_eq!(image.registry_host(), "docker.io");
    }

    #[test]
    fn digest_references_are_refused() {
        assert!(ImageRef::parse("quay.io/a/b@sha256:00").is_err());
        assert!(ImageRef::parse("quay.io/a/B:1").is_err());
    }
}
