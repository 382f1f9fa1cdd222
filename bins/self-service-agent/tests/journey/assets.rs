//! Asset directories pointed at the servers a test started: a writable
//! copy whose toolgroup uris name the local MCP servers, and the edits the
//! tests make to it.

use std::path::Path;

/// A copy of `source` in a fresh temporary directory.
pub use test_support::fixtures::copy_of;

/// Rewrites the `uri:` of every `toolgroups/*.yaml` to the base URL of
/// the server `base_of(<toolgroup name>)`, followed by `path`, or by the
/// uri's own path when `path` is `None` (`/sse` stays `/sse`).
pub fn point_toolgroups_at(dir: &Path, base_of: impl Fn(&str) -> String, path: Option<&str>) {
    for entry in std::fs::read_dir(dir.join("toolgroups")).unwrap() {
        let file = entry.unwrap().path();
        let text = std::fs::read_to_string(&file).unwrap();
        let name = value_of(&text, "name").unwrap_or_else(|| panic!("{}: no name", file.display()));
        let uri = value_of(&text, "uri").unwrap_or_else(|| panic!("{}: no uri", file.display()));
        let own_path = uri
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
            .unwrap_or("/");
        let new_uri = format!("{}{}", base_of(&name), path.unwrap_or(own_path));
        write(&file, &with_value(&text, "uri", &new_uri));
    }
}

/// Sets the top-level `key:` of the YAML file `relative` to the string
/// `value` (an agent's `model`, a toolgroup's `uri`).
pub fn set_value(dir: &Path, relative: &str, key: &str, value: &str) {
    let file = dir.join(relative);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    write(&file, &with_value(&text, key, value));
}

/// Appends `text` to the file `relative` (a prompt).
pub fn append(dir: &Path, relative: &str, text: &str) {
    let file = dir.join(relative);
    let before = std::fs::read_to_string(&file)
        .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    write(&file, &format!("{before}{text}"));
}

/// Writes `file` aside and renames it into place, as an editor or
/// Kubernetes does: a reader never sees half a file.
fn write(file: &Path, text: &str) {
    let staged = file.with_extension("staged~");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, file).unwrap();
}

/// The value of a top-level `key: "value"` line.
fn value_of(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
        Some(value.trim_matches('"').to_owned())
    })
}

/// `text` with its top-level `key:` line set to `value` (added when absent).
fn with_value(text: &str, key: &str, value: &str) -> String {
    let line = format!("{key}: \"{value}\"");
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|existing| {
            if existing
                .strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
            {
                found = true;
                line.clone()
            } else {
                existing.to_owned()
            }
        })
        .collect();
    if !found {
        lines.push(line);
    }
    lines.join("\n") + "\n"
}
