//! `with-postgres -- <command> [args...]`: starts a throwaway PostgreSQL
//! cluster, creates a database, runs the command with the `POSTGRES_*`
//! variables (and `DATABASE_URL`) pointing at it, then removes the cluster.
//! For benchmarks and manual runs. The command's exit code is returned.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use test_support::PgCluster;

fn main() -> anyhow::Result<ExitCode> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|arg| arg == "--") {
        args.remove(0);
    }
    let Some((program, program_args)) = args.split_first() else {
        bail!("usage: with-postgres -- <command> [args...]");
    };
    let cluster = PgCluster::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let db = runtime.block_on(test_support::postgres::create_database(
        &cluster.admin_url(),
    ))?;
    let status = Command::new(program)
        .args(program_args)
        .envs(db.env())
        .env("DATABASE_URL", db.url())
        .status()
        .with_context(|| format!("running {program}"))?;
    drop(cluster);
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}
