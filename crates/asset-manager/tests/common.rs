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
#[allow(unused_imports)] // not every test binary uses it
pub use test_support::fixtures::copy_of;

pub fn client(fake: &FakeLlamaStack) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&fake.url())
        .expect("fake URL")
        .with_retries(2, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(10));
    LlamaStackClient::new(config).expect("client")
}
