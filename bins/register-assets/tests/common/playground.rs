//! Hostile asset directories: a copy of the project's assets to spoil, and
//! the binary run on it with the checks every refusal must pass.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use test_support::fake_llamastack::FakeLlamaStack;

use super::{copy_dir, project_assets, register, stderr, stdout};

pub const KB: &str = "knowledge_bases/laptop-refresh";

/// A copy of the project's assets at `<tmp>/assets`, and `<tmp>/outside`
/// beside it holding a file `secret.txt`.
pub struct Playground {
    _tmp: tempfile::TempDir,
    pub assets: PathBuf,
    pub outside: PathBuf,
}

impl Playground {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let assets = tmp.path().join("assets");
        copy_dir(&project_assets(), &assets);
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("secret.txt"), "not for LlamaStack").expect("write");
        Self {
            _tmp: tmp,
            assets,
            outside,
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.assets.join(relative)
    }

    pub fn link(&self, relative: &str, target: impl AsRef<Path>) {
        symlink(target, self.path(relative)).expect("symlink");
    }
}

/// Runs the binary on `dir` against a fresh fake; returns its output, the
/// fake (to check what reached it) and how long the run took.
pub async fn run(dir: &Path, env: &[(&str, &str)]) -> (Output, FakeLlamaStack, Duration) {
    let fake = FakeLlamaStack::start().await;
    let started = Instant::now();
    let output = register(Some(&fake.url()), dir, &[], env).await;
    (output, fake, started.elapsed())
}

/// Exit 78, one stderr line naming `path` and saying `why`, LlamaStack untouched.
pub fn assert_refused(run: &(Output, FakeLlamaStack, Duration), path: &str, why: &str) {
    let (output, fake, took) = run;
    let error = stderr(output);
    assert_eq!(output.status.code(), Some(78), "{error}");
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {error}");
    assert!(
        lines[0].starts_with(&format!("register-assets: error: {path}: ")),
        "names {path}: {error}"
    );
    assert!(lines[0].contains(why), "says {why:?}: {error}");
    assert!(stdout(output).is_empty());
    assert!(fake.requests().is_empty(), "LlamaStack was contacted");
    assert!(*took < Duration::from_secs(10), "took {took:?}");
}
