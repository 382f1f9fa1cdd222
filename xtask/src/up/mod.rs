//! `cargo xtask up`: the whole system on this machine, as the chart runs
//! it in a cluster (`docs/local-stack.md`): a local PostgreSQL (or
//! `DATABASE_URL`), LlamaStack (OGX 1.5.0, or `--server 0.7.3|0.2.18`)
//! from the provisioned venv with a model behind it (`INFERENCE_URL`, or the project's stub playing
//! scripted replies), both MCP servers, then `db-migrate up`,
//! `register-assets` and `self-service-agent serve`, all on 127.0.0.1.
//! The asset directory is watched: a change is copied into the service's
//! asset directory (which the service reloads) and `register-assets` runs
//! again.
//! `--detach` leaves a supervisor running; `cargo xtask down` stops it.
//!
//! Layout: `settings` (flags, environment, state directory), `checks`
//! (what is checked before anything starts), `stack` (the start sequence),
//! `supervisor` (the foreground loop and the stop), `process` (children in
//! process groups, the guardian), `postgres`, `llamastack`, `assets`
//! (the stack's copy of the asset directory), `watch`, `reload` (how the
//! service took a change), `image` (`--image`: the built images in a podman pod), `state`
//! (`up.json`).

/// `println!` that never panics: the terminal or a pipe (`| tee`) may be
/// gone while the stack stops, and the stop must go on.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod assets;
mod checks;
mod image;
mod llamastack;
mod postgres;
mod process;
mod reload;
mod settings;
mod stack;
mod state;
mod supervisor;
mod watch;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};

pub use assets::Reconcile;
pub use reload::{AssetUpdate, Reload};
pub use settings::{DownArgs, Ports, UpArgs};
pub use state::{Component, State, Status, process_alive};

use process::Proc;
use settings::{Inference, Layout, Settings};

/// `cargo xtask up`. Every failure is one line.
pub fn run(args: UpArgs) -> Result<()> {
    up(args).map_err(|error| anyhow!("{error:#}"))
}

/// `cargo xtask down`.
pub fn down(args: DownArgs) -> Result<()> {
    stop_detached(&Layout::new(args.state_dir.as_deref())).map_err(|error| anyhow!("{error:#}"))
}

