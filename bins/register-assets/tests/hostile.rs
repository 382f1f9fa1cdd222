//! Hostile asset directories, run through the binary as the Job runs it:
//! each ends quickly (a run past the deadline of `common::register` is
//! killed and fails), exits 78 with one line naming the path, and nothing
//! reaches LlamaStack.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{copy_dir, project_assets, register, stderr, stdout};
use test_support::fake_llamastack::FakeLlamaStack;

const KB: &str = "knowledge_bases/laptop-refresh";

/// A copy of the project's assets at `<tmp>/assets`, and `<tmp>/outside`
/// beside it holding a file `secret.txt`.
struct Playground {
    _tmp: tempfile::TempDir,
    assets: PathBuf,
    outside: PathBuf,
}

impl Playground {
    fn new() -> Self {
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

    fn path(&self, relative: &str) -> PathBuf {
        self.assets.join(relative)
    }

    fn link(&self, relative: &str, target: impl AsRef<Path>) {
        symlink(target, self.path(relative)).expect("symlink");
    }
}

/// Runs the binary on `dir` against a fresh fake; returns its output, the
/// fake (to check what reached it) and how long the run took.
async fn run(dir: &Path, env: &[(&str, &str)]) -> (Output, FakeLlamaStack, Duration) {
    let fake = FakeLlamaStack::start().await;
    let started = Instant::now();
    let output = register(Some(&fake.url()), dir, &[], env).await;
    (output, fake, started.elapsed())
}

/// Exit 78, one stderr line naming `path` and saying `why`, LlamaStack untouched.
fn assert_refused(run: &(Output, FakeLlamaStack, Duration), path: &str, why: &str) {
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

#[tokio::test]
async fn a_link_to_a_file_outside_is_refused_and_its_content_never_uploaded() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/leak.txt"), dir.outside.join("secret.txt"));
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/leak.txt"),
        &format!(
            "refused: a symbolic link to {}, outside the asset directory",
            dir.outside.join("secret.txt").display()
        ),
    );
}

#[tokio::test]
async fn a_link_to_a_directory_outside_does_not_become_a_knowledge_base() {
    let dir = Playground::new();
    dir.link("knowledge_bases/elsewhere", &dir.outside);
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "knowledge_bases/elsewhere",
        "outside the asset directory",
    );
}

#[tokio::test]
async fn a_relative_link_climbing_out_is_refused() {
    let dir = Playground::new();
    dir.link("prompts/routing-agent.txt", "../../outside/secret.txt");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "prompts/routing-agent.txt",
        "outside the asset directory",
    );
}

#[tokio::test]
async fn links_that_stay_inside_are_followed() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/alias.txt"), "refresh-rules.txt");
    dir.link("knowledge_bases/copy", "laptop-refresh");
    let (output, fake, _) = run(&dir.assets, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let documents = fake.snapshot().documents;
    assert_eq!(documents["laptop-refresh"].len(), 5, "alias.txt added");
    assert_eq!(
        documents["copy"].len(),
        5,
        "the linked directory is a knowledge base"
    );
}

#[tokio::test]
async fn a_configmap_style_directory_of_links_loads() {
    // What a ConfigMap volume looks like: every entry a link into ..data.
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("..2026_01_01_00_00_00.000000001");
    copy_dir(&project_assets(), &data);
    symlink(data.file_name().expect("name"), tmp.path().join("..data")).expect("symlink");
    for entry in std::fs::read_dir(&data).expect("read") {
        let name = entry.expect("entry").file_name();
        symlink(Path::new("..data").join(&name), tmp.path().join(&name)).expect("symlink");
    }
    let (output, _, _) = run(tmp.path(), &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "created=6 replaced=0 unchanged=0 pruned=0 failed=0\n"
    );
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[tokio::test]
async fn a_fifo_document_is_refused_without_waiting_for_a_writer() {
    let dir = Playground::new();
    mkfifo(&dir.path(&format!("{KB}/pipe.txt")));
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/pipe.txt"),
        "refused: a FIFO, not a regular file",
    );
}

#[tokio::test]
async fn a_fifo_config_yaml_is_refused() {
    let dir = Playground::new();
    std::fs::remove_file(dir.path("config.yaml")).expect("remove");
    mkfifo(&dir.path("config.yaml"));
    let result = run(&dir.assets, &[]).await;
    assert_refused(&result, "config.yaml", "a FIFO, not a regular file");
}

#[tokio::test]
async fn a_socket_in_a_knowledge_base_is_refused() {
    let dir = Playground::new();
    let _socket = std::os::unix::net::UnixListener::bind(dir.path(&format!("{KB}/socket")))
        .expect("bind socket");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/socket"),
        "a socket, not a regular file",
    );
}

#[tokio::test]
async fn a_link_to_dev_zero_is_refused_before_anything_is_read() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/zero.txt"), "/dev/zero");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/zero.txt"),
        "a symbolic link to /dev/zero, outside the asset directory",
    );
}

#[tokio::test]
async fn a_link_to_its_own_directory_is_a_loop() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/again"), ".");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/again"),
        &format!("a symbolic link loop: it leads back to {KB}, which contains it"),
    );
}

#[tokio::test]
async fn a_link_to_an_enclosing_directory_is_a_loop() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/catalog/up"), "../..");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/catalog/up"),
        "a symbolic link loop: it leads back to knowledge_bases, which contains it",
    );
}

