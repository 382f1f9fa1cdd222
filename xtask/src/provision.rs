//! Makes a fresh machine of the CI kind able to run every test:
//! - the Debian packages listed in `ci/apt-packages.txt` (when root),
//! - the `x86_64-unknown-linux-musl` Rust target (static binaries),
//! - one Python venv per `ci/python/<name>.txt` at `target/venv/<name>`,
//!   built with the pyenv version named in `ci/python/<name>.python` when
//!   that file exists, else `python3`.
//!
//! Every step checks first and does nothing when already satisfied.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace::{has_program, root, run_command, target_dir};

pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn run() -> Result<()> {
    apt_packages()?;
    rust_target()?;
    python_venvs()
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
