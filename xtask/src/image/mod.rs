//! `cargo xtask build-image` and `cargo xtask push`.
//!
//! `build-image` builds the static musl binaries, stages them with the CA
//! bundle and the asset directory into `target/image/context/<name>`, and
//! builds the image from the Containerfile with podman, buildah or docker,
//! or writes the OCI archive itself when there is no container tool. The
//! result is `target/image/<name>.oci.tar` and a record of its reference and
//! digest in `target/image/last-build.json` (`last-build-<name>.json` for
//! template images). `push` sends that archive to the registry. With
//! `--all`, both do so for the unified image and the project's MCP server
//! images (`mcp.rs`), one after the other.

mod mcp;
mod oci;
mod record;
mod registry;
mod settings;
mod spec;
mod stage;
mod tool;

use anyhow::{Context, Result, bail};
use clap::Args;

pub use mcp::{MCP_SERVERS, McpServer, mcp_server};
use record::BuildRecord;
pub use settings::{AGENT_RECORD, split_registry};
use settings::{ImageOptions, ImageRef, ImageSettings};
use tool::Tool;

use crate::workspace::{has_program, run_command};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    image: ImageOptions,
    /// Build the unified image and the MCP server images (mcp-employee-info,
    /// mcp-snow) named after it.
    #[arg(long, conflicts_with_all = ["template", "binary"])]
    all: bool,
    /// Container tool [env: CONTAINER_TOOL; default: podman, docker, buildah, whichever is found first, else none]
    #[arg(long, value_enum)]
    tool: Option<Tool>,
    /// Rebuild every layer instead of reusing docker's cache (podman and
    /// buildah never use their layer cache here, see tool.rs).
    #[arg(long)]
    no_cache: bool,
    /// Package the binaries already in target/ instead of running cargo.
    #[arg(long)]
    no_cargo: bool,
    /// Print the resolved settings and stop.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    image: ImageOptions,
    /// Push the unified image and the MCP server images built with
    /// `build-image --all`; --image (or AGENT_IMG) names the unified
    /// image's destination, the MCP images go beside it.
    #[arg(long, conflicts_with_all = ["template", "binary"])]
    all: bool,
    /// Container tool [env: CONTAINER_TOOL]; with none (or without skopeo)
    /// the archive goes through the registry API.
    #[arg(long, value_enum)]
    tool: Option<Tool>,
    /// Allow plain HTTP and unverified TLS (a local registry).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    tls_verify: bool,
}

/// The images `--all` selects, else the one the options name.
fn selected(options: &ImageOptions, all: bool) -> Result<Vec<ImageSettings>> {
    if all {
        ImageSettings::resolve_all(options)
    } else {
        Ok(vec![ImageSettings::resolve(options)?])
    }
}

/// `cargo xtask build-image`: prints `repository@digest` (or the reference
/// when the digest is not known yet) of each image built, one a line.
pub fn build(args: BuildArgs) -> Result<()> {
    let tool = Tool::select(args.tool)?;
    for settings in selected(&args.image, args.all)? {
        build_one(&settings, tool, &args)?;
    }
    Ok(())
}

