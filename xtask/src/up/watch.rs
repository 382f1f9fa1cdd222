//! The editing loop's trigger: the asset directory watched (inotify
//! through `notify`), a burst of changes (an editor's save is several
//! events) debounced into one signal.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use notify_debouncer_full::notify::event::{EventKind, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// How long the directory must be quiet before a change counts.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Changes of a watched directory; stops watching when dropped.
pub struct Watch {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    pub changes: mpsc::UnboundedReceiver<()>,
}

/// Watches `dir` and everything below it.
pub fn watch(dir: &Path) -> Result<Watch> {
    let (tell, changes) = mpsc::unbounded_channel();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        if events
            .iter()
            .any(|event| counts(&event.kind) && event.paths.iter().any(|path| !ignored(path)))
        {
            let _ = tell.send(());
        }
    })
    .context("starting the asset watcher")?;
    debouncer
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    Ok(Watch {
        _debouncer: debouncer,
        changes,
    })
}

/// A change of content or of the tree; reading a file (as the copy does)
/// is not one.
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Editor swap files and backups, which the copy leaves out too
/// (`assets.rs`).
fn ignored(path: &Path) -> bool {
    path.file_name()
        .map(|name| name.to_string_lossy())
        .is_some_and(|name| name.starts_with('.') || name.ends_with('~'))
}