#[tokio::test]
async fn links_between_two_knowledge_bases_are_a_loop() {
    let dir = Playground::new();
    std::fs::create_dir_all(dir.path("knowledge_bases/other")).expect("mkdir");
    dir.link(&format!("{KB}/other"), "../other");
    dir.link("knowledge_bases/other/back", "../laptop-refresh");
    let result = run(&dir.assets, &[]).await;
    assert_refused(&result, &format!("{KB}/other/back"), "a symbolic link loop");
}

#[tokio::test]
async fn links_pointing_at_each_other_are_a_loop() {
    let dir = Playground::new();
    dir.link(&format!("{KB}/a.txt"), "b.txt");
    dir.link(&format!("{KB}/b.txt"), "a.txt");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/a.txt"),
        "refused: a symbolic link loop",
    );
}

#[tokio::test]
async fn a_link_to_nothing_is_named() {
    let dir = Playground::new();
    dir.link("agents/gone.yaml", "nowhere.yaml");
    let result = run(&dir.assets, &[]).await;
    assert_refused(&result, "agents/gone.yaml", "a symbolic link to nothing");
}

#[tokio::test]
async fn a_file_over_the_per_file_limit_is_refused_by_its_size() {
    let dir = Playground::new();
    std::fs::write(dir.path(&format!("{KB}/big.txt")), "x".repeat(2000)).expect("write");
    let result = run(&dir.assets, &[("ASSET_MAX_FILE_BYTES", "1999")]).await;
    assert_refused(
        &result,
        &format!("{KB}/big.txt"),
        "refused: 2000 bytes, more than ASSET_MAX_FILE_BYTES (1999)",
    );
}

#[tokio::test]
async fn a_huge_sparse_file_is_refused_before_it_is_read() {
    let dir = Playground::new();
    let huge = std::fs::File::create(dir.path(&format!("{KB}/huge.txt"))).expect("create");
    huge.set_len(300_000_000).expect("sparse 300 MB");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/huge.txt"),
        "300000000 bytes, more than ASSET_MAX_FILE_BYTES (8388608)",
    );
}

#[tokio::test]
async fn files_over_the_total_limit_are_refused_at_the_file_that_crosses_it() {
    let dir = Playground::new();
    let result = run(&dir.assets, &[("ASSET_MAX_TOTAL_BYTES", "4000")]).await;
    assert_refused(
        &result,
        &format!("{KB}/refresh-rules.txt"),
        "refused: 679 bytes, which would bring the files read to more than ASSET_MAX_TOTAL_BYTES (4000)",
    );
}

#[tokio::test]
async fn more_entries_than_the_limit_are_refused() {
    let dir = Playground::new();
    let many = dir.path(&format!("{KB}/many"));
    std::fs::create_dir_all(&many).expect("mkdir");
    for n in 0..100 {
        std::fs::write(many.join(format!("{n}.txt")), "").expect("write");
    }
    let result = run(&dir.assets, &[("ASSET_MAX_FILES", "60")]).await;
    assert_refused(
        &result,
        &format!("{KB}/many"),
        "the asset directory has more than 60 entries (ASSET_MAX_FILES)",
    );
}

#[tokio::test]
async fn directories_nested_past_the_limit_are_refused() {
    let dir = Playground::new();
    let deep = format!("{KB}/{}", ["d"; 40].join("/"));
    std::fs::create_dir_all(dir.path(&deep)).expect("mkdir");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/{}", ["d"; 33].join("/")),
        "nested deeper than 32 directories below its knowledge base",
    );
}

#[tokio::test]
async fn a_deeply_nested_config_yaml_is_refused_quickly() {
    let dir = Playground::new();
    let nested = format!("timeout: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    std::fs::write(dir.path("config.yaml"), nested).expect("write");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "config.yaml",
        "nested deeper than 64 levels (line 1)",
    );
}

#[tokio::test]
async fn a_deeply_nested_agent_yaml_is_refused_quickly() {
    let dir = Playground::new();
    let nested = format!(
        "name: deep\nsampling_params:\n  {}x\n",
        "- ".repeat(200_000)
    );
    std::fs::write(dir.path("agents/deep.yaml"), nested).expect("write");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "agents/deep.yaml",
        "nested deeper than 64 levels (line 3)",
    );
}

#[tokio::test]
async fn a_name_that_is_not_utf8_is_refused() {
    let dir = Playground::new();
    let name = OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(dir.path(KB).join(name), "text").expect("write");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/caf\u{FFFD}.txt"),
        "the name is not UTF-8",
    );
}

#[tokio::test]
async fn a_prompt_that_is_a_directory_is_refused() {
    let dir = Playground::new();
    let prompt = dir.path("prompts/laptop-refresh.txt");
    std::fs::remove_file(&prompt).expect("remove");
    std::fs::create_dir_all(&prompt).expect("mkdir");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "prompts/laptop-refresh.txt",
        "a directory, where a file is expected",
    );
}

#[tokio::test]
async fn an_agents_entry_that_is_a_file_is_refused() {
    let dir = Playground::new();
    std::fs::remove_dir_all(dir.path("agents")).expect("rm");
    std::fs::write(dir.path("agents"), "name: x\n").expect("write");
    let result = run(&dir.assets, &[]).await;
    assert_refused(&result, "agents", "a file, where a directory is expected");
}

#[tokio::test]
async fn a_zero_limit_is_a_config_error_naming_the_variable() {
    let dir = Playground::new();
    let (output, fake, _) = run(&dir.assets, &[("ASSET_MAX_FILES", "0")]).await;
    assert_eq!(output.status.code(), Some(78));
    let error = stderr(&output);
    assert!(
        error.contains("ASSET_MAX_FILES: must be at least 1"),
        "{error}"
    );
    assert!(fake.requests().is_empty());
}