fn build_one(settings: &ImageSettings, tool: Tool, args: &BuildArgs) -> Result<()> {
    let spec = spec::image_spec(settings)?;
    if args.dry_run {
        println!("IMAGE={}", settings.image.reference());
        println!("VERSION={}", settings.version);
        println!("CONTAINER_TOOL={}", tool.name());
        println!("SOURCE_DATE_EPOCH={}", settings.source_date_epoch);
        println!("REVISION={}", settings.revision);
        println!("ARCHIVE={}", settings.archive_path().display());
        println!("RECORD={}", settings.record_path().display());
        return Ok(());
    }
    if !args.no_cargo {
        stage::build_binaries(&spec.packages, spec.profile)?;
    }
    let context = stage::stage_context(&spec, &settings.context_dir())?;
    let reference = settings.image.reference();
    let archive = settings.archive_path();
    let digest = match tool {
        Tool::None => Some(oci::write_archive(
            &spec,
            &context.join("rootfs"),
            &reference,
            settings.source_date_epoch,
            &settings.created()?,
            &archive,
        )?),
        Tool::Podman | Tool::Buildah | Tool::Docker => {
            tool.build(
                &spec,
                &context,
                &reference,
                settings.source_date_epoch,
                args.no_cache,
            )?;
            // docker keeps images in its daemon: the digest is known at push.
            if tool == Tool::Docker {
                None
            } else {
                let digest_file = settings
                    .out_dir
                    .join(format!("{}.digest", settings.artifact_name()));
                Some(tool.export_archive(&reference, &archive, &digest_file)?)
            }
        }
    };
    let record = BuildRecord {
        reference: reference.clone(),
        repository: settings.image.repository.clone(),
        tag: settings.image.tag.clone(),
        digest,
        archive: (tool != Tool::Docker).then_some(archive),
        builder: tool.name().to_owned(),
        version: settings.version.clone(),
        revision: settings.revision.clone(),
        source_date_epoch: settings.source_date_epoch,
        pushed: None,
    };
    record.write(&settings.record_path())?;
    eprintln!(
        "built {} (recorded in {})",
        record.pinned(),
        settings.record_path().display()
    );
    println!("{}", record.pinned());
    Ok(())
}

/// `cargo xtask push`: prints the digest the registry reports for each
/// image pushed, one a line.
pub fn push(args: PushArgs) -> Result<()> {
    let tool = Tool::select(args.tool)?;
    for settings in selected(&args.image, args.all)? {
        push_one(&settings, tool, args.tls_verify)?;
    }
    Ok(())
}

fn push_one(settings: &ImageSettings, tool: Tool, tls_verify: bool) -> Result<()> {
    let record_path = settings.record_path();
    let mut record = BuildRecord::read(&record_path)?;
    // Explicit VERSION/REGISTRY/AGENT_IMG name the destination; otherwise
    // the image goes where it was named at build time.
    let destination = if settings.explicit_reference {
        settings.image.clone()
    } else {
        ImageRef::parse(&record.reference)?
    };
    let credentials = registry::credentials(&destination)?;
    let digest = match (tool, &record.archive) {
        (Tool::Docker, _) => {
            if destination.reference() != record.reference {
                run_command(std::process::Command::new("docker").args([
                    "tag",
                    &record.reference,
                    &destination.reference(),
                ]))?;
            }
            registry::push_with_docker(&destination, credentials.as_ref())?
        }
        (_, None) => bail!(
            "{} has no OCI archive to push (built with docker?)",
            record_path.display()
        ),
        (Tool::Podman | Tool::Buildah, Some(archive)) if has_program("skopeo") => {
            registry::push_with_skopeo(archive, &destination, credentials.as_ref(), tls_verify)?
        }
        (_, Some(archive)) => {
            let archive = oci::OciArchive::open(archive)?;
            if record
                .digest
                .as_deref()
                .is_some_and(|digest| digest != archive.manifest_digest)
            {
                bail!(
                    "{} changed since it was recorded; build the image again",
                    record_path.display()
                );
            }
            registry::push_native(&archive, &destination, credentials.as_ref(), tls_verify)?
        }
    };
    if record
        .digest
        .as_deref()
        .is_some_and(|recorded| recorded != digest)
    {
        bail!(
            "the registry reports {digest} for {}, but the archive's digest is {}",
            destination.reference(),
            record.digest.as_deref().unwrap_or_default()
        );
    }
    record.reference = destination.reference();
    record.repository = destination.repository.clone();
    record.tag = destination.tag.clone();
    record.digest = Some(digest.clone());
    record.pushed = Some(format!("{}@{digest}", destination.repository));
    record
        .write(&record_path)
        .with_context(|| format!("updating {}", record_path.display()))?;
    eprintln!("pushed {}@{digest}", destination.reference());
    println!("{digest}");
    Ok(())
}
