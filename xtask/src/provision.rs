//! Makes a fresh machine of the CI kind able to run every test:
//! - the Debian packages listed in `ci/apt-packages.txt` (when root),
//! - the `x86_64-unknown-linux-musl` Rust target (static binaries),
//! - one Python venv per `ci/python/<name>.txt` at `target/venv/<name>`,
//!   built with the pyenv version named in `ci/python/<name>.python` when
//!   that file exists, else `python3`,
//! - tiktoken's `cl100k_base` encoding at `target/tiktoken-cache/`, which
//!   LlamaStack 0.7.3 and OGX load at start (they would download it; CI has
//!   no internet but PyPI): taken out of a PyPI wheel that ships it, checked
//!   against tiktoken's own sha256, for servers started with
//!   `TIKTOKEN_CACHE_DIR` there.
//!
//! Every step checks first and does nothing when already satisfied.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest as _, Sha256};

use crate::workspace::{has_program, root, run_command, target_dir};

pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn run() -> Result<()> {
    apt_packages()?;
    rust_target()?;
    python_venvs()?;
    tiktoken_cache()
}

fn apt_packages() -> Result<()> {
    let list = fs::read_to_string(root().join("ci/apt-packages.txt"))?;
    let wanted: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !has_program("apt-get") {
        bail!("missing packages {missing:?} and no apt-get to install them");
    }
    run_command(Command::new("apt-get").args(["update", "-q"]))?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

fn rust_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == MUSL_TARGET)
    {
        return Ok(());
    }
    run_command(Command::new("rustup").args(["target", "add", MUSL_TARGET]))
}

/// `target/venv/<name>`.
pub fn venv_dir(name: &str) -> PathBuf {
    target_dir().join("venv").join(name)
}

fn python_venvs() -> Result<()> {
    let dir = root().join("ci/python");
    let mut requirements: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    requirements.sort();
    for file in requirements {
        python_venv(&file)?;
    }
    Ok(())
}

fn python_venv(requirements: &Path) -> Result<()> {
    let name = requirements
        .file_stem()
        .and_then(|stem| stem.to_str())
        .context("requirements file name")?;
    let python = interpreter(&requirements.with_extension("python"))?;
    let venv = venv_dir(name);
    // The stamp is the requirements and interpreter it was built from.
    let wanted = format!(
        "{}\n{}",
        python.display(),
        fs::read_to_string(requirements)?
    );
    let stamp = venv.join(".provisioned");
    if fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)?;
    }
    run_command(Command::new(&python).arg("-m").arg("venv").arg(&venv))?;
    let pip = venv.join("bin/pip");
    run_command(Command::new(&pip).args(["install", "-q", "--upgrade", "pip"]))?;
    run_command(
        Command::new(&pip)
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(requirements),
    )?;
    fs::write(&stamp, wanted)?;
    Ok(())
}

fn interpreter(version_file: &Path) -> Result<PathBuf> {
    let Ok(version) = fs::read_to_string(version_file) else {
        return Ok(PathBuf::from("python3"));
    };
    let version = version.trim();
    let home = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")))
        .context("neither PYENV_ROOT nor HOME is set")?;
    let python = home.join("versions").join(version).join("bin/python");
    if !python.is_file() {
        bail!(
            "{} asks for Python {version}, not found at {}",
            version_file.display(),
            python.display()
        );
    }
    Ok(python)
}

/// `target/tiktoken-cache`: a `TIKTOKEN_CACHE_DIR` holding `cl100k_base`.
pub fn tiktoken_cache_dir() -> PathBuf {
    target_dir().join("tiktoken-cache")
}

/// tiktoken's cache key of `cl100k_base`: the sha1 of its download URL.
pub const CL100K_BASE_FILE: &str = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4";
/// The sha256 tiktoken expects of `cl100k_base` (`tiktoken_ext/openai_public.py`).
const CL100K_BASE_SHA256: &str = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7";
/// A wheel on PyPI that ships the file, and where in it.
const CL100K_BASE_WHEEL: &str = "llama-index-core==0.14.25";
const CL100K_BASE_IN_WHEEL: &str =
    "llama_index/core/_static/tiktoken_cache/9b5ad71b2ce5302211f9c61530b329a4922fc6a4";
/// The venv whose pip downloads the wheel and whose Python unzips it.
const TIKTOKEN_VENV: &str = "ogx-1.5.0";
/// Prints one member of a zip file (a wheel) to stdout.
const UNZIP_MEMBER: &str =
    "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";

fn tiktoken_cache() -> Result<()> {
    let dir = tiktoken_cache_dir();
    let file = dir.join(CL100K_BASE_FILE);
    if fs::read(&file).is_ok_and(|data| is_cl100k_base(&data)) {
        return Ok(());
    }
    let python = venv_dir(TIKTOKEN_VENV).join("bin/python");
    let download = tempfile::tempdir().context("a temporary directory for the wheel")?;
    run_command(
        Command::new(&python)
            .args(["-m", "pip", "download", "-q", "--no-deps"])
            .args(["--disable-pip-version-check", CL100K_BASE_WHEEL, "-d"])
            .arg(download.path()),
    )?;
    let wheel = fs::read_dir(download.path())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .with_context(|| format!("pip download {CL100K_BASE_WHEEL} left no wheel"))?;
    let unzipped = Command::new(&python)
        .args(["-c", UNZIP_MEMBER])
        .arg(&wheel)
        .arg(CL100K_BASE_IN_WHEEL)
        .output()
        .with_context(|| format!("starting {}", python.display()))?;
    if !unzipped.status.success() {
        bail!(
            "tiktoken cache: {CL100K_BASE_IN_WHEEL} not read from {}: {}",
            wheel.display(),
            String::from_utf8_lossy(&unzipped.stderr).trim()
        );
    }
    if !is_cl100k_base(&unzipped.stdout) {
        bail!(
            "tiktoken cache: {CL100K_BASE_IN_WHEEL} of {CL100K_BASE_WHEEL} is not cl100k_base \
             (sha256 {}, tiktoken expects {CL100K_BASE_SHA256})",
            hex::encode(Sha256::digest(&unzipped.stdout))
        );
    }
    fs::create_dir_all(&dir)?;
    // whole or not at all: a server never sees half a file
    let partial = dir.join(format!("{CL100K_BASE_FILE}.partial"));
    fs::write(&partial, &unzipped.stdout)?;
    fs::rename(&partial, &file)?;
    eprintln!("tiktoken cache: cl100k_base at {}", file.display());
    Ok(())
}

fn is_cl100k_base(data: &[u8]) -> bool {
    hex::encode(Sha256::digest(data)) == CL100K_BASE_SHA256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_encoding_passes_the_check() {
        assert!(!is_cl100k_base(b""));
        assert!(!is_cl100k_base(b"cl100k_base"));
        assert_eq!(CL100K_BASE_SHA256.len(), 64);
        assert!(CL100K_BASE_IN_WHEEL.ends_with(CL100K_BASE_FILE));
    }
}
