//! The whole test suite on a fresh machine: provision, then `cargo test`
//! over the workspace with every optional part required (tests that would
//! skip for a missing tool fail instead under `SSA_REQUIRE_ALL=1`).

use std::fs;
use std::process::Command;

use anyhow::Result;
use clap::Args;

use crate::workspace::{root, run_command, target_dir};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Skip provisioning (packages, targets, venvs already in place).
    #[arg(long)]
    no_provision: bool,
    /// Extra arguments for `cargo test` (after `--`).
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

pub fn run(args: TestArgs) -> Result<()> {
    if !args.no_provision {
        crate::provision::run()?;
    }
    let containers_conf = sandbox_containers_conf()?;
    run_command(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
            .args(&args.cargo_args)
            .env("SSA_REQUIRE_ALL", "1")
            .env("CONTAINERS_CONF", containers_conf),
    )
}

/// Container runtimes in this CI sandbox cannot set rlimits: podman gets a
/// configuration (`CONTAINERS_CONF`) without default ulimits. Test setup
/// only, never the product.
pub const SANDBOX_CONTAINERS_CONF: &str = "[containers]\ndefault_ulimits = []\n";

fn sandbox_containers_conf() -> Result<std::path::PathBuf> {
    let path = target_dir().join("containers.conf");
    fs::create_dir_all(target_dir())?;
    fs::write(&path, SANDBOX_CONTAINERS_CONF)?;
    Ok(path)
}
