//! What the image and chart tests share: running xtask and podman the way
//! the CI sandbox needs (test setup only), building the images once per
//! test process, and reading OCI archives. Beside it: `chart` (the chart's
//! release, binaries and rendered pods), `render` (render.py),
//! `pod` (a rendered container run with podman as the kubelet would),
//! `container` (a detached container), `registry` (a local registry and a
//! credential helper), `images` (the images built once per test process),
//! `stack` (a `cargo xtask up` stack of the test's own).

#![allow(dead_code, clippy::unwrap_used)]

pub mod chart;
pub mod container;
pub mod images;
pub mod pod;
pub mod registry;
pub mod render;
pub mod stack;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// A tool the test needs: `true` when present. When absent the test is
/// skipped visibly, or fails under `SSA_REQUIRE_ALL=1`.
pub fn require(tools: &[&str], test: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !has_program(tool))
        .collect();
    if missing.is_empty() {
        return true;
    }
    test_support::skip_unless_required(test, &format!("{} not installed", missing.join(", ")));
    false
}

pub use xtask::workspace::has_program;

/// The sandbox's podman cannot set rlimits: unless the caller already
/// points CONTAINERS_CONF somewhere (`cargo xtask test` does), use a
/// configuration without default ulimits. Test setup only.
fn containers_conf() -> PathBuf {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        if let Some(path) = std::env::var_os("CONTAINERS_CONF") {
            return PathBuf::from(path);
        }
        let path = scratch_dir().join("containers.conf");
        std::fs::write(&path, xtask::test::SANDBOX_CONTAINERS_CONF).unwrap();
        path
    })
    .clone()
}

/// `$TMPDIR/ssa-image-test-<pid>`, this test process's archives and
/// contexts. Directories and `localhost/ssa-test/*:<pid>` images that
/// earlier, finished test processes left behind are removed first.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        remove_leftovers();
        let dir = std::env::temp_dir().join(format!("ssa-image-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn process_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

fn remove_leftovers() {
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("ssa-image-test-")
                && !process_alive(pid)
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    if !has_program("podman") {
        return;
    }
    let listed = Command::new("podman")
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .args(["--filter", "reference=localhost/ssa-test/*"])
        .output();
    if let Ok(listed) = listed {
        for reference in String::from_utf8_lossy(&listed.stdout).lines() {
            let pid = reference.rsplit(':').next().unwrap_or_default();
            if !pid.is_empty() && !process_alive(pid) {
                remove_image(reference);
            }
        }
    }
}

/// What every image build of this test process shares, frozen at its
/// start: the commit and SOURCE_DATE_EPOCH (so a commit landing while the
/// tests run does not change the labels between two builds).
pub struct Inputs {
    pub revision: String,
    pub epoch: String,
}

pub fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let git = |args: &[&str]| {
            let output = Command::new("git")
                .current_dir(xtask::workspace::root())
                .args(args)
                .output()
                .unwrap();
            assert!(output.status.success(), "git {args:?}");
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        };
        Inputs {
            revision: git(&["rev-parse", "HEAD"]),
            epoch: git(&["log", "-1", "--format=%ct", "HEAD"]),
        }
    })
}

/// `podman` with the sandbox configuration.
pub fn podman() -> Command {
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", containers_conf());
    command
}

/// `podman run --rm --runtime runc --read-only --network host` (runc: the
/// sandbox's quirk, test setup only).
pub fn podman_run() -> Command {
    let mut command = podman();
    command.args([
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--read-only",
        "--network",
        "host",
    ]);
    command
}

/// `cargo xtask` with none of the user's image settings leaking in.
pub fn xtask() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    for var in [
        "VERSION",
        "REGISTRY",
        "AGENT_IMG",
        "CONTAINER_TOOL",
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
        "REGISTRY_AUTH_FILE",
    ] {
        command.env_remove(var);
    }
    command.env("CONTAINERS_CONF", containers_conf());
    command
}

pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("starting {command:?}: {error}"))
}

/// A finished command's status and output, for a failure message.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs, panicking with its output when it fails; returns stdout.
pub fn run_ok(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `init`'s result, computed once per test process and shared by every
/// test that asks; when `init` panics, each of them fails with its message
/// instead of running it again.
pub fn once<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    what: &str,
    init: impl FnOnce() -> T,
) -> &'static T {
    let result = cell.get_or_init(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(init)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "it panicked".to_owned())
        })
    });
    match result {
        Ok(value) => value,
        Err(message) => panic!("{what} failed: {message}"),
    }
}

/// A file in an image layer, as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LayerFile {
    pub layer: usize,
    pub path: String,
    pub directory: bool,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: u64,
}

/// An OCI archive's manifest, config and layer contents.
pub struct Archive {
    pub manifest_digest: String,
    /// Bytes of the manifest and of the config blob.
    pub manifest_size: u64,
    pub config_size: u64,
    pub manifest: Value,
    pub config: Value,
    pub files: Vec<LayerFile>,
    /// Compressed and uncompressed size of each layer.
    pub layer_sizes: Vec<(u64, u64)>,
}

impl Archive {
    /// What a registry stores: the gzip layers, the config and the manifest.
    pub fn compressed_size(&self) -> u64 {
        self.layer_sizes
            .iter()
            .map(|(compressed, _)| compressed)
            .sum::<u64>()
            + self.config_size
            + self.manifest_size
    }
}

pub fn read_archive(path: &Path) -> Archive {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(path).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            entries.insert(name, data);
        }
    }
    let blob = |digest: &str| -> &Vec<u8> {
        &entries[&format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))]
    };
    let index: Value = serde_json::from_slice(&entries["index.json"]).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let manifest_blob = blob(&manifest_digest);
    let manifest: Value = serde_json::from_slice(manifest_blob).unwrap();
    let config_blob = blob(manifest["config"]["digest"].as_str().unwrap());
    let config: Value = serde_json::from_slice(config_blob).unwrap();
    let (manifest_size, config_size) = (manifest_blob.len() as u64, config_blob.len() as u64);
    let mut files = Vec::new();
    let mut layer_sizes = Vec::new();
    for (layer, descriptor) in manifest["layers"].as_array().unwrap().iter().enumerate() {
        let compressed = blob(descriptor["digest"].as_str().unwrap());
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut tar_bytes)
            .unwrap();
        layer_sizes.push((compressed.len() as u64, tar_bytes.len() as u64));
        let mut layer_tar = tar::Archive::new(tar_bytes.as_slice());
        for entry in layer_tar.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            files.push(LayerFile {
                layer,
                path: entry
                    .path()
                    .unwrap()
                    .to_string_lossy()
                    .trim_end_matches('/')
                    .to_owned(),
                directory: header.entry_type().is_dir(),
                mode: header.mode().unwrap() & 0o7777,
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                size: header.size().unwrap(),
                mtime: header.mtime().unwrap(),
            });
        }
    }
    files.sort();
    Archive {
        manifest_digest,
        manifest_size,
        config_size,
        manifest,
        config,
        files,
        layer_sizes,
    }
}

/// Removes a podman image, ignoring whether it existed. (Plain podman: it
/// runs no container, and `scratch_dir` calls it while initialising.)
pub fn remove_image(reference: &str) {
    let _ = Command::new("podman")
        .args(["rmi", "--force", reference])
        .output();
}
