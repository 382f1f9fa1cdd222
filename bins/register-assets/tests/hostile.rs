//! Hostile asset directories, run through the binary as the Job runs it:
//! links leading outside or in loops, FIFOs, sockets, devices, odd names
//! and kinds. Each ends quickly (a run past the deadline of
//! `common::register` is killed and fails), exits 78 with one line naming
//! the path, and nothing reaches LlamaStack.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::playground::{KB, Playground, assert_refused, run};
use common::{copy_dir, project_assets, stderr, stdout};

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
    let files_of = |knowledge_base: &str| -> usize {
        let snapshot = fake.snapshot();
        let stores: Vec<usize> = snapshot
            .vector_stores
            .values()
            .filter(|store| store.object["metadata"]["knowledge_base"] == knowledge_base)
            .map(|store| store.files.len())
            .collect();
        assert_eq!(stores.len(), 1, "one store of {knowledge_base}");
        stores[0]
    };
    assert_eq!(files_of("laptop-refresh"), 5, "alias.txt added");
    assert_eq!(
        files_of("copy"),
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
        "created=1 replaced=0 unchanged=0 pruned=0 failed=0\n"
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
