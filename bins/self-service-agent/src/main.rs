//! `self-service-agent`: the request API service (default), an interactive
//! `chat` client for `kubectl exec`, and a `healthcheck` probe for images
//! without a shell. Exit codes: 0 ok, 1 failure, 69 unavailable, 78 bad
//! configuration.

use std::process::ExitCode;

use app_support::{ExitStatus, Fatal, Runtime, Seconds, init_logging, parse_cli};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use shared_clients::request_api::{RequestApiClient, chat_loop, probe};

/// Settings come from the environment: LISTEN_ADDR, LLAMA_STACK_URL (or
/// LLAMASTACK_SERVICE_HOST), POSTGRES_* (or DATABASE_URL), AUTH_MODE,
/// EXPECTED_MIGRATION_VERSION, ... (see ARCHITECTURE.md).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the request API (the default), and deliver answers unless
    /// DISPATCHER_ENABLED=false.
    Serve,
    /// Deliver answers only (the dispatcher, for those who scale it on its
    /// own), with /health, /ready and /metrics.
    Dispatch,
    /// Chat with the agents through a running service.
    Chat(ChatArgs),
    /// Probe a URL once: exit 0 on a 2xx answer (for exec probes).
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
struct ChatArgs {
    /// The request API to talk to.
    #[arg(
        long,
        env = "REQUEST_MANAGER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// Who you are; a new random id when not given.
    #[arg(long, env = "CHAT_USER_ID")]
    user_id: Option<String>,
    /// API key, when the service requires one.
    #[arg(long, env = "CHAT_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The integration channel the messages come from.
    #[arg(long, default_value = "CLI")]
    integration_type: String,
    /// Seconds to wait for an answer.
    #[arg(long, default_value = "180")]
    timeout: Seconds,
}

#[derive(Debug, Args)]
struct HealthcheckArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080/ready")]
    url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value = "3")]
    timeout: Seconds,
}

// musl's allocator serialises a multi-threaded server; mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match parse_cli::<Cli>("self-service-agent") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging();
    app_support::run("self-service-agent", Runtime::MultiThread, run(cli))
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            agent_service::run(
                agent_service::Settings::from_env()?,
                agent_service::Role::Serve,
            )
            .await
        }
        Command::Dispatch => {
            agent_service::run(
                agent_service::Settings::from_env()?,
                agent_service::Role::Dispatch,
            )
            .await
        }
        Command::Chat(args) => chat(args).await,
        Command::Healthcheck(args) => {
            Ok(probe(&args.url, args.timeout.duration()).await.map(drop)?)
        }
    }
}

async fn chat(args: ChatArgs) -> Result<(), Fatal> {
    let user_id = args
        .user_id
        .unwrap_or_else(|| format!("cli-{}", std::process::id()));
    let client = RequestApiClient::new(
        &args.url,
        user_id,
        args.api_key.map(SecretString::from),
        args.timeout.duration(),
    )?;
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    chat_loop(&client, &args.integration_type, stdin, std::io::stdout())
        .await
        .map(drop)
        .map_err(|error| Fatal::new(ExitStatus::Failure, format!("terminal: {error}")))
}
