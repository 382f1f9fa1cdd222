//! The asset directory as the local stack runs it: a copy in the state
//! directory (`<state>/assets`) whose toolgroups point at the local MCP
//! servers (the project's name Kubernetes Services). The service reads
//! that copy (`ASSET_CONFIG_DIR`) and reloads it when it changes;
//! `register-assets` reads it too. The copy is updated in place, file by
//! file (each written beside its place and renamed over it), so the
//! directory the service watches, or a container mounts, stays the same
//! one. Also: what `register-assets` did with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

/// The most the copy holds: far above what the loaders read
/// (`ASSET_MAX_TOTAL_BYTES`, docs/chart.md), so a mistaken `--assets`
/// fails in one line instead of filling the disk.
const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;

/// What [`sync`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Synced {
    /// The paths (relative, `/`-separated) written, created or removed.
    pub changed: Vec<String>,
    /// The toolgroups left as they were: no local MCP server has their name.
    pub unrouted: Vec<String>,
}

/// Makes `target` a copy of `source` (links followed; hidden files, editor
/// backups and anything but files and directories left out), the `uri` of
/// each `toolgroups/*.yaml` whose `name` has a server in `servers` (name →
/// base URL) pointed at it, keeping the uri's path. Only what differs is
/// written or removed.
pub fn sync(source: &Path, target: &Path, servers: &[(&str, String)]) -> Result<Synced> {
    let mut wanted = Tree::default();
    let mut total = 0;
    read_tree(source, Path::new(""), &mut wanted, &mut total)?;
    let mut unrouted = Vec::new();
    for (path, content) in &mut wanted.files {
        let in_toolgroups = path.parent() == Some(Path::new("toolgroups"));
        let yaml = path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if !(in_toolgroups && yaml) {
            continue;
        }
        let text = String::from_utf8_lossy(content).into_owned();
        let name = value_of(&text, "name").unwrap_or_default();
        match servers.iter().find(|(server, _)| *server == name) {
            Some((_, base)) => *content = with_uri_at(&text, base).into_bytes(),
            None => unrouted.push(name),
        }
    }
    unrouted.sort();

    std::fs::create_dir_all(target).with_context(|| format!("creating {}", target.display()))?;
    let mut changed = BTreeSet::new();
    remove_unwanted(target, Path::new(""), &wanted, &mut changed)?;
    for dir in &wanted.dirs {
        std::fs::create_dir_all(target.join(dir))
            .with_context(|| format!("creating {}", target.join(dir).display()))?;
    }
    for (path, content) in &wanted.files {
        let place = target.join(path);
        if std::fs::read(&place).is_ok_and(|present| present == *content) {
            continue;
        }
        write_in_place(&place, content)?;
        changed.insert(shown(path));
    }
    Ok(Synced {
        changed: changed.into_iter().collect(),
        unrouted,
    })
}

/// The files (relative path → content) and directories of a copy.
#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
}

fn read_tree(root: &Path, relative: &Path, tree: &mut Tree, total: &mut u64) -> Result<()> {
    let dir = root.join(relative);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // a dangling link: the loader would refuse it too
        };
        let relative = relative.join(&name);
        if meta.is_dir() {
            tree.dirs.insert(relative.clone());
            read_tree(root, &relative, tree, total)?;
        } else if meta.is_file() {
            *total += meta.len();
            if *total > MAX_TOTAL_BYTES {
                bail!(
                    "assets: {} holds more than {} MiB of files: is it the asset directory?",
                    root.display(),
                    MAX_TOTAL_BYTES >> 20
                );
            }
            let content =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            tree.files.insert(relative, content);
        }
    }
    Ok(())
}

/// Removes what `target` holds and `wanted` does not (a file where a
/// directory belongs, or the other way round, included).
fn remove_unwanted(
    root: &Path,
    relative: &Path,
    wanted: &Tree,
    changed: &mut BTreeSet<String>,
) -> Result<()> {
    let dir = root.join(relative);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let relative = relative.join(entry.file_name());
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() && wanted.dirs.contains(&relative) {
            remove_unwanted(root, &relative, wanted, changed)?;
            continue;
        }
        if kind.is_file() && wanted.files.contains_key(&relative) {
            continue;
        }
        if kind.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("removing {}", path.display()))?;
        // what a crash left mid-write is no change of the directory
        if !entry.file_name().to_string_lossy().starts_with('.') {
            changed.insert(shown(&relative));
        }
    }
    Ok(())
}

