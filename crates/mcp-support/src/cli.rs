//! The command line every MCP server binary has: `serve` (the default) and
//! `healthcheck` for exec probes in an image without a shell.

use std::future::Future;
use std::process::ExitCode;

use app_support::{Fatal, Runtime, Seconds, init_logging_with, parse_cli};
use clap::{Args, Parser, Subcommand};

/// Settings come from the environment: LISTEN_ADDR, MCP_AUTH_TOKEN,
/// MCP_ALLOW_ANY_EMPLOYEE, SERVICENOW_* (else the demo backend),
/// EMPLOYEE_DATA_FILE, ... (see docs/mcp-servers.md).
#[derive(Debug, Parser)]
#[command(version, about = "An MCP server of the self-service agent", long_about = None)]
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
    #[arg(long, default_value = "3")]
    timeout: Seconds,
}

/// The whole `main` of an MCP server binary named `binary`, serving with
/// `serve`. Exit codes: 0 ok, 1 failure, 2 bad command line, 69
/// unavailable, 78 bad configuration.
pub fn main<F>(binary: &str, serve: fn() -> F) -> ExitCode
where
    F: Future<Output = Result<(), Fatal>>,
{
    let cli = match parse_cli::<Cli>(binary) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging_with(crate::DEFAULT_LOG_FILTER);
    app_support::run(binary, Runtime::MultiThread, async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await,
            Command::Healthcheck(args) => {
                shared_clients::request_api::probe(&args.url, args.timeout.duration()).await?;
                Ok(())
            }
        }
    })
}
