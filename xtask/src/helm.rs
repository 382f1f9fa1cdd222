//! `cargo xtask helm template|lint|install|uninstall|status`: the `helm` CLI
//! as users have it, on the chart in `helm/`, with the image that
//! `build-image` recorded in `target/image/last-build.json` injected (pinned
//! by digest when the record has one). Extra arguments after `--` go to helm
//! unchanged, so anything helm can do stays reachable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::image::split_registry;
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
    /// Leave the image to the chart's values instead of injecting the one
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
        let mut args = vec![
            format!("image.registry={}", self.registry),
            format!("image.repository={}", self.repository),
            format!("image.tag={}", self.tag),
        ];
        if let Some(digest) = &self.digest {
            args.push(format!("image.digest={digest}"));
        }
        args.into_iter()
            .flat_map(|pair| ["--set-string".to_owned(), pair])
            .collect()
    }
}

/// Where `build-image` records what it built.
pub fn build_record_path() -> PathBuf {
    target_dir().join("image").join("last-build.json")
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

/// The helm command line (without the program) for `cmd`.
pub fn helm_argv(cmd: &HelmCommand, chart: &Path, image: Option<&BuiltImage>) -> Vec<OsString> {
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
    if let Some(image) = image.filter(|_| cmd.renders()) {
        argv.extend(image.set_args().into_iter().map(OsString::from));
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
        &build_record_path(),
    )
}

/// [`run`] with explicit paths (for tests).
pub fn run_with(cmd: &HelmCommand, helm: &Path, chart: &Path, record: &Path) -> Result<()> {
    let image = if cmd.renders() && !cmd.args().no_built_image {
        let image = read_built_image(record)?;
        match &image {
            Some(image) => eprintln!(
                "image from {}: {}/{}:{}{}",
                record.display(),
                image.registry,
                image.repository,
                image.tag,
                image
                    .digest
                    .as_deref()
                    .map(|d| format!(" @{d}"))
                    .unwrap_or_default()
            ),
            None => eprintln!(
                "no {} (run `cargo xtask build-image`): using the chart's image values",
                record.display()
            ),
        }
        image
    } else {
        None
    };
    let mut command = Command::new(helm);
    command.args(helm_argv(cmd, chart, image.as_ref()));
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
