//! The images the tests run, built by `cargo xtask build-image` once per
//! test process: the unified image and the two MCP server images with
//! podman (`--all`, binaries built by cargo), and the unified image as the
//! archive xtask writes without a container tool.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use xtask::image::{AGENT_RECORD, MCP_SERVERS, McpServer};

use super::{inputs, once, run_ok, scratch_dir, xtask};

/// One `cargo xtask build-image` result.
#[derive(Debug, Clone)]
pub struct Built {
    pub reference: String,
    pub digest: String,
    pub archive: PathBuf,
    pub record: Value,
    pub out_dir: PathBuf,
}

impl Built {
    /// The build recorded in `out_dir/record_name`.
    pub fn read(out_dir: &Path, record_name: &str) -> Self {
        let record: Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join(record_name)).unwrap())
                .unwrap();
        Self {
            reference: record["reference"].as_str().unwrap().to_owned(),
            digest: record["digest"].as_str().unwrap().to_owned(),
            archive: PathBuf::from(record["archive"].as_str().unwrap()),
            record,
            out_dir: out_dir.to_path_buf(),
        }
    }

    /// `repository@digest`, as `build-image` prints it.
    pub fn pinned(&self) -> String {
        format!(
            "{}@{}",
            self.record["repository"].as_str().unwrap(),
            self.digest
        )
    }
}

/// `cargo xtask build-image <args>` into `out_dir`, with this test
/// process's inputs; its stdout.
fn run_build(out_dir: &Path, tool: &str, args: &[&str]) -> String {
    run_ok(
        xtask()
            .args(["build-image", "--tool", tool, "--out-dir"])
            .arg(out_dir)
            .args(["--revision", &inputs().revision])
            .env("SOURCE_DATE_EPOCH", &inputs().epoch)
            .args(args),
    )
}

/// `cargo xtask build-image <args>` into `out_dir`; reads its record.
pub fn build_image(out_dir: &Path, tool: &str, args: &[&str]) -> Built {
    run_build(out_dir, tool, args);
    let record_name = match args.iter().position(|arg| *arg == "--template") {
        None => AGENT_RECORD.to_owned(),
        Some(at) => {
            let binary = args[args.iter().position(|arg| *arg == "--binary").unwrap() + 1];
            format!("last-build-{}-{binary}.json", args[at + 1])
        }
    };
    Built::read(out_dir, &record_name)
}

/// `cargo xtask build-image --all`: what it printed, the unified image and
/// each MCP server's image.
pub struct AllBuilt {
    pub stdout: String,
    pub agent: Built,
    pub mcp: Vec<(McpServer, Built)>,
}

impl AllBuilt {
    /// The image of the MCP server `binary`.
    pub fn mcp(&self, binary: &str) -> &Built {
        self.mcp
            .iter()
            .find(|(server, _)| server.binary == binary)
            .map(|(_, built)| built)
            .unwrap_or_else(|| panic!("no image of {binary}"))
    }
}

/// `cargo xtask build-image --all <args>` into `out_dir`; reads the records.
pub fn build_all(out_dir: &Path, tool: &str, args: &[&str]) -> AllBuilt {
    let stdout = run_build(out_dir, tool, &[&["--all"], args].concat());
    AllBuilt {
        stdout,
        agent: Built::read(out_dir, AGENT_RECORD),
        mcp: MCP_SERVERS
            .into_iter()
            .map(|server| (server, Built::read(out_dir, &server.record_file_name())))
            .collect(),
    }
}

/// The unified image named `localhost/ssa-test/agent:<pid>`, and the MCP
/// images beside it (`...agent-employee-info-mcp:<pid>`, `...agent-snow-mcp:<pid>`),
/// built with podman (binaries built by cargo) once per test process; a
/// failed build fails every test that needs it, without building again.
pub fn all_images() -> &'static AllBuilt {
    static BUILT: OnceLock<Result<AllBuilt, String>> = OnceLock::new();
    once(&BUILT, "the shared image build (--all)", || {
        build_all(
            &scratch_dir().join("podman"),
            "podman",
            &[
                "--image",
                &format!("localhost/ssa-test/agent:{}", std::process::id()),
            ],
        )
    })
}

/// The unified image of [`all_images`].
pub fn agent_image() -> &'static Built {
    &all_images().agent
}

/// The unified image as an OCI archive written without a container tool.
pub fn native_archive() -> &'static Built {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    once(&BUILT, "the shared archive build", || {
        // The binaries come from the podman build (same cargo invocation).
        agent_image();
        build_image(
            &scratch_dir().join("native"),
            "none",
            &[
                "--no-cargo",
                "--image",
                &format!("localhost/ssa-test/native:{}", std::process::id()),
            ],
        )
    })
}
