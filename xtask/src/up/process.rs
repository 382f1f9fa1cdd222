//! The stack's long-running processes: each in a process group of its own
//! (a Ctrl-C in the terminal reaches only the supervisor, which stops them
//! in reverse order), its output in `logs/<component>.log`, its exit
//! watched. A guardian shell ends every group if the supervisor dies
//! without stopping them (SIGKILL included).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncWriteExt as _;
use tokio::process::{ChildStdin, Command};
use tokio::sync::watch;

/// One running component.
#[derive(Debug)]
pub struct Proc {
    pub name: &'static str,
    pub pid: u32,
    pub log: PathBuf,
    /// What asks it to stop: SIGTERM, or SIGINT for PostgreSQL (fast
    /// shutdown).
    stop_signal: Signal,
    /// How long it may take to stop before its group is killed.
    grace: Duration,
    exit: watch::Receiver<Option<ExitStatus>>,
}

impl Proc {
    /// Its exit status, once it has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits until it exits.
    pub async fn wait(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        loop {
            if let Some(status) = *exit.borrow_and_update() {
                return status;
            }
            if exit.changed().await.is_err() {
                // the waiting task is gone: nothing more will be heard
                return self.exited().unwrap_or_default();
            }
        }
    }

    /// Asks it to stop, kills its group after the grace period, and kills
    /// whatever else is left in its group. Returns how long it took.
    pub async fn stop(&self) -> Duration {
        let begun = Instant::now();
        if self.exited().is_none() {
            signal_group(self.pid, self.stop_signal);
            if tokio::time::timeout(self.grace, self.wait()).await.is_err() {
                signal_group(self.pid, Signal::KILL);
                self.wait().await;
            }
        }
        signal_group(self.pid, Signal::KILL);
        begun.elapsed()
    }
}

/// Sends `signal` to the process group `pgid`; a group already gone is fine.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, signal);
    }
}

/// The processes of a stack, in start order.
#[derive(Debug)]
pub struct Processes {
    running: Mutex<Vec<std::sync::Arc<Proc>>>,
    guardian: tokio::sync::Mutex<Option<ChildStdin>>,
    /// The guardian shell's pid.
    pub guardian_pid: Option<u32>,
}

impl Processes {
    /// Starts the guardian; `cleanup` is a shell command it runs after
    /// ending the groups (for `--image`: removing the pod), or empty.
    pub fn new(cleanup: &str) -> Result<Self> {
        // Reads one process group id a line; on end of input (the
        // supervisor gone) ends every group: SIGINT, SIGKILL after 5 s.
        // `clean` means they were stopped already.
        let script = "trap '' INT TERM HUP; groups=''; \
            while read -r line; do \
              case \"$line\" in clean) exit 0;; *) groups=\"$groups $line\";; esac; \
            done; \
            for g in $groups; do kill -INT -\"$g\" 2>/dev/null; done; i=0; \
            while [ $i -lt 50 ]; do alive=''; \
              for g in $groups; do kill -0 -\"$g\" 2>/dev/null && alive=1; done; \
              [ -z \"$alive\" ] && break; sleep 0.1; i=$((i+1)); done; \
            for g in $groups; do kill -KILL -\"$g\" 2>/dev/null; done; \
            [ -n \"$0\" ] && sh -c \"$0\" >/dev/null 2>&1; exit 0";
        let mut guardian = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(cleanup)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the guardian shell")?;
        let stdin = guardian.stdin.take().context("the guardian's stdin")?;
        let guardian_pid = guardian.id();
        // it exits by itself; reaped in the background
        tokio::spawn(async move {
            let _ = guardian.wait().await;
        });
        Ok(Self {
            running: Mutex::new(Vec::new()),
            guardian: tokio::sync::Mutex::new(Some(stdin)),
            guardian_pid,
        })
    }

    /// Starts `command` as component `name` in a group of its own, its
    /// output in `log` (truncated).
    pub async fn spawn(
        &self,
        name: &'static str,
        command: &mut Command,
        log: &Path,
        stop: Stop,
    ) -> Result<std::sync::Arc<Proc>> {
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .with_context(|| {
                format!("{name}: cannot start {:?}", command.as_std().get_program())
            })?;
        let pid = child.id().context("a started child has a pid")?;
        if let Some(guardian) = self.guardian.lock().await.as_mut() {
            let _ = guardian.write_all(format!("{pid}\n").as_bytes()).await;
            let _ = guardian.flush().await;
        }
        let (tell, exit) = watch::channel(None);
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = tell.send(Some(status));
            }
        });
        let (stop_signal, grace) = match stop {
            Stop::Term(grace) => (Signal::TERM, grace),
            Stop::Int(grace) => (Signal::INT, grace),
        };
        let proc = std::sync::Arc::new(Proc {
            name,
            pid,
            log: log.to_path_buf(),
            stop_signal,
            grace,
            exit,
        });
        if let Ok(mut running) = self.running.lock() {
            running.push(proc.clone());
        }
        Ok(proc)
    }

    /// The running components, in start order.
    pub fn list(&self) -> Vec<std::sync::Arc<Proc>> {
        self.running
            .lock()
            .map(|running| running.clone())
            .unwrap_or_default()
    }

    /// Resolves when any component exits.
    pub async fn any_exit(&self) -> (std::sync::Arc<Proc>, ExitStatus) {
        let procs = self.list();
        if procs.is_empty() {
            std::future::pending::<()>().await;
        }
        let waits = procs.iter().map(|proc| {
            let proc = proc.clone();
            Box::pin(async move {
                let status = proc.wait().await;
                (proc, status)
            })
        });
        futures_select_all(waits).await
    }

    /// Stops every component, last started first; `report` hears each.
    pub async fn stop_all(&self, mut report: impl FnMut(&Proc, Duration)) {
        let procs = self.list();
        for proc in procs.iter().rev() {
            let took = proc.stop().await;
            report(proc, took);
        }
        if let Ok(mut running) = self.running.lock() {
            running.clear();
        }
        if let Some(mut guardian) = self.guardian.lock().await.take() {
            let _ = guardian.write_all(b"clean\n").await;
            let _ = guardian.flush().await;
        }
    }
}

/// How a component is asked to stop, and how long it may take.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Term(Duration),
    Int(Duration),
}

/// The first of `futures` to finish.
async fn futures_select_all<F, T>(futures: impl Iterator<Item = F>) -> T
where
    F: std::future::Future<Output = T> + Unpin,
{
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(move |cx| {
        for future in &mut futures {
            if let std::task::Poll::Ready(value) = std::pin::Pin::new(future).poll(cx) {
                return std::task::Poll::Ready(value);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Runs a one-shot command to completion, its output appended to `log`;
/// fails naming `name` and the log.
pub async fn run_once(
    name: &str,
    command: &mut Command,
    log: &Path,
) -> Result<std::process::Output> {
    let output = command
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("{name}: cannot start {:?}", command.as_std().get_program()))?;
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    file.write_all(&output.stdout)?;
    file.write_all(&output.stderr)?;
    if !output.status.success() {
        bail!("{name} failed ({}): see {}", output.status, log.display());
    }
    Ok(output)
}
