//! What `cargo xtask up` runs, read once from its flags and environment:
//! the ports, where the state lives, the database, the model.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::llamastack::Server;
use crate::workspace::{root, target_dir};

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The asset directory to run and watch (its copy in the state
    /// directory, the toolgroups pointed at the local MCP servers, is what
    /// the service runs and register-assets reads).
    #[arg(long, value_name = "DIR")]
    pub assets: Option<PathBuf>,
    /// Where the stack keeps its state: PostgreSQL's cluster, LlamaStack's
    /// stores, the copy of the assets, the logs, the supervisor's pid.
    #[arg(long, value_name = "DIR", env = "SSA_UP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(flatten)]
    pub ports: Ports,
    /// The LlamaStack server to run, from its venv (`cargo xtask provision`).
    #[arg(long, value_enum, default_value_t = Server::default())]
    pub server: Server,
    /// Run in the background (a supervisor process); `cargo xtask down` stops it.
    #[arg(long)]
    pub detach: bool,
    /// Run the binaries from the built images with podman (a pod) instead
    /// of the host binaries (`cargo xtask build-image --all` first).
    #[arg(long)]
    pub image: bool,
    /// With `--image`: where the build records are (`build-image
    /// --out-dir`; default `target/image`).
    #[arg(long, value_name = "DIR", requires = "image")]
    pub image_dir: Option<PathBuf>,
    /// Use the binaries already built instead of running `cargo build` first.
    #[arg(long)]
    pub no_build: bool,
    /// Build and run the release profile.
    #[arg(long)]
    pub release: bool,
    /// Do not watch the asset directory.
    #[arg(long)]
    pub no_watch: bool,
    /// Internal: this process is the supervisor of a detached stack.
    #[arg(long, hide = true)]
    pub supervise: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// The state directory `up` was given.
    #[arg(long, value_name = "DIR", env = "SSA_UP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Every port the stack listens on, all on 127.0.0.1.
#[derive(Debug, Clone, Copy, Args, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ports {
    /// The request API (self-service-agent serve).
    #[arg(long, default_value_t = 8080)]
    pub api_port: u16,
    /// LlamaStack.
    #[arg(long, default_value_t = 8321)]
    pub llamastack_port: u16,
    /// The local PostgreSQL (unused with DATABASE_URL).
    #[arg(long, default_value_t = 15432)]
    pub postgres_port: u16,
    /// mcp-employee-info.
    #[arg(long, default_value_t = 8101)]
    pub employee_info_port: u16,
    /// mcp-snow.
    #[arg(long, default_value_t = 8102)]
    pub snow_port: u16,
    /// The scripted model, openai-stub (unused with INFERENCE_URL).
    #[arg(long, default_value_t = 8100)]
    pub stub_port: u16,
}

impl Ports {
    /// `(component, flag, port)` of every port, in start order.
    pub fn all(&self) -> [(&'static str, &'static str, u16); 6] {
        [
            ("postgres", "--postgres-port", self.postgres_port),
            ("openai-stub", "--stub-port", self.stub_port),
            ("llamastack", "--llamastack-port", self.llamastack_port),
            (
                "mcp-employee-info",
                "--employee-info-port",
                self.employee_info_port,
            ),
            ("mcp-snow", "--snow-port", self.snow_port),
            ("self-service-agent", "--api-port", self.api_port),
        ]
    }
}

/// Where the stack keeps what it writes.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(state_dir: Option<&Path>) -> Self {
        let root = match state_dir {
            Some(dir) if dir.is_absolute() => dir.to_path_buf(),
            Some(dir) => std::env::current_dir()
                .map(|cwd| cwd.join(dir))
                .unwrap_or_else(|_| dir.to_path_buf()),
            None => target_dir().join("local"),
        };
        Self { root }
    }
    /// PostgreSQL's data directory, kept between runs.
    pub fn postgres(&self) -> PathBuf {
        self.root.join("postgres")
    }
    /// The superuser's password of the local cluster (mode 0600).
    pub fn postgres_password(&self) -> PathBuf {
        self.root.join("postgres.password")
    }
    /// LlamaStack's run.yaml and sqlite stores, kept between runs.
    pub fn llamastack(&self) -> PathBuf {
        self.root.join("llamastack")
    }
    /// The copy of the asset directory: the service's `ASSET_CONFIG_DIR`,
    /// and what `register-assets` reads.
    pub fn assets(&self) -> PathBuf {
        self.root.join("assets")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn log(&self, component: &str) -> PathBuf {
        self.logs().join(format!("{component}.log"))
    }
    /// The supervisor's state: pid, status, components (`state.rs`).
    pub fn state_file(&self) -> PathBuf {
        self.root.join("up.json")
    }
}

