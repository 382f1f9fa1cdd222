//! The service binary as a child process, pointed at a test database, an
//! in-process fake LlamaStack and an asset directory of two agents.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;
use shared_db::DbConfig;
use shared_db::migrate::{self, Timeouts};
use test_support::agent_assets::TestAssets;
use test_support::fake_llamastack::{FakeLlamaStack, ResponderInput, Scripted};
use test_support::postgres::free_port;
use test_support::{PgCluster, TestDatabase, test_database};
use tokio::process::{Child, Command};

pub struct Service {
    pub child: Child,
    pub base_url: String,
    /// stdout and stderr, in a file (a pipe nobody reads would block the
    /// service once full).
    output: tempfile::NamedTempFile,
}

pub async fn migrate(url: &str) {
    let config = DbConfig::from_url(url).unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(20),
        lock: Duration::from_secs(10),
    };
    migrate::up(&config, timeouts).await.unwrap();
}

/// A migrated test database.
pub async fn migrated_database() -> TestDatabase {
    let db = test_database().await.unwrap();
    migrate(&db.url()).await;
    db
}

/// A migrated database on a PostgreSQL cluster of its own, for tests that
/// stop and start the server.
pub async fn migrated_database_on_own_cluster() -> (PgCluster, TestDatabase) {
    let cluster = tokio::task::spawn_blocking(PgCluster::start)
        .await
        .unwrap()
        .unwrap();
    let db = test_support::postgres::create_database(&cluster.admin_url())
        .await
        .unwrap();
    migrate(&db.url()).await;
    (cluster, db)
}

pub async fn connect(db: &TestDatabase) -> DatabaseConnection {
    Database::connect(db.url()).await.unwrap()
}

/// The single `bigint` that `sql` selects.
pub async fn scalar(conn: &DatabaseConnection, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// What the service talks to in these tests: the fake LlamaStack, and the
/// asset directory of its agents.
pub struct Backend {
    pub fake: FakeLlamaStack,
    /// `routing-agent` and `laptop-refresh`, each allowed to hand over to
    /// the other (`TestAssets::routing_and_laptop`).
    pub assets: TestAssets,
}

/// The routing agent's greeting: what it answers to anything but a laptop.
pub const GREETING: &str = "Hello from the routing agent";

/// A fake LlamaStack playing the two agents: the routing agent hands a
/// message about a laptop to `laptop-refresh` (a `transfer_to_laptop-refresh`
/// call) and greets anything else; `laptop-refresh` answers
/// `laptop agent: <message>`.
pub async fn fake_llamastack() -> Backend {
    let fake = FakeLlamaStack::start().await;
    fake.set_agent_responder("routing-agent", |input: &ResponderInput| {
        if input.function_output().is_some() {
            return Scripted::Text("Transferring you to the laptop-refresh agent.".into());
        }
        let about_a_laptop = input
            .last_user_text()
            .is_some_and(|text| text.contains("laptop"));
        if about_a_laptop && input.offers_function("transfer_to_laptop-refresh") {
            Scripted::FunctionCall {
                name: "transfer_to_laptop-refresh".into(),
                arguments: json!({}),
            }
        } else {
            Scripted::Text(GREETING.into())
        }
    });
    fake.set_reply("laptop-refresh", |message| {
        format!("laptop agent: {message}")
    });
    Backend {
        fake,
        assets: TestAssets::routing_and_laptop(),
    }
}

/// The service's environment: `db`, the fake and its asset directory, and
/// `LISTEN_ADDR` on `port`; no retries of LlamaStack calls.
pub fn service_env(db: &TestDatabase, backend: &Backend, port: u16) -> Vec<(&'static str, String)> {
    let mut env = base_env(db, &backend.fake.url(), backend.assets.path(), port);
    env.push(("LLAMA_STACK_RETRIES", "0".to_owned()));
    env
}

/// The service's environment: `db`, LlamaStack at `llamastack_url`, the
/// asset directory `assets`, and `LISTEN_ADDR` on `port`.
pub fn base_env(
    db: &TestDatabase,
    llamastack_url: &str,
    assets: &std::path::Path,
    port: u16,
) -> Vec<(&'static str, String)> {
    let mut env = db.env();
    env.push(("LLAMA_STACK_URL", llamastack_url.to_owned()));
    env.push(("ASSET_CONFIG_DIR", assets.display().to_string()));
    env.push(("LISTEN_ADDR", format!("127.0.0.1:{port}")));
    env
}

/// Starts the binary with exactly `env` and waits until it serves `/health`.
pub async fn spawn(env: &[(&str, String)]) -> Service {
    spawn_with_open_files(env, None).await
}

/// [`spawn`], with the open-files limit (`ulimit -n`) lowered to `limit`.
pub async fn spawn_with_open_files(env: &[(&str, String)], limit: Option<u32>) -> Service {
    spawn_process(env, &[], limit).await
}

/// [`spawn`] with command-line arguments (`dispatch`, say).
pub async fn spawn_command(env: &[(&str, String)], args: &[&str]) -> Service {
    spawn_process(env, args, None).await
}

async fn spawn_process(env: &[(&str, String)], args: &[&str], limit: Option<u32>) -> Service {
    let port = env
        .iter()
        .find(|(key, _)| *key == "LISTEN_ADDR")
        .and_then(|(_, addr)| addr.rsplit(':').next()?.parse::<u16>().ok())
        .expect("LISTEN_ADDR with a port");
    let binary = env!("CARGO_BIN_EXE_self-service-agent");
    let mut command = match limit {
        Some(limit) => {
            let mut shell = Command::new("/bin/sh");
            shell
                .arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(binary);
            shell
        }
        None => Command::new(binary),
    };
    command.args(args);
    let output = tempfile::NamedTempFile::new().unwrap();
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::from(output.reopen().unwrap()))
        .stderr(Stdio::from(output.reopen().unwrap()))
        .kill_on_drop(true);
    let child = command.spawn().unwrap();
    let base_url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = reqwest::Client::new();
    while started.elapsed() < Duration::from_secs(20) {
        if client
            .get(format!("{base_url}/health"))
            .send()
            .await
            .is_ok()
        {
            return Service {
                child,
                base_url,
                output,
            };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the service did not serve /health within 20 s");
}

/// A measurement, printed where it is seen even when the test passes
/// (the harness shows `println!` only for failures).
pub fn report(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn port() -> u16 {
    free_port().unwrap()
}

impl Service {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit; returns the status and everything it printed.
    pub async fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the service exits")
            .unwrap();
        (status, self.logs())
    }

    /// SIGTERM, then [`finish`](Self::finish).
    pub async fn finish_now(self) -> (std::process::ExitStatus, String) {
        self.terminate();
        self.finish().await
    }

    /// Everything it printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.output.path()).unwrap_or_default()
    }

    /// SIGKILL, as the kubelet does when a pod is evicted hard.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }
}

pub async fn sync(
    client: &reqwest::Client,
    service: &Service,
    user: &str,
    content: &str,
) -> reqwest::Response {
    client
        .post(service.url("/api/v1/requests/generic/sync"))
        .header("x-user-id", user)
        .json(&json!({"user_id": user, "content": content, "integration_type": "CLI"}))
        .send()
        .await
        .unwrap()
}
