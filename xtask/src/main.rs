//! `cargo xtask <task>`: the command line of the xtask library.

use clap::{Parser, Subcommand};
use xtask::{helm, image, provision, test};

#[derive(Debug, Parser)]
#[command(about = "self-service-agent project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the test suite needs on this machine (apt packages,
    /// the musl target, Python venvs under target/venv); idempotent.
    Provision,
    /// Provision, then run the whole test suite.
    Test(test::TestArgs),
    /// Build the static binaries and the image (podman, docker, buildah, or
    /// an OCI archive written directly); record reference and digest in
    /// target/image/last-build.json. `--all`: also the MCP server images.
    BuildImage(image::BuildArgs),
    /// Push the last built image to its registry and print the digest.
    /// `--all`: also the MCP server images.
    Push(image::PushArgs),
    /// Helm on the chart in helm/, with the images of the last builds injected.
    #[command(subcommand)]
    Helm(helm::HelmCommand),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Provision => provision::run(),
        Task::Test(args) => test::run(args),
        Task::BuildImage(args) => image::build(args),
        Task::Push(args) => image::push(args),
        Task::Helm(cmd) => helm::run(cmd),
    }
}
