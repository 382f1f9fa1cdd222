//! `cargo xtask helm template|lint|install|uninstall|status`: the `helm` CLI
//! as users have it, on the chart in `helm/`, with the images that
//! `build-image` recorded injected (pinned by digest when the record has
//! one): the unified image from `target/image/last-build.json`, each MCP
//! server's from `target/image/last-build-mcp-<binary>.json`. Extra
//! arguments after `--` go to helm unchanged, so anything helm can do stays
//! reachable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::image::{AGENT_RECORD, MCP_SERVERS, split_registry};
use crate::workspace::{has_program, root, run_command, target_dir};

/// Release name when none is given.
pub const DEFAULT_RELEASE: &str = "self-service-agent";

#[derive(Debug, Subcommand)]
pub enum HelmCommand {
    /// Render the chart locally (`helm template`), with the built image.
    Template(HelmArgs),
    /// Check the chart (`helm lint --strict`), with the built image.
    Lint(HelmArgs),
    /// Install the release, or upgrade it when it exists
    /// (`helm upgrade --install`), with the built image.
    Install(HelmArgs),
    /// Remove the release (`helm uninstall`); the database is not touched.
    Uninstall(HelmArgs),
    /// Show the release (`helm status`).
    Status(HelmArgs),
}

#[derive(Debug, Clone, Args)]
pub struct HelmArgs {
    /// Release name.
    #[arg(long, default_value = DEFAULT_RELEASE)]
    pub release: String,
    /// Kubernetes namespace; without it helm uses the kubeconfig's.
    #[arg(long, short = 'n', env = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Leave the images to the chart's values instead of injecting those
    /// recorded by `cargo xtask build-image`.
    #[arg(long)]
    pub no_built_image: bool,
    /// Arguments passed to helm unchanged (after `--`), e.g. `-f my-values.yaml`.
    #[arg(last = true)]
    pub helm_args: Vec<OsString>,
}

impl HelmCommand {
    fn args(&self) -> &HelmArgs {
        match self {
            Self::Template(args)
            | Self::Lint(args)
            | Self::Install(args)
            | Self::Uninstall(args)
            | Self::Status(args) => args,
        }
    }

    /// Whether the command renders the chart (and so takes the image).
    fn renders(&self) -> bool {
        matches!(self, Self::Template(_) | Self::Lint(_) | Self::Install(_))
    }
}

/// The image reference of the last build: the part of
/// `target/image/last-build.json` that the chart needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// Registry host (`quay.io`, `localhost:5000`); empty when the repository
    /// names none (Docker Hub style).
    pub registry: String,
    /// Repository inside the registry.
    pub repository: String,
    pub tag: String,
    /// `sha256:<hex>` when known.
    pub digest: Option<String>,
}

impl BuiltImage {
    /// Parses the build record:
    /// `{"reference": "registry/repo:tag", "repository": "registry/repo",
    ///   "tag": "...", "digest": "sha256:..."}` (digest optional, other
    /// fields ignored).
    pub fn from_record(text: &str) -> Result<Self> {
        let record: serde_json::Value =
            serde_json::from_str(text).context("build record is not JSON")?;
        let field = |name: &str| -> Result<Option<String>> {
            match record.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(value)) => Ok(Some(value.clone())),
                Some(other) => bail!("build record: `{name}` is not a string: {other}"),
            }
        };
        let full = field("repository")?
            .filter(|repository| !repository.is_empty())
            .context("build record has no `repository`")?;
        let tag = field("tag")?
            .filter(|tag| !tag.is_empty())
            .context("build record has no `tag`")?;
        let digest = field("digest")?.filter(|digest| !digest.is_empty());
        if let Some(digest) = &digest {
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                bail!("build record: digest {digest:?} is not sha256:<64 lowercase hex>");
            }
        }
        let (registry, repository) = split_registry(&full);
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// `--set-string` pairs for the chart's `image` block. Strings on
    /// purpose: `--set image.tag=1.0` would hand the chart a number.
    pub fn set_args(&self) -> Vec<String> {
        self.set_args_at("image")
    }

    /// `--set-string` pairs for the image block at `prefix`
    /// (`image`, `mcpServers.snow.image`).
    pub fn set_args_at(&self, prefix: &str) -> Vec<String> {
        let mut args = vec![
            format!("{prefix}.registry={}", self.registry),
            format!("{prefix}.repository={}", self.repository),
            format!("{prefix}.tag={}", self.tag),
        ];
        if let Some(digest) = &self.digest {
            args.push(format!("{prefix}.digest={digest}"));
        }
        args.into_iter()
            .flat_map(|pair| ["--set-string".to_owned(), pair])
            .collect()
    }
}

/// What the last builds recorded: the unified image, and the MCP server
/// images (by `mcpServers.<key>` of the chart) that were built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuiltImages {
    pub agent: Option<BuiltImage>,
    pub mcp: Vec<(&'static str, BuiltImage)>,
}