fn up(args: UpArgs) -> Result<()> {
    let settings = Settings::new(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if settings.args.supervise {
        return runtime.block_on(supervisor::supervise(settings));
    }
    runtime.block_on(checks::preflight(&settings))?;
    if !settings.args.no_build {
        build(&settings)?;
    }
    if settings.args.detach {
        return detach(&settings);
    }
    runtime.block_on(supervisor::supervise(settings))
}

/// `cargo build` of the binaries this run starts from the host.
fn build(settings: &Settings) -> Result<()> {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(crate::workspace::root()).arg("build");
    if settings.args.release {
        command.arg("--release");
    }
    let mut binaries: Vec<&str> = Vec::new();
    if !settings.args.image {
        binaries.extend(["db-migrate", "register-assets", "self-service-agent"]);
    }
    // the MCP servers run from the host when their images are missing
    binaries.extend(["mcp-employee-info", "mcp-snow"]);
    if matches!(settings.inference, Inference::Stub) {
        command.args(["-p", "test-support"]);
        binaries.push("openai-stub");
    }
    for binary in &binaries {
        if *binary != "openai-stub" {
            command.args(["-p", binary]);
        }
        command.args(["--bin", binary]);
    }
    let status = command.status().context("up: running cargo build")?;
    if !status.success() {
        bail!("up: cargo build failed ({status}): fix the build, or run with --no-build");
    }
    Ok(())
}

/// Starts the supervisor in the background (a process group of its own,
/// its output in `logs/up.log`) and waits until it is ready or failed.
fn detach(settings: &Settings) -> Result<()> {
    let layout = &settings.layout;
    std::fs::create_dir_all(layout.logs())?;
    let log_path = layout.log("up");
    let log = std::fs::File::create(&log_path)?;
    let _ = std::fs::remove_file(layout.state_file());
    let mut args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach" && arg != "--no-build")
        .collect();
    args.extend(["--supervise".into(), "--no-build".into()]);
    use std::os::unix::process::CommandExt as _;
    let mut supervisor = Command::new(std::env::current_exe()?)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("up: starting the supervisor")?;
    loop {
        if let Some(state) = State::read(&layout.state_file())
            && state.pid == supervisor.id()
        {
            match state.status {
                Status::Ready => {
                    print!(
                        "{}",
                        state
                            .summary
                            .replace("Stop: Ctrl-C", "Stop: cargo xtask down")
                    );
                    println!(
                        "supervisor: pid {} (its output in {})",
                        state.pid,
                        stack::shown(&log_path)
                    );
                    return Ok(());
                }
                Status::Failed | Status::Stopped => {
                    let _ = supervisor.wait();
                    bail!(
                        "{}",
                        state
                            .reason
                            .unwrap_or_else(|| "up: the stack stopped".into())
                    );
                }
                Status::Starting | Status::Stopping => {}
            }
        }
        if let Some(status) = supervisor.try_wait()? {
            let mut text = String::new();
            let _ = std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text));
            let last = text
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default();
            bail!("up: the supervisor exited ({status}): {last}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the supervisor of `layout` (it stops the stack), then makes sure
/// no component of it is left.
fn stop_detached(layout: &Layout) -> Result<()> {
    let Some(state) = State::read(&layout.state_file()) else {
        println!("nothing running in {}", stack::shown(&layout.root));
        return Ok(());
    };
    let was_running = state.supervisor_alive();
    if was_running {
        process::signal_group(state.pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(90);
        while process_alive(state.pid) {
            if Instant::now() >= deadline {
                process::signal_group(state.pid, rustix::process::Signal::KILL);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut leftovers = Vec::new();
    for component in &state.components {
        if let Some(pid) = component.pid
            && process_alive(pid)
        {
            process::signal_group(pid, rustix::process::Signal::KILL);
            leftovers.push(component.name.as_str());
        }
    }
    let after = State::read(&layout.state_file()).unwrap_or(state.clone());
    if !leftovers.is_empty() {
        bail!(
            "down: killed what the supervisor left running: {}",
            leftovers.join(", ")
        );
    }
    if was_running {
        println!(
            "stopped {} ({} processes)",
            stack::shown(&layout.root),
            state.components.iter().filter(|c| c.pid.is_some()).count()
        );
    } else {
        println!(
            "nothing running in {} (last: {:?})",
            stack::shown(&layout.root),
            after.status
        );
    }
    Ok(())
}

/// Whether this process runs as root.
pub(crate) fn running_as_root() -> bool {
    rustix::process::getuid().is_root()
}

/// `N` random bytes from the kernel.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// `GET url`'s body, when it answers 2xx.
pub(crate) async fn http_text(url: &str) -> Option<String> {
    let answer = client().get(url).send().await.ok()?;
    if !answer.status().is_success() {
        return None;
    }
    answer.text().await.ok()
}

/// `GET url` answers 2xx.
pub(crate) async fn http_ok(url: &str) -> bool {
    client()
        .get(url)
        .send()
        .await
        .is_ok_and(|answer| answer.status().is_success())
}

/// `GET url`'s JSON body, when it answers 2xx.
pub(crate) async fn http_json(url: &str) -> Option<serde_json::Value> {
    let answer = client().get(url).send().await.ok()?;
    if !answer.status().is_success() {
        return None;
    }
    answer.json().await.ok()
}

/// Fails when `proc` exited or `deadline` passed, naming it and its log.
pub(crate) fn startup_check(proc: &Proc, deadline: Instant, timeout: Duration) -> Result<()> {
    if let Some(status) = proc.exited() {
        bail!(
            "{} exited during startup ({status}): see {}",
            proc.name,
            stack::shown(&proc.log)
        );
    }
    if Instant::now() >= deadline {
        bail!(
            "{} was not ready within {} s: see {}",
            proc.name,
            timeout.as_secs(),
            stack::shown(&proc.log)
        );
    }
    Ok(())
}

/// Waits until `GET url` answers 2xx.
pub(crate) async fn wait_http(proc: &Arc<Proc>, url: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !http_ok(url).await {
        startup_check(proc, deadline, timeout)?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
