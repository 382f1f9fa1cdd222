//! The static binaries and the build context: `cargo build` for the musl
//! target (in the image's cargo profile), then a root filesystem staged under `target/image/context/<name>`
//! with normalised permissions (binaries 0755, everything else 0644,
//! directories 0755), so the image does not depend on the host's umask.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::spec::{CA_BUNDLE, ImageSpec};
use crate::provision::MUSL_TARGET;
use crate::workspace::{root, run_command, target_dir};

/// Host CA bundle packaged into the image.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `cargo build --profile <profile> --target x86_64-unknown-linux-musl -p ...`.
pub fn build_binaries(packages: &[String], profile: &str) -> Result<()> {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(root())
        .args(["build", "--profile", profile, "--target", MUSL_TARGET]);
    for package in packages {
        command.args(["-p", package]);
    }
    run_command(&mut command)
}

/// Where cargo puts `package`'s binary in `profile`.
pub fn binary_path(package: &str, profile: &str) -> PathBuf {
    target_dir().join(MUSL_TARGET).join(profile).join(package)
}

/// Stages `<context>/rootfs` for `spec` and returns the context directory.
pub fn stage_context(spec: &ImageSpec, context: &Path) -> Result<PathBuf> {
    if context.exists() {
        fs::remove_dir_all(context)
            .with_context(|| format!("removing the old context {}", context.display()))?;
    }
    let rootfs = context.join("rootfs");
    let bin_dir = rootfs.join("usr/local/bin");
    create_dir(&bin_dir)?;
    for package in &spec.packages {
        let binary = binary_path(package, spec.profile);
        if !binary.is_file() {
            bail!("{} was not built", binary.display());
        }
        copy_file(&binary, &bin_dir.join(package), 0o755)?;
    }
    let ca_bundle = Path::new(HOST_CA_BUNDLE);
    if !ca_bundle.is_file() {
        bail!("no CA bundle at {HOST_CA_BUNDLE} (install the ca-certificates package)");
    }
    let ca_target = rootfs.join(CA_BUNDLE);
    create_dir(ca_target.parent().context("CA bundle path")?)?;
    copy_file(ca_bundle, &ca_target, 0o644)?;
    if spec.with_assets {
        let assets = root().join("assets/config");
        let target = rootfs.join("app/config");
        if assets.is_dir() {
            copy_tree(&assets, &target)?;
        } else {
            eprintln!(
                "warning: {} is missing; the image gets an empty /app/config",
                assets.display()
            );
            create_dir(&target)?;
        }
    }
    Ok(context.to_path_buf())
}

fn create_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<()> {
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Copies regular files and directories; anything else (symlinks, devices)
/// is refused, since it would behave differently in the image.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    create_dir(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            copy_file(&entry.path(), &target, 0o644)?;
        } else {
            bail!(
                "{} is neither a file nor a directory; the asset directory may hold only those",
                entry.path().display()
            );
        }
    }
    Ok(())
}