/// Writes `place` whole: beside it under a hidden name, then renamed over it.
fn write_in_place(place: &Path, content: &[u8]) -> Result<()> {
    let name = place
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = place.with_file_name(format!(".{name}.up-new"));
    std::fs::write(&temporary, content)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, place).with_context(|| format!("writing {}", place.display()))
}

/// A relative path as `up` prints it.
fn shown(relative: &Path) -> String {
    relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The value of a top-level `key: value` line, quotes removed.
fn value_of(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
}

/// `text` with its top-level `uri:` on `base`, the old uri's path kept.
fn with_uri_at(text: &str, base: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("uri:") {
            Some(value) => {
                let uri = value.trim().trim_matches(|c| c == '"' || c == '\'');
                let path = uri
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
                    .unwrap_or("/mcp");
                lines.push(format!("uri: \"{base}{path}\""));
            }
            None => lines.push(line.to_owned()),
        }
    }
    lines.join("\n") + "\n"
}

/// What one `register-assets` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reconcile {
    /// Its summary line: `created=N replaced=N unchanged=N pruned=N failed=N`.
    pub summary: String,
    /// `<action> <kind> <name>` of each step that changed something.
    pub changes: Vec<String>,
    /// `<kind> <name>: <error>` of each failed step.
    pub failures: Vec<String>,
}

