//! The supervisor: starts the stack, says what runs and how to use it,
//! applies a change of the asset directory (copied into the service's,
//! which the service reloads, and `register-assets` run again over it),
//! and on Ctrl-C or SIGTERM (or
//! when a component dies) stops everything, last started first. In the
//! foreground it is `cargo xtask up` itself; with `--detach`, a process of
//! its own whose output goes to `logs/up.log`.

use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

use super::image::{self, Pod};
use super::process::Processes;
use super::reload::{self, AssetUpdate, ReloadCounts};
use super::settings::{Inference, Settings};
use super::stack::{self, Runner, shown};
use super::state::{State, Status};
use super::watch;

pub async fn supervise(settings: Settings) -> Result<()> {
    let layout = settings.layout.clone();
    std::fs::create_dir_all(layout.logs())?;
    let _ = std::fs::remove_file(layout.log("register-assets"));
    let mut state = State {
        pid: std::process::id(),
        guardian: None,
        status: Status::Starting,
        reason: None,
        ports: settings.args.ports,
        components: Vec::new(),
        summary: String::new(),
        reconciles: 0,
        last_reconcile: None,
        updates: 0,
        last_update: None,
    };
    state.write(&layout.state_file())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // a detached supervisor outlives its terminal
    let mut hangup = signal(SignalKind::hangup())?;

    let outcome = async {
        let dimension = super::checks::preflight(&settings).await?;
        let runner = match settings.args.image {
            false => Runner::Host,
            true => {
                let name = format!(
                    "ssa-up-{}",
                    &hex::encode(sha2_of(&layout.root.display().to_string()))[..12]
                );
                let (pod, note) =
                    Pod::from_build_records(name, settings.args.image_dir.as_deref())?;
                if let Some(note) = note {
                    say!("{note}");
                }
                pod.create().await?;
                Runner::Image(pod)
            }
        };
        let cleanup = match &runner {
            Runner::Image(pod) => pod.removal(),
            Runner::Host => String::new(),
        };
        let procs = Processes::new(&cleanup)?;
        anyhow::Ok((runner, procs, dimension))
    }
    .await;
    let (runner, procs, dimension) = match outcome {
        Ok(parts) => parts,
        Err(error) => return failed(&mut state, &layout, error, None, None).await,
    };
    state.guardian = procs.guardian_pid;
    if matches!(settings.inference, Inference::Stub) {
        say!(
            "up: no INFERENCE_URL: the model is openai-stub playing the laptop-refresh script. \
             Its replies are SCRIPTED, not a language model's."
        );
    }
    let begun = std::time::Instant::now();
    let started = tokio::select! {
        started = stack::start(&settings, &runner, &procs, dimension) => started,
        _ = interrupt.recv() => Err(anyhow::anyhow!("up: interrupted during startup")),
        _ = terminate.recv() => Err(anyhow::anyhow!("up: stopped during startup")),
    };
    let started = match started {
        Ok(started) => started,
        Err(error) => return failed(&mut state, &layout, error, Some(&procs), Some(&runner)).await,
    };

    let binary = settings.binary("self-service-agent");
    let api = format!("http://127.0.0.1:{}", settings.args.ports.api_port);
    let user = "alice.johnson@example.com";
    let mut summary = started.lines.join("\n");
    summary.push_str(&format!(
        "\n\nready in {:.1} s. Talk to the agent (as a demo employee of assets/mcp/employees.json):\n  \
         REQUEST_MANAGER_URL={api} CHAT_USER_ID={user} {} chat\n  \
         curl -s {api}/api/v1/requests/generic/sync -H 'x-user-id: {user}' -H 'content-type: application/json' \\\n    \
         -d '{{\"user_id\": \"{user}\", \"content\": \"I need a new laptop\", \"integration_type\": \"CLI\"}}'\n\
         Logs: {}/<component>.log\n",
        begun.elapsed().as_secs_f64(),
        shown(&binary),
        shown(&layout.logs()),
    ));
    if matches!(settings.inference, Inference::Stub) {
        summary.push_str(
            "The replies are SCRIPTED (openai-stub, the laptop-refresh script): \
             set INFERENCE_URL, INFERENCE_MODEL and INFERENCE_EMBEDDING_MODEL for a real model \
             (docs/local-stack.md).\n",
        );
    }
    let mut watching = match settings.args.no_watch {
        true => None,
        false => Some(watch::watch(&settings.assets)?),
    };
    if watching.is_some() {
        summary.push_str(&format!(
            "Watching {}: a saved change is copied to {} (the service reloads it) and register-assets runs again.\n",
            shown(&settings.assets),
            shown(&started.assets.dir())
        ));
    }
    summary.push_str(match settings.args.supervise {
        true => "Stop: cargo xtask down\n",
        false => "Stop: Ctrl-C\n",
    });
    say!("{summary}");
    state.status = Status::Ready;
    state.components = started.components;
    state.summary = summary;
    state.reconciles = 1;
    state.last_reconcile = Some(started.first_reconcile);
    state.write(&layout.state_file())?;

    // the watcher lives as long as `watching`: only its channel is borrowed
    let mut changes = watching.as_mut().map(|watch| &mut watch.changes);
    let reason = loop {
        tokio::select! {
            _ = interrupt.recv() => break None,
            _ = terminate.recv() => break None,
            // the terminal of a foreground stack is gone; a detached one has none
            _ = hangup.recv() => if !settings.args.supervise { break None },
            (proc, status) = procs.any_exit() => {
                break Some(format!("{} exited ({status}): see {}", proc.name, proc.log.display()));
            }
            Some(()) = async { match changes.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                // changes that came in meanwhile are covered by this run
                if let Some(rx) = changes.as_mut() { while rx.try_recv().is_ok() {} }
                apply_change(&started.assets, &api, &layout, &mut state).await;
                if let Err(error) = state.write(&layout.state_file()) {
                    say!("up: {error:#}");
                }
            }
        }
    };
    state.status = Status::Stopping;
    let _ = state.write(&layout.state_file());
    stop(&procs, Some(&runner)).await;
    state.status = match reason {
        Some(_) => Status::Failed,
        None => Status::Stopped,
    };
    state.reason.clone_from(&reason);
    state.write(&layout.state_file())?;
    match reason {
        Some(reason) => Err(anyhow::anyhow!("{reason}")),
        None => {
            say!("stopped");
            Ok(())
        }
    }
}

