//! The start sequence, in the chart's order (`docs/chart.md`): the
//! stack's copy of the asset directory made, the services the binaries
//! need (PostgreSQL, the model, LlamaStack, the MCP servers) started
//! together, then `db-migrate up` once PostgreSQL is ready,
//! `register-assets` once LlamaStack is, and `self-service-agent serve`
//! last, its agents read from the copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use super::assets::{self, Reconcile};
use super::image::Pod;
use super::llamastack::{LlamaStack, Models};
use super::postgres::LocalPostgres;
use super::process::{Processes, Stop, run_once};
use super::settings::{self, Database, Inference, Settings};
use super::state::Component;

/// Where the project's binaries run from.
#[derive(Debug, Clone)]
pub enum Runner {
    Host,
    Image(Pod),
}

/// Where a container sees the asset directory (the image's, and where the
/// chart mounts the asset ConfigMap): `--image` mounts the copy there.
pub const IMAGE_ASSET_DIR: &str = "/app/config";

/// The toolgroups of the project's assets and their servers' binaries.
pub const MCP_SERVERS: [(&str, &str); 2] =
    [("employee-info", "mcp-employee-info"), ("snow", "mcp-snow")];

/// What a started stack is.
#[derive(Debug)]
pub struct Started {
    pub components: Vec<Component>,
    /// One line per component: name, URL, status.
    pub lines: Vec<String>,
    pub first_reconcile: Reconcile,
    /// The copy of the asset directory, for the editing loop.
    pub assets: StackAssets,
}

/// The stack's copy of the asset directory (`<state>/assets`): what the
/// service runs (`ASSET_CONFIG_DIR`) and `register-assets` reads.
#[derive(Debug, Clone)]
pub struct StackAssets {
    runner: Runner,
    settings: Settings,
    llamastack_url: String,
}

impl StackAssets {
    /// Brings the copy up to date with the asset directory; the paths that
    /// changed.
    pub fn copy(&self) -> Result<Vec<String>> {
        let ports = self.settings.args.ports;
        let servers: Vec<(&str, String)> = MCP_SERVERS
            .iter()
            .map(|(toolgroup, _)| {
                let port = match *toolgroup {
                    "employee-info" => ports.employee_info_port,
                    _ => ports.snow_port,
                };
                (*toolgroup, format!("http://127.0.0.1:{port}"))
            })
            .collect();
        let synced = assets::sync(&self.settings.assets, &self.dir(), &servers)?;
        if !synced.unrouted.is_empty() {
            say!(
                "assets: toolgroups {} name no local MCP server: the agents reach them as written",
                synced.unrouted.join(", ")
            );
        }
        Ok(synced.changed)
    }

    /// The copy.
    pub fn dir(&self) -> PathBuf {
        self.settings.layout.assets()
    }

    /// Runs `register-assets` over the copy.
    pub async fn register(&self) -> Result<Reconcile> {
        let layout = &self.settings.layout;
        let env = [
            ("LLAMA_STACK_URL", self.llamastack_url.clone()),
            ("LOG_FORMAT", "json".to_owned()),
            ("LLAMA_STACK_WAIT_TIMEOUT", "60".to_owned()),
        ];
        let copy = self.dir();
        let mut command = match &self.runner {
            Runner::Image(pod) => pod.command("register-assets", &[], &env, Some(&copy)),
            Runner::Host => {
                let mut command =
                    tokio::process::Command::new(self.settings.binary("register-assets"));
                command.arg("--config").arg(&copy).envs(env);
                command
            }
        };
        let log = layout.log("register-assets");
        let output = run_once("register-assets", &mut command, &log).await;
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                let last = last_error(&log_text);
                bail!(
                    "{error:#}{}",
                    last.map(|l| format!(": {l}")).unwrap_or_default()
                )
            }
        };
        Ok(Reconcile::read(
            &String::from_utf8_lossy(&output.stdout),
            &String::from_utf8_lossy(&output.stderr),
        ))
    }
}

/// The message of the last error a JSON log holds.
fn last_error(log: &str) -> Option<String> {
    log.lines().rev().find_map(|line| {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        (event["level"] == "ERROR").then(|| {
            let message = event["message"].as_str().unwrap_or_default();
            match event["error"].as_str() {
                Some(error) => format!("{message}: {error}"),
                None => message.to_owned(),
            }
        })
    })
}

