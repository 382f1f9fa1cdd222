//! The asset directory watched: a change (a saved file, or Kubernetes
//! swapping a ConfigMap volume's `..data` link) reloads the agents; the
//! next turn uses them. A reload that fails keeps the agents in force and
//! says why. The directory is also read again every `interval`, for
//! filesystems that send no change events.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::event::{EventKind, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use crate::catalog::{Catalog, CatalogError};
use crate::turn::Runtime;

/// How long the directory must be quiet before a change counts (an
/// editor's save, or a ConfigMap update, is several events).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// What a reload did.
#[derive(Debug)]
pub enum Reloaded {
    /// The agents changed and are in force, loaded in `took`.
    Replaced { took: Duration },
    /// The directory was read again and describes the same agents.
    Unchanged,
    /// The directory is invalid now: the agents in force stay.
    Failed(CatalogError),
}

/// Watches `dir` for the life of the returned task (abort it to stop).
/// `report` hears of every reload.
pub fn watch(
    runtime: Arc<Runtime>,
    dir: PathBuf,
    interval: Duration,
    report: impl Fn(&Reloaded) + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let (tell, mut changes) = mpsc::unbounded_channel();
    let watcher = start_watcher(&dir, tell);
    tokio::spawn(async move {
        // Dropped with the task: the watcher stops with it.
        let _watcher = watcher;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                changed = changes.recv() => {
                    if changed.is_none() {
                        // No watcher: the interval alone.
                        tick.tick().await;
                    }
                }
                _ = tick.tick() => {}
            }
            let outcome = reload(&runtime, &dir).await;
            match &outcome {
                Reloaded::Replaced { took } => {
                    tracing::info!(dir = %dir.display(), took_ms = took.as_millis() as u64, "asset directory reloaded: new agents in force from the next turn");
                }
                Reloaded::Unchanged => {}
                Reloaded::Failed(error) => {
                    tracing::error!(%error, "asset directory reload failed; the agents loaded before stay in force");
                }
            }
            report(&outcome);
        }
    })
}

/// Reads `dir` again and puts its agents in force if they changed.
pub async fn reload(runtime: &Runtime, dir: &Path) -> Reloaded {
    let started = Instant::now();
    let routing = runtime.catalog().routing_agent().to_owned();
    let path = dir.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || Catalog::load(&path, &routing)).await;
    let catalog = match loaded {
        Ok(Ok(catalog)) => catalog,
        Ok(Err(error)) => return Reloaded::Failed(error),
        Err(join) => {
            tracing::error!(%join, "the asset loader stopped");
            return Reloaded::Unchanged;
        }
    };
    if catalog.assets() == runtime.catalog().assets() {
        return Reloaded::Unchanged;
    }
    runtime.replace_catalog(catalog);
    Reloaded::Replaced {
        took: started.elapsed(),
    }
}

fn start_watcher(
    dir: &Path,
    tell: mpsc::UnboundedSender<()>,
) -> Option<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        if events.iter().any(|event| counts(&event.kind)) {
            let _ = tell.send(());
        }
    });
    let mut debouncer = match debouncer {
        Ok(debouncer) => debouncer,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the asset directory; it is read again periodically");
            return None;
        }
    };
    if let Err(error) = debouncer.watch(dir, RecursiveMode::Recursive) {
        tracing::warn!(dir = %dir.display(), %error, "cannot watch the asset directory; it is read again periodically");
        return None;
    }
    Some(debouncer)
}

/// A change of content or of the tree (links included: a ConfigMap update
/// is a rename of `..data`); reading a file is not one.
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}