/// A saved change: the copy brought up to date (the service reloads it),
/// then, while `up` waits to see that reload, `register-assets` over the
/// copy. Nothing when the copy did not change.
async fn apply_change(
    assets: &stack::StackAssets,
    api: &str,
    layout: &super::settings::Layout,
    state: &mut State,
) {
    let before = ReloadCounts::read(api).await.unwrap_or_default();
    let changed = match assets.copy() {
        Ok(changed) if changed.is_empty() => return,
        Ok(changed) => changed,
        Err(error) => {
            say!("{error:#}");
            return;
        }
    };
    let (reload, reconcile) = tokio::join!(reload::wait(api, before), assets.register());
    let update = AssetUpdate { changed, reload };
    for line in update.lines(&assets.dir(), &layout.log("self-service-agent")) {
        say!("{line}");
    }
    state.updates += 1;
    state.last_update = Some(update);
    match reconcile {
        Ok(reconcile) => {
            say!("{}", reconcile.line());
            state.last_reconcile = Some(reconcile);
        }
        Err(error) => say!("{error:#}"),
    }
    state.reconciles += 1;
}

async fn failed(
    state: &mut State,
    layout: &super::settings::Layout,
    error: anyhow::Error,
    procs: Option<&Processes>,
    runner: Option<&Runner>,
) -> Result<()> {
    let line = format!("{error:#}");
    let hint = procs
        .and(runner)
        .filter(|runner| matches!(runner, Runner::Image(_)))
        .and_then(|_| {
            let logs = std::fs::read_dir(layout.logs()).ok()?;
            logs.flatten()
                .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
                .find_map(|text| image::hint(&text))
        });
    if let Some(procs) = procs {
        stop(procs, runner).await;
    }
    let line = match hint {
        Some(hint) => format!("{line} ({hint})"),
        None => line,
    };
    state.status = Status::Failed;
    state.reason = Some(line.clone());
    state.write(&layout.state_file())?;
    Err(anyhow::anyhow!("{line}"))
}

async fn stop(procs: &Processes, runner: Option<&Runner>) {
    procs
        .stop_all(|proc, took| {
            say!("stopped {:<19} ({:.1} s)", proc.name, took.as_secs_f64());
        })
        .await;
    if let Some(Runner::Image(pod)) = runner {
        pod.remove().await;
    }
    // let the stopped children's exits be reaped before the process ends
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn sha2_of(text: &str) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}