pub async fn start(
    settings: &Settings,
    runner: &Runner,
    procs: &Processes,
    embedding_dimension: Option<usize>,
) -> Result<Started> {
    let layout = &settings.layout;
    let ports = settings.args.ports;
    let stack_assets = StackAssets {
        runner: runner.clone(),
        settings: settings.clone(),
        llamastack_url: String::new(),
    };
    // before anything starts: an unreadable directory leaves nothing running
    stack_assets.copy()?;
    let token = hex::encode(super::random_bytes::<24>()?);
    let mut lines = Vec::new();
    let mut components = Vec::new();
    let mut note = |name: &str, pid: Option<u32>, url: &str, status: String| {
        lines.push(format!("{name:<19} {url:<50} {status}"));
        components.push(Component {
            name: name.to_owned(),
            pid,
            url: url.to_owned(),
            log: layout.log(name).display().to_string(),
        });
    };

    // Everything the binaries need, started together.
    let postgres = match &settings.database {
        Database::Local => {
            let cluster = LocalPostgres::prepare(layout, ports.postgres_port)?;
            let proc = procs
                .spawn(
                    "postgres",
                    &mut cluster.command(),
                    &layout.log("postgres"),
                    Stop::Int(secs(30)),
                )
                .await?;
            Some((cluster, proc))
        }
        Database::External(_) => None,
    };
    let (models, stub) = match &settings.inference {
        Inference::Stub => {
            let mut command = tokio::process::Command::new(settings.binary("openai-stub"));
            command
                .args(["--script", "laptop-refresh"])
                .arg(format!("127.0.0.1:{}", ports.stub_port));
            let proc = procs
                .spawn(
                    "openai-stub",
                    &mut command,
                    &layout.log("openai-stub"),
                    Stop::Term(secs(5)),
                )
                .await?;
            let models = Models {
                url: format!("http://127.0.0.1:{}/v1", ports.stub_port),
                llm: settings::STUB_LLM_MODEL.to_owned(),
                embedding: settings::STUB_EMBEDDING_MODEL.to_owned(),
                embedding_dimension: settings::STUB_EMBEDDING_DIMENSION,
                api_key: None,
            };
            (models, Some(proc))
        }
        Inference::Remote(remote) => {
            let models = Models {
                url: remote.url.clone(),
                llm: remote.model.clone(),
                embedding: remote.embedding_model.clone(),
                embedding_dimension: embedding_dimension
                    .unwrap_or(settings::STUB_EMBEDDING_DIMENSION),
                api_key: remote.api_key.clone(),
            };
            (models, None)
        }
    };
    let llama = LlamaStack::prepare(
        settings.args.server,
        &layout.llamastack(),
        ports.llamastack_port,
        &models,
    )?;
    let llama_proc = procs
        .spawn(
            "llamastack",
            &mut llama.command(),
            &layout.log("llamastack"),
            // OGX takes 5 to 10 s to stop
            Stop::Term(secs(15)),
        )
        .await?;
    let passed_on: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| {
            key.starts_with("SERVICENOW_")
                || matches!(
                    key.as_str(),
                    "EMPLOYEE_DATA_FILE" | "MCP_ALLOW_ANY_EMPLOYEE"
                )
        })
        .collect();
    let mut mcp = Vec::new();
    for (binary, port) in [
        ("mcp-employee-info", ports.employee_info_port),
        ("mcp-snow", ports.snow_port),
    ] {
        // ServiceNow's settings (else the demo backend) and the MCP
        // servers' own, passed on by name: a container sees only these
        let mut env: Vec<(&str, String)> = vec![
            ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
            ("MCP_AUTH_TOKEN", token.clone()),
        ];
        env.extend(
            passed_on
                .iter()
                .map(|(key, value)| (key.as_str(), value.clone())),
        );
        let mut command = match runner {
            Runner::Image(pod) if pod.has_image(binary) => pod.command(binary, &[], &env, None),
            _ => {
                let mut command = tokio::process::Command::new(settings.binary(binary));
                command.envs(env);
                command
            }
        };
        let proc = procs
            .spawn(
                binary,
                &mut command,
                &layout.log(binary),
                Stop::Term(secs(15)),
            )
            .await?;
        mcp.push((binary, port, proc));
    }

    // db-migrate once PostgreSQL answers; register-assets once LlamaStack does.
    let database_url = match (&settings.database, &postgres) {
        (Database::External(url), _) => url.clone(),
        (Database::Local, Some((cluster, _))) => cluster.url(),
        (Database::Local, None) => bail!("postgres: the local cluster was not prepared"),
    };
    let stack_assets = StackAssets {
        llamastack_url: llama.url(),
        ..stack_assets
    };
    let database = async {
        if let Some((cluster, proc)) = &postgres {
            cluster.wait_ready(proc, secs(60)).await?;
        }
        let env = [
            ("DATABASE_URL", database_url.clone()),
            ("DB_WAIT_TIMEOUT", "60".to_owned()),
        ];
        let mut command = match runner {
            Runner::Image(pod) => pod.command("db-migrate", &["up"], &env, None),
            Runner::Host => {
                let mut command = tokio::process::Command::new(settings.binary("db-migrate"));
                command.arg("up").envs(env);
                command
            }
        };
        run_once("db-migrate", &mut command, &layout.log("db-migrate")).await?;
        anyhow::Ok(())
    };
    let llamastack = async {
        if let Some(stub) = &stub {
            let health = format!("http://127.0.0.1:{}/health", ports.stub_port);
            super::wait_http(stub, &health, secs(30)).await?;
        }
        llama.wait_ready(&llama_proc, secs(120)).await
    };
    let servers = async {
        let mut backends = Vec::new();
        for (_, port, proc) in &mcp {
            let health = format!("http://127.0.0.1:{port}/health");
            super::wait_http(proc, &health, secs(30)).await?;
            let answer = super::http_json(&health).await.unwrap_or_default();
            backends.push(answer["backend"].as_str().unwrap_or("?").to_owned());
        }
        anyhow::Ok(backends)
    };
    let ((), version, backends) = tokio::try_join!(database, llamastack, servers)?;
    let reconcile = stack_assets.register().await?;

    // the agents of the copy, which a container sees where the chart
    // mounts the asset ConfigMap
    let asset_dir = match runner {
        Runner::Image(_) => IMAGE_ASSET_DIR.to_owned(),
        Runner::Host => stack_assets.dir().display().to_string(),
    };
    let service_env = [
        ("LISTEN_ADDR", format!("127.0.0.1:{}", ports.api_port)),
        ("DATABASE_URL", database_url),
        ("LLAMA_STACK_URL", llama.url()),
        ("MCP_AUTH_TOKEN", token),
        ("ASSET_CONFIG_DIR", asset_dir),
    ];
    let copy = stack_assets.dir();
    let mut command = match runner {
        Runner::Image(pod) => {
            pod.command("self-service-agent", &["serve"], &service_env, Some(&copy))
        }
        Runner::Host => {
            let mut command = tokio::process::Command::new(settings.binary("self-service-agent"));
            command.arg("serve").envs(service_env);
            command
        }
    };
    let service = procs
        .spawn(
            "self-service-agent",
            &mut command,
            &layout.log("self-service-agent"),
            Stop::Term(secs(35)),
        )
        .await?;
    let api = format!("http://127.0.0.1:{}", ports.api_port);
    super::wait_http(&service, &format!("{api}/ready"), secs(60)).await?;

    // What is running, in start order.
    match &postgres {
        Some((cluster, proc)) => note(
            "postgres",
            Some(proc.pid),
            &cluster.shown_url(),
            format!("ready (cluster in {})", shown(&layout.postgres())),
        ),
        None => note("postgres", None, "DATABASE_URL", "external".to_owned()),
    }
    match &stub {
        Some(proc) => note(
            "openai-stub",
            Some(proc.pid),
            &models.url,
            "ready: SCRIPTED REPLIES (the laptop-refresh script, not a language model)".to_owned(),
        ),
        None => note(
            "inference",
            None,
            "INFERENCE_URL",
            format!("answers; models {} and {}", models.llm, models.embedding),
        ),
    }
    note(
        "llamastack",
        Some(llama_proc.pid),
        &llama.url(),
        format!("ready ({version})"),
    );
    for ((binary, port, proc), backend) in mcp.iter().zip(&backends) {
        let from = container_or_host(runner, binary);
        note(
            binary,
            Some(proc.pid),
            &format!("http://127.0.0.1:{port}/mcp"),
            format!("ready (backend: {backend}{from})"),
        );
    }
    note("db-migrate", None, "up", "done".to_owned());
    note(
        "register-assets",
        None,
        &shown(&settings.assets),
        format!("done: {}", reconcile.summary),
    );
    let from = container_or_host(runner, "self-service-agent");
    note(
        "self-service-agent",
        Some(service.pid),
        &api,
        format!("ready{from}"),
    );
    Ok(Started {
        components,
        lines,
        first_reconcile: reconcile,
        assets: stack_assets,
    })
}

fn container_or_host(runner: &Runner, binary: &str) -> &'static str {
    match runner {
        Runner::Image(pod) if pod.has_image(binary) => ", container",
        _ => "",
    }
}

/// A path as a person would type it: relative to the current directory
/// when below it.
pub fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}
