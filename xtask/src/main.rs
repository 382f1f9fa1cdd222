//! `cargo xtask <task>`: the command line of the xtask library.

use clap::{Parser, Subcommand};
use xtask::{helm, image, provision, test, up};

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
    /// Run the whole system on this machine (PostgreSQL, LlamaStack, the
    /// MCP servers, the service) on 127.0.0.1, re-registering the assets
    /// when they change; Ctrl-C stops it (docs/local-stack.md).
    Up(up::UpArgs),
    /// Stop what `up --detach` started.
    Down(up::DownArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Provision => provision::run(),
        Task::Test(args) => test::run(args),
        Task::BuildImage(args) => image::build(args),
        Task::Push(args) => image::push(args),
        Task::Helm(cmd) => helm::run(cmd),
        Task::Up(args) => one_line(up::run(args)),
        Task::Down(args) => one_line(up::down(args)),
    }
}

/// `up` and `down` fail with one line, whatever `RUST_BACKTRACE` says
/// (docs/local-stack.md, "Failures").
fn one_line(result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(error) = result {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
    Ok(())
}
