//! Hostile asset directories against the read limits, run through the
//! binary: huge files, too many entries, deep directories, deeply nested
//! or alias-bombed YAML. Each ends quickly, exits 78 with one line naming
//! the path and the limit, and nothing reaches LlamaStack.

mod common;

use common::playground::{KB, Playground, assert_refused, run};
use common::stderr;

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
    // The limit holds every other file of the directory, and the one file
    // alone is over it: whatever the order of reading, it is the one that
    // crosses, and the project's assets may change size.
    let dir = Playground::new();
    let crossing = format!("{KB}/refresh-rules.txt");
    let others: u64 = walkdir(&dir.assets)
        .into_iter()
        .filter(|path| !path.ends_with(&crossing))
        .map(|path| std::fs::metadata(&path).expect("stat").len())
        .sum();
    let limit = others;
    std::fs::write(dir.path(&crossing), "r".repeat(limit as usize + 1)).expect("write");
    let result = run(
        &dir.assets,
        &[("ASSET_MAX_TOTAL_BYTES", &limit.to_string())],
    )
    .await;
    assert_refused(
        &result,
        &crossing,
        &format!(
            "refused: {} bytes, which would bring the files read to more than ASSET_MAX_TOTAL_BYTES ({limit})",
            limit + 1
        ),
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
#[tokio::test]
async fn more_entries_than_the_default_limit_are_refused() {
    let dir = Playground::new();
    let many = dir.path(&format!("{KB}/many"));
    std::fs::create_dir_all(&many).expect("mkdir");
    for n in 0..10_001 {
        std::fs::write(many.join(format!("{n}.txt")), "").expect("write");
    }
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        &format!("{KB}/many"),
        "more than 10000 entries (ASSET_MAX_FILES)",
    );
}

#[tokio::test]
async fn an_anchor_named_many_times_is_refused_before_it_is_expanded() {
    let dir = Playground::new();
    let anchor = "x".repeat(1_000_000);
    let aliases = vec!["*s"; 300].join(", ");
    let bomb = format!("name: bomb\ndescription: &s \"{anchor}\"\nmcp_servers: [{aliases}]\n");
    std::fs::write(dir.path("agents/bomb.yaml"), bomb).expect("write");
    let result = run(&dir.assets, &[]).await;
    assert_refused(
        &result,
        "agents/bomb.yaml",
        "its aliases expand it past ASSET_MAX_FILE_BYTES (8388608 bytes) (line 3)",
    );
}

#[tokio::test]
async fn an_error_quoting_a_huge_value_stays_a_short_line() {
    let dir = Playground::new();
    let name = "x".repeat(100_000);
    std::fs::write(
        dir.path("agents/long.yaml"),
        format!("name: long\nmcp_servers: [{name}]\n"),
    )
    .expect("write");
    let (output, _, _) = run(&dir.assets, &[]).await;
    assert_eq!(output.status.code(), Some(78));
    let error = stderr(&output);
    assert!(
        error.starts_with("register-assets: error: agents/long.yaml: field `mcp_servers[0]`"),
        "{error}"
    );
    assert!(error.len() < 400, "{} bytes", error.len());
}

/// Every regular file below `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}
