//! The local PostgreSQL: a cluster in the state directory, created once by
//! `initdb` (with the service's database) and kept between runs; the
//! server is `postgres` itself in the foreground, a child of the
//! supervisor. The server refuses to run as root: as root, the cluster
//! belongs to the `postgres` user and the server runs as it (`setpriv`
//! execs, so the supervisor's child is the server itself).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::process::Proc;
use super::settings::Layout;

const SUPERUSER: &str = "postgres";
/// The database the service and db-migrate use (the chart's default name).
pub const DATABASE: &str = "llama_agents";
const READY_LINE: &str = "database system is ready to accept connections";

#[derive(Debug, Clone)]
pub struct LocalPostgres {
    data: PathBuf,
    port: u16,
    /// Never printed; kept in `postgres.password` (0600).
    password: String,
    run_as: Option<&'static str>,
}

impl LocalPostgres {
    /// The cluster of `layout`, created when it does not exist yet.
    pub fn prepare(layout: &Layout, port: u16) -> Result<Self> {
        let run_as = super::running_as_root().then_some(SUPERUSER);
        let data = layout.postgres();
        let password_file = layout.postgres_password();
        if !data.join("PG_VERSION").is_file() {
            init(&data, &password_file, run_as, layout)?;
        }
        let password = std::fs::read_to_string(&password_file)
            .with_context(|| {
                format!(
                    "postgres: reading {} (remove {} to start a fresh cluster)",
                    password_file.display(),
                    data.display()
                )
            })?
            .trim()
            .to_owned();
        Ok(Self {
            data,
            port,
            password,
            run_as,
        })
    }

    /// The server, in the foreground: TCP on 127.0.0.1 only, no Unix socket.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = as_user(self.run_as, "postgres");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "max_connections=100"])
            .args(["-p", &self.port.to_string()]);
        tokio::process::Command::from(command)
    }

    /// Waits until the server says it accepts connections.
    pub async fn wait_ready(&self, proc: &Proc, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if std::fs::read_to_string(&proc.log).is_ok_and(|log| log.contains(READY_LINE)) {
                return Ok(());
            }
            super::startup_check(proc, deadline, timeout)?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The service's `DATABASE_URL` (holds the password: never printed).
    pub fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password, self.port
        )
    }

    /// What is shown: the URL without its password.
    pub fn shown_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DATABASE}", self.port)
    }
}

fn init(data: &Path, password_file: &Path, run_as: Option<&str>, layout: &Layout) -> Result<()> {
    std::fs::create_dir_all(data)?;
    std::fs::write(password_file, hex::encode(super::random_bytes::<16>()?))?;
    std::fs::set_permissions(password_file, std::fs::Permissions::from_mode(0o600))?;
    if let Some(user) = run_as {
        // the server's user must reach its directory through the state directory
        std::fs::set_permissions(&layout.root, std::fs::Permissions::from_mode(0o755))?;
        let owner = format!("{user}:{user}");
        for path in [data, password_file] {
            run_quiet(Command::new("chown").args(["-R", &owner]).arg(path))
                .with_context(|| format!("postgres: chown of {} to {user}", path.display()))?;
        }
        if !as_user(Some(user), "test")
            .arg("-w")
            .arg(data)
            .status()
            .is_ok_and(|status| status.success())
        {
            bail!(
                "postgres: the {user} user cannot write {} (as root the server runs as {user}): \
                 give a --state-dir it can reach",
                data.display()
            );
        }
    }
    let result = run_quiet(
        as_user(run_as, "initdb")
            .arg("-D")
            .arg(data)
            .args(["-U", SUPERUSER, "--auth=scram-sha-256", "--encoding=UTF8"])
            .args(["--locale=C", "--no-instructions"])
            .arg(format!("--pwfile={}", password_file.display())),
    )
    .and_then(|()| create_database(data, run_as));
    if let Err(error) = result {
        // a half-made cluster would be taken as made next time
        let _ = std::fs::remove_dir_all(data);
        return Err(error.context("postgres: creating the cluster"));
    }
    Ok(())
}

/// `CREATE DATABASE` in single-user mode, before any server runs (no
/// client tools needed).
fn create_database(data: &Path, run_as: Option<&str>) -> Result<()> {
    use std::io::Write as _;
    let mut child = as_user(run_as, "postgres")
        .args(["--single", "-D"])
        .arg(data)
        .arg("postgres")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting postgres --single")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(format!("CREATE DATABASE {DATABASE};\n").as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || stderr.contains("ERROR") {
        bail!("postgres --single: {}", stderr.trim());
    }
    Ok(())
}

fn as_user(run_as: Option<&str>, program: &str) -> Command {
    match run_as {
        Some(user) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={user}"))
                .arg(format!("--regid={user}"))
                .args(["--init-groups", "--", program]);
            command
        }
        None => Command::new(program),
    }
}

fn run_quiet(command: &mut Command) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
