//! `register-assets`: the asset registration Job. Loads the asset directory
//! (all of it is validated: the service runs its agents), waits for
//! LlamaStack, reconciles the knowledge bases into it as vector stores
//! (create what is missing, replace what changed, leave the rest alone) and
//! prints a one-line summary. Exit codes: 0 done, 78 invalid asset
//! directory or settings, 69 LlamaStack unavailable, 1 a step failed.

use std::path::PathBuf;
use std::process::ExitCode;

use app_support::{Fatal, Runtime, Seconds, init_logging, parse_cli};
use asset_manager::{Limits, Options, Summary};
use clap::Parser;
use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};

/// LlamaStack's location comes from LLAMA_STACK_URL (or LLAMASTACK_SERVICE_HOST,
/// port 8321); an optional LLAMA_STACK_API_KEY is sent as a Bearer token.
/// ASSET_MAX_FILE_BYTES, ASSET_MAX_TOTAL_BYTES and ASSET_MAX_FILES bound what
/// is read of the asset directory (8 MiB, 32 MiB, 10000 entries).
/// LOG_FORMAT=json for JSON logs; RUST_LOG or LOG_LEVEL for levels.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The asset directory (config.yaml, agents/, prompts/, toolgroups/, knowledge_bases/).
    #[arg(long, env = "ASSET_CONFIG_DIR", default_value = "/app/config")]
    config: PathBuf,
    /// Seconds to wait for LlamaStack to answer its health check.
    #[arg(long, env = "LLAMA_STACK_WAIT_TIMEOUT", default_value = "120")]
    wait_timeout: Seconds,
    /// Print the plan and its summary; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also remove the vector stores this tool made for knowledge bases the
    /// asset directory no longer has, and, on LlamaStack 0.2.18, every agent,
    /// MCP toolgroup and vector DB left by the Agents API (other teams' too).
    #[arg(long)]
    prune: bool,
}

fn main() -> ExitCode {
    let cli = match parse_cli::<Cli>("register-assets") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging();
    app_support::run("register-assets", Runtime::CurrentThread, run(cli))
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    // The directory is validated before LlamaStack is touched: a broken
    // file registers nothing.
    let limits = Limits::from_env()?;
    let assets = asset_manager::load_with_limits(&cli.config, limits)?;
    let mut config = LlamaStackConfig::from_env()?;
    if let Some(timeout) = assets.timeout {
        config = config.with_timeout(timeout);
    }
    let target = config.target();
    let client = LlamaStackClient::new(config)?;
    client.wait_until_ready(cli.wait_timeout.duration()).await?;
    let options = Options { prune: cli.prune };
    let plan = asset_manager::plan(&client, &assets, options).await?;
    if cli.dry_run {
        print_plan(&plan);
        return Ok(());
    }
    if !plan.leftovers.is_empty() {
        tracing::warn!(
            leftovers = plan.leftovers.len(),
            "the server holds agents, MCP toolgroups or vector DBs of an earlier release; --prune removes them (--dry-run lists them)"
        );
    }
    let report = asset_manager::apply(&client, &plan).await;
    print_summary(&report.summary);
    tracing::info!(llama_stack = %target, summary = %report.summary, "assets reconciled");
    Ok(report.check()?)
}

#[allow(clippy::print_stdout)]
fn print_plan(plan: &asset_manager::Plan) {
    print!("{plan}");
    println!("dry run: {}", Summary::of_plan(plan));
}

#[allow(clippy::print_stdout)]
fn print_summary(summary: &Summary) {
    println!("{summary}");
}
