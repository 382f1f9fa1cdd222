//! Shared by the asset-manager tests: asset directories and a client for a fake.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared_clients::llamastack::{LlamaStackClient, LlamaStackConfig};
use test_support::fake_llamastack::FakeLlamaStack;

/// The project's own example directory (the image default), always present.
pub fn project_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config")
}

/// The Python system's asset directory from `../shared/fixtures`, or `None`
/// after a visible SKIPPED line when this checkout has no shared fixtures.
pub fn fixture_assets(test: &str) -> Option<PathBuf> {
    test_support::fixtures::shared_fixture("asset-config", test)
}

/// A writable copy of `source`.
pub fn copy_of(source: &Path) -> tempfile::TempDir {
    let target = tempfile::tempdir().expect("temporary directory");
    copy_dir(source, target.path());
    target
}

fn copy_dir(from: &Path, to: &Path) {
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

pub fn client(fake: &FakeLlamaStack) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&fake.url())
        .expect("fake URL")
        .with_retries(2, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(10));
    LlamaStackClient::new(config).expect("client")
}
