//! `target/image/last-build.json`: what the last `build-image` produced,
//! read by `push` and by the Helm tasks (which pin the image by digest).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One built image. `reference`, `repository`, `tag` and `digest` are the
/// contract with the Helm tasks; the rest is for `push` and for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// `registry/repo:tag`
    pub reference: String,
    /// `registry/repo`
    pub repository: String,
    pub tag: String,
    /// Manifest digest of the OCI archive, which is also the digest the
    /// registry reports after `push` (blobs and manifest go up unchanged).
    /// Absent for docker builds until they are pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The OCI image archive (`oci-archive:` transport), when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<PathBuf>,
    /// `podman`, `buildah`, `docker` or `none` (archive written by xtask).
    pub builder: String,
    pub version: String,
    pub revision: String,
    pub source_date_epoch: i64,
    /// Where the image was last pushed, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
}

impl BuildRecord {
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).with_context(|| {
            format!(
                "reading {} (run `cargo xtask build-image` first)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// `repository@digest` when the digest is known, else `reference`.
    pub fn pinned(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}@{digest}", self.repository),
            None => self.reference.clone(),
        }
    }
}
