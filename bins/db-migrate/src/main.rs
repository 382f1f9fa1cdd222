//! `db-migrate`: the database migration Job. Waits for PostgreSQL, applies
//! the schema migrations under an advisory lock (adopting databases the
//! Python system's alembic already migrated) and exits with a code the Job
//! can act on: 0 done, 78 bad configuration, 69 database or lock
//! unavailable, 1 migration failed, 64 destructive action not confirmed.

use std::process::ExitCode;

use app_support::{ExitStatus, Fatal, Runtime, Seconds, init_logging, parse_cli};
use clap::{Args, Parser, Subcommand};
use shared_db::migrate::{self, Timeouts};
use shared_db::{DbConfig, latest_alembic_revision, wait_for_migration};

/// Database settings come from POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB,
/// POSTGRES_USER, POSTGRES_PASSWORD (or DATABASE_URL) and the DB_POOL_*
/// variables. LOG_FORMAT=json for JSON logs; RUST_LOG or LOG_LEVEL for levels.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Seconds to wait for the database to accept connections.
    #[arg(long, env = "DB_WAIT_TIMEOUT", default_value = "60", global = true)]
    connect_timeout: Seconds,
    /// Seconds to wait for another db-migrate's lock to be released.
    #[arg(long, env = "DB_LOCK_TIMEOUT", default_value = "300", global = true)]
    lock_timeout: Seconds,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations (the default).
    Up,
    /// Show applied and pending migrations and the alembic revision.
    Status,
    /// Block until the schema is at the expected revision (for init containers).
    Wait(WaitArgs),
    /// Roll back the newest migrations. Destroys data: needs --confirm.
    Down(DownArgs),
}

#[derive(Debug, Args)]
struct WaitArgs {
    /// The alembic revision to wait for; a known later one also satisfies.
    #[arg(long, env = "EXPECTED_MIGRATION_VERSION", default_value = latest_alembic_revision())]
    expected_version: String,
    /// Seconds to wait in total.
    #[arg(long, env = "MIGRATION_WAIT_TIMEOUT", default_value = "300")]
    timeout: Seconds,
}

#[derive(Debug, Args)]
struct DownArgs {
    /// How many migrations to roll back.
    #[arg(long, default_value_t = 1)]
    steps: u32,
    /// Confirm that dropping the tables and their data is intended.
    #[arg(long)]
    confirm: bool,
}

fn main() -> ExitCode {
    let cli = match parse_cli::<Cli>("db-migrate") {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging();
    app_support::run("db-migrate", Runtime::CurrentThread, run(cli))
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    let config = DbConfig::from_env()?.with_application_name("db-migrate");
    let timeouts = Timeouts {
        connect: cli.connect_timeout.duration(),
        lock: cli.lock_timeout.duration(),
    };
    match cli.command.unwrap_or(Command::Up) {
        Command::Up => {
            let report = migrate::up(&config, timeouts).await?;
            tracing::info!(
                database = %config.target(),
                applied = report.applied.len(),
                adopted = report.adopted.len(),
                alembic_revision = report.alembic_revision.as_deref().unwrap_or("none"),
                "schema is up to date"
            );
        }
        Command::Status => {
            let report = migrate::status(&config, timeouts.connect).await?;
            print_status(&report);
        }
        Command::Wait(args) => {
            let db = shared_db::wait_for_database(&config, timeouts.connect).await?;
            let revision = wait_for_migration(
                &db,
                &config.target(),
                &args.expected_version,
                args.timeout.duration(),
            )
            .await?;
            tracing::info!(database = %config.target(), revision, "schema is ready");
        }
        Command::Down(args) => {
            if !args.confirm {
                return Err(Fatal::new(
                    ExitStatus::Usage,
                    "down drops tables and their data; run again with --confirm to proceed",
                ));
            }
            let rolled_back = migrate::down(&config, timeouts, args.steps).await?;
            tracing::info!(database = %config.target(), ?rolled_back, "rolled back");
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_status(report: &migrate::StatusReport) {
    println!(
        "alembic revision: {}",
        report.alembic_revision.as_deref().unwrap_or("none")
    );
    for migration in &report.migrations {
        println!(
            "{:<8} {:<4} {}",
            if migration.applied {
                "applied"
            } else {
                "pending"
            },
            migration.alembic_revision.as_deref().unwrap_or("-"),
            migration.name
        );
    }
    println!("{} pending", report.pending());
}
