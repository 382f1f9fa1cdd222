//! Throwaway PostgreSQL for tests.
//!
//! [`test_database`] gives every test its own database on one server per
//! test process: the server named by `TEST_DATABASE_URL` (or `DATABASE_URL`)
//! when set, else a cluster this module starts from the PostgreSQL binaries
//! on `PATH` (`initdb`, `pg_ctl`). [`PgCluster`] is also used directly by
//! tests that stop and restart their server.
//!
//! The server refuses to run as root, so as root the cluster runs as the
//! `postgres` user. A guardian shell holds the read end of a pipe whose
//! write end lives in this process: when the process ends, however it ends,
//! the guardian stops the server and removes its directory.

use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use sea_orm::{ConnectionTrait, Database};

const SUPERUSER: &str = "postgres";
/// Only ever on loopback, only for throwaway clusters.
const SUPERUSER_PASSWORD: &str = "test-superuser-password";

/// A PostgreSQL server of its own, on 127.0.0.1 and a free port.
#[derive(Debug)]
pub struct PgCluster {
    data_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    guardian: Mutex<Option<(Child, ChildStdin)>>,
}

impl PgCluster {
    /// Creates and starts a cluster.
    pub fn start() -> Result<Self> {
        let cluster = Self::init()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Creates a cluster without starting its server (its port is fixed).
    pub fn init() -> Result<Self> {
        let run_as = running_as_root().then(|| SUPERUSER.to_owned());
        let root = tempfile::Builder::new()
            .prefix("ssa-pg-")
            .tempdir()
            .context("creating the cluster directory")?
            .keep();
        let data_dir = root.join("data");
        let password_file = root.join("password");
        std::fs::write(&password_file, SUPERUSER_PASSWORD)?;
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:{user}")])
                .arg(&root)
                .status()?;
            if !status.success() {
                bail!("chown of {} to {user} failed", root.display());
            }
        }
        let guardian = spawn_guardian(&root, &data_dir, run_as.as_deref())?;
        let cluster = Self {
            data_dir,
            port: free_port()?,
            run_as,
            guardian: Mutex::new(Some(guardian)),
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&cluster.data_dir)?,
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                &format!("--pwfile={}", path_str(&password_file)?),
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        Ok(cluster)
    }

    /// Starts (or restarts) the server on the cluster's port.
    pub fn start_server(&self) -> Result<()> {
        let options = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            path_str(&self.data_dir)?
        );
        let log = self.data_dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir)?,
                "-l",
                path_str(&log)?,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "-s",
                "start",
            ],
        )
    }

    /// Stops the server (fast shutdown: open sessions are disconnected).
    pub fn stop_server(&self) -> Result<()> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir)?,
                "-m",
                "fast",
                "-w",
                "-s",
                "stop",
            ],
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Superuser URL of the `postgres` database.
    pub fn admin_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let output = as_user(self.run_as.as_deref(), program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let guardian = self.guardian.get_mut().ok().and_then(Option::take);
        if let Some((mut child, stdin)) = guardian {
            // Closing the pipe tells the guardian to stop the server and clean up.
            drop(stdin);
            let _ = child.wait();
        }
    }
}

fn spawn_guardian(
    root: &Path,
    data_dir: &Path,
    run_as: Option<&str>,
) -> Result<(Child, ChildStdin)> {
    let prefix = run_as
        .map(|user| format!("runuser -u {user} -- "))
        .unwrap_or_default();
    let script = format!(
        "trap '' INT TERM HUP; cat >/dev/null; \
         {prefix}pg_ctl -D \"$1\" -m immediate -w -s stop >/dev/null 2>&1; rm -rf \"$0\""
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(root)
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the cluster guardian")?;
    let mut stdin = child.stdin.take().context("guardian stdin")?;
    stdin.flush()?;
    Ok((child, stdin))
}

fn as_user(run_as: Option<&str>, program: &str) -> Command {
    match run_as {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--", program]);
            command
        }
        None => Command::new(program),
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("non-UTF-8 temporary path")
}

/// The server every test of this process shares, and its superuser URL.
fn shared_admin_url() -> Result<String> {
    static SHARED: OnceLock<std::result::Result<(Option<PgCluster>, String), String>> =
        OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        for var in ["TEST_DATABASE_URL", "DATABASE_URL"] {
            if let Ok(url) = std::env::var(var)
                && !url.is_empty()
            {
                return Ok((None, url));
            }
        }
        PgCluster::start()
            .map(|cluster| {
                let url = cluster.admin_url();
                (Some(cluster), url)
            })
            .map_err(|error| format!("{error:#}"))
    });
    match shared {
        Ok((_, url)) => Ok(url.clone()),
        Err(error) => bail!("no PostgreSQL for the tests: {error}"),
    }
}

/// A database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl TestDatabase {
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            self.user, self.password, self.host, self.port, self.name
        )
    }

    /// The `POSTGRES_*` variables that point a binary at this database.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("POSTGRES_HOST", self.host.clone()),
            ("POSTGRES_PORT", self.port.to_string()),
            ("POSTGRES_DB", self.name.clone()),
            ("POSTGRES_USER", self.user.clone()),
            ("POSTGRES_PASSWORD", self.password.clone()),
        ]
    }

    /// Runs a multi-statement SQL script on its own connection.
    pub async fn execute_script(&self, sql: &str) -> Result<()> {
        let db = Database::connect(self.url()).await?;
        db.execute_unprepared(sql).await?;
        db.close().await?;
        Ok(())
    }
}

/// Creates a fresh, empty database on the shared server.
pub async fn test_database() -> Result<TestDatabase> {
    let admin_url = tokio::task::spawn_blocking(shared_admin_url).await??;
    create_database(&admin_url).await
}

/// Creates a fresh, empty database on the server of `admin_url`.
pub async fn create_database(admin_url: &str) -> Result<TestDatabase> {
    let parsed = parse_admin_url(admin_url)?;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    Ok(TestDatabase { name, ..parsed })
}

/// Splits `postgres://user:password@host:port/db` into its parts.
fn parse_admin_url(url: &str) -> Result<TestDatabase> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .context("admin URL must start with postgres://")?;
    let (credentials, location) = rest.rsplit_once('@').context("admin URL needs user@host")?;
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let host_port = location.split('/').next().unwrap_or(location);
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
    Ok(TestDatabase {
        name: String::new(),
        host: host.to_owned(),
        port: port.parse().context("admin URL port")?,
        user: user.to_owned(),
        password: password.to_owned(),
    })
}