impl Reconcile {
    /// Reads its stdout (the summary) and its JSON log lines
    /// (`LOG_FORMAT=json`; `crates/asset-manager/src/apply/mod.rs` logs
    /// each step that changed something or failed).
    pub fn read(stdout: &str, stderr: &str) -> Self {
        let summary = stdout
            .lines()
            .rev()
            .find(|line| line.contains("created="))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut reconcile = Self {
            summary,
            ..Self::default()
        };
        for line in stderr.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let fields = if event["fields"].is_object() {
                &event["fields"]
            } else {
                &event
            };
            let text = |key: &str| fields[key].as_str().unwrap_or_default().to_owned();
            let (kind, name, action) = (text("kind"), text("name"), text("action"));
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            if text("message") == "step failed" {
                reconcile
                    .failures
                    .push(format!("{kind} {name}: {}", text("error")));
            } else if !action.is_empty() {
                reconcile.changes.push(format!("{action} {kind} {name}"));
            }
        }
        reconcile
    }

    /// The line `up` prints: the summary, then what changed.
    pub fn line(&self) -> String {
        let mut line = format!("register-assets: {}", self.summary);
        if !self.changes.is_empty() {
            line.push_str(&format!(" ({})", self.changes.join(", ")));
        }
        if !self.failures.is_empty() {
            line.push_str(&format!(" FAILED: {}", self.failures.join("; ")));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toolgroup_uri_moves_to_its_local_server_and_keeps_its_path() {
        let text = "name: \"snow\"\nuri: \"http://self-service-agent-snow:8000/sse\"\ntransport: \"sse\"\n";
        assert_eq!(
            with_uri_at(text, "http://127.0.0.1:8102"),
            "name: \"snow\"\nuri: \"http://127.0.0.1:8102/sse\"\ntransport: \"sse\"\n"
        );
    }

    #[test]
    fn the_reconcile_names_what_changed_and_what_failed() {
        let stdout = "created=0 replaced=1 unchanged=0 pruned=1 failed=1\n";
        let stderr = concat!(
            "not json\n",
            r#"{"level":"INFO","message":"documents changed","kind":"vector-store","name":"laptop-refresh","action":"replace"}"#,
            "\n",
            r#"{"level":"ERROR","message":"step failed","kind":"vector-store","name":"old-policies","action":"prune","error":"500"}"#,
            "\n",
            r#"{"level":"INFO","message":"assets reconciled","summary":"created=0"}"#,
            "\n"
        );
        let reconcile = Reconcile::read(stdout, stderr);
        assert_eq!(reconcile.changes, ["replace vector-store laptop-refresh"]);
        assert_eq!(reconcile.failures, ["vector-store old-policies: 500"]);
        assert_eq!(
            reconcile.line(),
            "register-assets: created=0 replaced=1 unchanged=0 pruned=1 failed=1 \
             (replace vector-store laptop-refresh) FAILED: vector-store old-policies: 500"
        );
    }

    /// A source directory: an agent, a prompt, a toolgroup, a knowledge
    /// base document, and what the copy leaves out.
    fn source() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("agents/a.yaml", "name: a\n");
        write("prompts/a.txt", "You are a.\n");
        write(
            "toolgroups/snow.yaml",
            "name: snow\nuri: \"http://self-service-agent-snow:8000/mcp\"\n",
        );
        write(
            "toolgroups/other.yaml",
            "name: other\nuri: \"http://other:8000/mcp\"\n",
        );
        write("knowledge_bases/kb/doc.txt", "Three years.\n");
        write("prompts/.a.txt.swp", "editor state");
        write("prompts/a.txt~", "backup");
        dir
    }

    fn servers() -> Vec<(&'static str, String)> {
        vec![("snow", "http://127.0.0.1:8102".to_owned())]
    }

    #[test]
    fn the_first_sync_copies_everything_but_hidden_files_and_backups() {
        let (source, target) = (source(), tempfile::tempdir().unwrap());
        let synced = sync(source.path(), target.path(), &servers()).unwrap();
        assert_eq!(
            synced.changed,
            [
                "agents/a.yaml",
                "knowledge_bases/kb/doc.txt",
                "prompts/a.txt",
                "toolgroups/other.yaml",
                "toolgroups/snow.yaml"
            ]
        );
        assert_eq!(synced.unrouted, ["other"]);
        assert_eq!(
            std::fs::read_to_string(target.path().join("toolgroups/snow.yaml")).unwrap(),
            "name: snow\nuri: \"http://127.0.0.1:8102/mcp\"\n"
        );
        assert!(!target.path().join("prompts/.a.txt.swp").exists());
        assert!(!target.path().join("prompts/a.txt~").exists());
    }

    #[test]
    fn a_sync_writes_only_what_changed_in_the_same_directory() {
        let (source, target) = (source(), tempfile::tempdir().unwrap());
        sync(source.path(), target.path(), &servers()).unwrap();
        let again = sync(source.path(), target.path(), &servers()).unwrap();
        assert!(again.changed.is_empty(), "{again:?}");

        use std::os::unix::fs::MetadataExt as _;
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
        let (dir, agent) = (
            inode(target.path()),
            inode(&target.path().join("agents/a.yaml")),
        );
        std::fs::write(source.path().join("prompts/a.txt"), "You are a, kind.\n").unwrap();
        let edited = sync(source.path(), target.path(), &servers()).unwrap();
        assert_eq!(edited.changed, ["prompts/a.txt"]);
        assert_eq!(
            std::fs::read_to_string(target.path().join("prompts/a.txt")).unwrap(),
            "You are a, kind.\n"
        );
        assert_eq!(inode(target.path()), dir, "the watched directory stays");
        assert_eq!(inode(&target.path().join("agents/a.yaml")), agent);
        let left: Vec<_> = std::fs::read_dir(target.path().join("prompts"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a.txt"], "no temporary file left");
    }

    #[test]
    fn a_sync_removes_what_left_the_source() {
        let (source, target) = (source(), tempfile::tempdir().unwrap());
        sync(source.path(), target.path(), &servers()).unwrap();
        std::fs::remove_dir_all(source.path().join("knowledge_bases/kb")).unwrap();
        std::fs::remove_file(source.path().join("toolgroups/other.yaml")).unwrap();
        let synced = sync(source.path(), target.path(), &servers()).unwrap();
        assert_eq!(
            synced.changed,
            ["knowledge_bases/kb", "toolgroups/other.yaml"]
        );
        assert!(!target.path().join("knowledge_bases/kb").exists());
        assert!(target.path().join("knowledge_bases").is_dir());
        assert!(synced.unrouted.is_empty());
    }
}