impl BuiltImages {
    /// The records in `dir` (`target/image`); a missing record is an image
    /// not built yet.
    pub fn read(dir: &Path) -> Result<Self> {
        let mut images = Self {
            agent: read_built_image(&dir.join(AGENT_RECORD))?,
            mcp: Vec::new(),
        };
        for server in MCP_SERVERS {
            if let Some(image) = read_built_image(&dir.join(server.record_file_name()))? {
                images.mcp.push((server.values_key, image));
            }
        }
        Ok(images)
    }

    /// `--set-string` pairs for every recorded image.
    pub fn set_args(&self) -> Vec<String> {
        let mut args = self
            .agent
            .as_ref()
            .map(BuiltImage::set_args)
            .unwrap_or_default();
        for (key, image) in &self.mcp {
            args.extend(image.set_args_at(&format!("mcpServers.{key}.image")));
        }
        args
    }
}

/// Where `build-image` records what it built.
pub fn build_records_dir() -> PathBuf {
    target_dir().join("image")
}

/// The recorded image, `None` when nothing was built yet.
pub fn read_built_image(path: &Path) -> Result<Option<BuiltImage>> {
    match std::fs::read_to_string(path) {
        Ok(text) => BuiltImage::from_record(&text)
            .map(Some)
            .with_context(|| format!("reading {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Says on stderr which images the chart gets, and which it keeps its own.
fn report(images: &BuiltImages, records: &Path) {
    let shown = |image: &BuiltImage| {
        let digest = image.digest.as_deref().map(|d| format!(" @{d}"));
        format!(
            "{}/{}:{}{}",
            image.registry,
            image.repository,
            image.tag,
            digest.unwrap_or_default()
        )
    };
    match &images.agent {
        Some(image) => eprintln!("image from {}: {}", records.display(), shown(image)),
        None => eprintln!(
            "no {} in {} (run `cargo xtask build-image`): using the chart's image values",
            AGENT_RECORD,
            records.display()
        ),
    }
    for server in MCP_SERVERS {
        match images.mcp.iter().find(|(key, _)| *key == server.values_key) {
            Some((key, image)) => eprintln!("mcpServers.{key}.image: {}", shown(image)),
            None => eprintln!(
                "no {} (run `cargo xtask build-image --all`): mcpServers.{}.image from the chart's values",
                server.record_file_name(),
                server.values_key
            ),
        }
    }
}

/// The helm command line (without the program) for `cmd`.
pub fn helm_argv(cmd: &HelmCommand, chart: &Path, images: Option<&BuiltImages>) -> Vec<OsString> {
    let args = cmd.args();
    let mut argv: Vec<OsString> = Vec::new();
    let mut push = |arg: &str| argv.push(arg.into());
    match cmd {
        HelmCommand::Template(_) => {
            push("template");
            push(&args.release);
        }
        HelmCommand::Lint(_) => {
            push("lint");
        }
        HelmCommand::Install(_) => {
            push("upgrade");
            push("--install");
            push(&args.release);
        }
        HelmCommand::Uninstall(_) => {
            push("uninstall");
            push(&args.release);
        }
        HelmCommand::Status(_) => {
            push("status");
            push(&args.release);
        }
    }
    if cmd.renders() {
        argv.push(chart.as_os_str().to_owned());
    }
    if matches!(cmd, HelmCommand::Lint(_)) {
        argv.push("--strict".into());
    }
    if let Some(namespace) = &args.namespace {
        argv.push("--namespace".into());
        argv.push(namespace.into());
    }
    if let Some(images) = images.filter(|_| cmd.renders()) {
        argv.extend(images.set_args().into_iter().map(OsString::from));
    }
    argv.extend(args.helm_args.iter().cloned());
    argv
}

/// Runs `cmd` with the `helm` on `PATH` (or `$HELM`).
pub fn run(cmd: HelmCommand) -> Result<()> {
    let helm = std::env::var_os("HELM").unwrap_or_else(|| "helm".into());
    run_with(
        &cmd,
        Path::new(&helm),
        &root().join("helm"),
        &build_records_dir(),
    )
}

/// [`run`] with explicit paths (for tests): `records` is the directory of
/// the build records.
pub fn run_with(cmd: &HelmCommand, helm: &Path, chart: &Path, records: &Path) -> Result<()> {
    let images = if cmd.renders() && !cmd.args().no_built_image {
        let images = BuiltImages::read(records)?;
        report(&images, records);
        Some(images)
    } else {
        None
    };
    let mut command = Command::new(helm);
    command.args(helm_argv(cmd, chart, images.as_ref()));
    run_command(&mut command).map_err(|error| {
        if helm.components().count() == 1 && !has_program(&helm.to_string_lossy()) {
            error.context(format!(
                "`{}` is not on PATH: install Helm (https://helm.sh/docs/intro/install/) or set HELM",
                helm.display()
            ))
        } else {
            error
        }
    })
}
