//! The Python system's fixtures in `../shared/fixtures` (beside the
//! checkout). CI has them; a clone elsewhere does not, so tests that need
//! them say so visibly and skip. Also: writable copies of fixture
//! directories.

use std::path::{Path, PathBuf};

pub use crate::workspace_root;

/// `<workspace>/../shared/fixtures/<relative>`, or `SSA_SHARED_FIXTURES/<relative>`.
/// `None` (after printing a SKIPPED line for `test`) when it does not exist.
pub fn shared_fixture(relative: &str, test: &str) -> Option<PathBuf> {
    let base = std::env::var_os("SSA_SHARED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("../shared/fixtures"));
    let path = base.join(relative);
    if path.exists() {
        Some(path)
    } else {
        crate::report_skip(
            test,
            &format!(
                "shared fixture {} is absent (only present beside the CI checkout)",
                path.display()
            ),
        );
        None
    }
}

/// Copies the directory `from`, recursively, to `to` (created if absent).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A writable copy of the directory `source`, in a fresh temporary
/// directory.
pub fn copy_of(source: &Path) -> tempfile::TempDir {
    let target = tempfile::tempdir().expect("temporary directory");
    copy_dir(source, target.path());
    target
}

/// A `pg_dump` script without the psql-only meta-commands (`\restrict`),
/// ready for a plain SQL connection.
pub fn pg_dump_as_sql(dump: &str) -> String {
    dump.lines()
        .filter(|line| !line.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}