/// The model behind LlamaStack.
#[derive(Debug, Clone)]
pub enum Inference {
    /// The project's OpenAI-compatible stub playing the laptop refresh
    /// script: scripted replies, not a language model.
    Stub,
    /// Any OpenAI-compatible endpoint (`INFERENCE_*`).
    Remote(RemoteInference),
}

#[derive(Debug, Clone)]
pub struct RemoteInference {
    /// The OpenAI base URL (ending in `/v1`). Never printed: it may carry
    /// credentials.
    pub url: String,
    pub model: String,
    /// Never printed nor written to a file: LlamaStack reads it from its
    /// environment (`llamastack.rs`).
    pub api_key: Option<String>,
    pub embedding_model: String,
    /// Probed from the endpoint when not given (`checks.rs`).
    pub embedding_dimension: Option<usize>,
}

/// The stub's models (`crates/test-support/src/openai_stub/mod.rs`).
pub const STUB_LLM_MODEL: &str = "stub-llm";
pub const STUB_EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";
pub const STUB_EMBEDDING_DIMENSION: usize = 384;

impl Inference {
    pub fn from_env() -> Result<Self> {
        let Some(url) = env("INFERENCE_URL") else {
            for var in ["INFERENCE_MODEL", "INFERENCE_EMBEDDING_MODEL"] {
                if env(var).is_some() {
                    bail!("inference: {var} is set but INFERENCE_URL is not: set both");
                }
            }
            return Ok(Self::Stub);
        };
        let required = |var: &str, what: &str| match env(var) {
            Some(value) => Ok(value),
            None => bail!("inference: INFERENCE_URL is set but {var} is not: name {what}"),
        };
        let embedding_dimension = match env("INFERENCE_EMBEDDING_DIMENSION") {
            None => None,
            Some(text) => match text.parse::<usize>() {
                Ok(dimension) if dimension > 0 => Some(dimension),
                _ => bail!("inference: INFERENCE_EMBEDDING_DIMENSION must be a positive integer"),
            },
        };
        Ok(Self::Remote(RemoteInference {
            url: url.trim_end_matches('/').to_owned(),
            model: required("INFERENCE_MODEL", "the chat model it serves")?,
            api_key: env("INFERENCE_API_KEY"),
            embedding_model: required(
                "INFERENCE_EMBEDDING_MODEL",
                "the embedding model it serves (the knowledge base needs one)",
            )?,
            embedding_dimension,
        }))
    }
}

/// The database: the local cluster, or the one `DATABASE_URL` names.
#[derive(Debug, Clone)]
pub enum Database {
    Local,
    /// Never printed: the URL holds the password.
    External(String),
}

impl Database {
    pub fn from_env() -> Self {
        match env("DATABASE_URL") {
            Some(url) => Self::External(url),
            None => Self::Local,
        }
    }
}

/// Everything `up` was asked to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub args: UpArgs,
    pub layout: Layout,
    pub assets: PathBuf,
    pub inference: Inference,
    pub database: Database,
}

impl Settings {
    pub fn new(args: UpArgs) -> Result<Self> {
        let assets = match &args.assets {
            Some(dir) => std::path::absolute(dir)?,
            None => root().join("assets/config"),
        };
        if !assets.is_dir() {
            bail!(
                "register-assets: {} is not a directory: give the asset directory with --assets",
                assets.display()
            );
        }
        Ok(Self {
            layout: Layout::new(args.state_dir.as_deref()),
            assets,
            inference: Inference::from_env()?,
            database: Database::from_env(),
            args,
        })
    }

    /// The ports this run listens on (the stub's and PostgreSQL's only
    /// when they run).
    pub fn listened_ports(&self) -> Vec<(&'static str, &'static str, u16)> {
        self.args
            .ports
            .all()
            .into_iter()
            .filter(|(component, _, _)| match *component {
                "postgres" => matches!(self.database, Database::Local),
                "openai-stub" => matches!(self.inference, Inference::Stub),
                _ => true,
            })
            .collect()
    }

    /// `target/debug` or `target/release`: the host binaries.
    pub fn binary(&self, name: &str) -> PathBuf {
        let profile = if self.args.release {
            "release"
        } else {
            "debug"
        };
        target_dir().join(profile).join(name)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Probe {
        #[command(flatten)]
        ports: Ports,
    }

    #[test]
    fn every_port_is_listed_under_the_flag_that_sets_it() {
        let flags: Vec<String> = Probe::command()
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
            .collect();
        assert_eq!(flags.len(), Probe::parse_from(["probe"]).ports.all().len());
        for flag in flags {
            let ports = Probe::parse_from(["probe", flag.as_str(), "4242"]).ports;
            let listed: Vec<u16> = ports
                .all()
                .iter()
                .filter(|(_, listed_flag, _)| *listed_flag == flag)
                .map(|(_, _, port)| *port)
                .collect();
            assert_eq!(listed, [4242], "{flag}");
        }
    }
}
