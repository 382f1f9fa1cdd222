//! The Python system's fixtures in `../shared/fixtures` (beside the
//! checkout). CI has them; a clone elsewhere does not, so tests that need
//! them say so visibly and skip.

use std::path::PathBuf;

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

/// A `pg_dump` script without the psql-only meta-commands (`\restrict`),
/// ready for a plain SQL connection.
pub fn pg_dump_as_sql(dump: &str) -> String {
    dump.lines()
        .filter(|line| !line.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}
