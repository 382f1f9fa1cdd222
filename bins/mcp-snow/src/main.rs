//! `mcp-snow`: the snow MCP server (default), and a
//! `healthcheck` probe for images without a shell. Exit codes: 0 ok,
//! 1 failure, 69 unavailable, 78 bad configuration.

use std::process::ExitCode;
use std::time::Duration;

use app_support::{ExitStatus, Fatal, Runtime, init_logging_with};
use clap::{Args, Parser, Subcommand};

/// Settings come from the environment: LISTEN_ADDR, MCP_AUTH_TOKEN,
/// MCP_ALLOW_ANY_EMPLOYEE, SERVICENOW_* (else the demo backend),
/// EMPLOYEE_DATA_FILE, ... (see docs/mcp-servers.md).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP at /mcp and /sse (the default).
    Serve,
    /// Probe a URL once: exit 0 on a 2xx answer (for exec probes).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
struct HealthcheckArgs {
    #[arg(long, default_value = "http://127.0.0.1:8000/health")]
    url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
}

// musl's allocator serialises a multi-threaded server; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging_with(mcp_support::DEFAULT_LOG_FILTER);
    app_support::run("mcp-snow", Runtime::MultiThread, run(cli))
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => snow_tools::run().await,
        Command::Healthcheck(args) => {
            shared_clients::request_api::probe(&args.url, Duration::from_secs(args.timeout))
                .await
                .map(drop)
                .map_err(|reason| Fatal::new(ExitStatus::Unavailable, reason))
        }
    }
}
