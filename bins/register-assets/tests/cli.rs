//! The `register-assets` binary as a Job runs it: exit codes, the summary
//! line on stdout, errors on stderr, against the fake LlamaStack.

mod common;

use common::{project_assets, register, route, stderr, stdout};
use test_support::fake_llamastack::FakeLlamaStack;

#[tokio::test]
async fn a_first_run_creates_everything_and_the_next_changes_nothing() {
    let fake = FakeLlamaStack::start().await;
    let first = register(Some(&fake.url()), &project_assets(), &[], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "created=1 replaced=0 unchanged=0 pruned=0 failed=0\n"
    );
    let state = fake.snapshot();
    let second = register(Some(&fake.url()), &project_assets(), &[], &[]).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(
        stdout(&second),
        "created=0 replaced=0 unchanged=1 pruned=0 failed=0\n"
    );
    assert_eq!(fake.snapshot(), state);
}

#[tokio::test]
async fn the_fixture_directory_registers_through_the_binary() {
    let Some(dir) = test_support::fixtures::shared_fixture(
        "asset-config",
        "the_fixture_directory_registers_through_the_binary",
    ) else {
        return;
    };
    let fake = FakeLlamaStack::start().await;
    let first = register(Some(&fake.url()), &dir, &[], &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "created=1 replaced=0 unchanged=0 pruned=0 failed=0\n"
    );
    let again = register(Some(&fake.url()), &dir, &[], &[]).await;
    assert_eq!(
        stdout(&again),
        "created=0 replaced=0 unchanged=1 pruned=0 failed=0\n"
    );
}

#[tokio::test]
async fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let fake = FakeLlamaStack::start().await;
    let output = register(Some(&fake.url()), &project_assets(), &["--dry-run"], &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(
        text,
        "create    vector-store laptop-refresh                   4 files\n\
         dry run: created=1 replaced=0 unchanged=0 pruned=0 failed=0\n"
    );
    assert!(fake.counters().no_changes());
}

#[tokio::test]
async fn a_broken_yaml_file_is_a_config_error_naming_file_and_field_and_registers_nothing() {
    let fake = FakeLlamaStack::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("agents")).expect("mkdir");
    std::fs::write(
        dir.path().join("agents/broken.yaml"),
        "name: broken\nmax_infer_iters: lots\n",
    )
    .expect("write");
    let output = register(Some(&fake.url()), dir.path(), &[], &[]).await;
    assert_eq!(output.status.code(), Some(78));
    let error = stderr(&output);
    assert!(error.contains("agents/broken.yaml"), "{error}");
    assert!(error.contains("max_infer_iters"), "{error}");
    assert!(fake.requests().is_empty(), "LlamaStack was not contacted");
}

#[tokio::test]
async fn llama_stack_down_is_retried_then_reported_as_unavailable() {
    let fake = FakeLlamaStack::start().await;
    fake.stop().await;
    let started = std::time::Instant::now();
    let output = register(
        Some(&fake.url()),
        &project_assets(),
        &[],
        &[("LLAMA_STACK_WAIT_TIMEOUT", "2")],
    )
    .await;
    assert_eq!(output.status.code(), Some(69), "{}", stderr(&output));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "it waited"
    );
    let error = stderr(&output);
    assert!(error.contains("not ready after 2s"), "{error}");
    assert!(error.contains("connection failed"), "{error}");
    assert!(stdout(&output).is_empty());
}

#[tokio::test]
async fn failing_steps_give_a_non_zero_exit_and_the_summary_counts_them() {
    let fake = FakeLlamaStack::start().await;
    let uploads = route(&fake, "/files");
    fake.fail_next_with(Some("POST"), &uploads, 100, 503);
    let output = register(Some(&fake.url()), &project_assets(), &[], &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "created=0 replaced=0 unchanged=0 pruned=0 failed=1\n"
    );
    let error = stderr(&output);
    assert!(error.contains("1 of 1 steps failed"), "{error}");
    assert!(
        error.contains(&format!("POST {uploads}: HTTP 503")),
        "{error}"
    );
    let attempts = fake
        .requests()
        .iter()
        .filter(|r| r.path == uploads && r.method == "POST")
        .count();
    assert_eq!(
        attempts, 12,
        "each of 4 documents tried 3 times (2 retries)"
    );
}

#[tokio::test]
async fn a_missing_llama_stack_location_is_a_config_error() {
    let output = register(None, &project_assets(), &[], &[]).await;
    assert_eq!(output.status.code(), Some(78));
    assert!(
        stderr(&output).contains("LLAMA_STACK_URL"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn an_earlier_releases_objects_are_listed_by_a_dry_run_and_removed_with_prune() {
    let fake = common::fake_with_an_earlier_release().await;
    let dry = register(Some(&fake.url()), &project_assets(), &["--dry-run"], &[]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let plan = stdout(&dry);
    let leftovers: Vec<&str> = plan
        .lines()
        .filter(|line| line.starts_with("left-over"))
        .map(|line| line.split_whitespace().nth(2).unwrap_or_default())
        .collect();
    assert_eq!(
        leftovers,
        [
            "laptop-refresh",
            "routing-agent",
            "mcp::snow",
            "laptop-refresh"
        ],
        "{plan}"
    );
    assert!(
        plan.ends_with("dry run: created=1 replaced=0 unchanged=0 pruned=0 failed=0\n"),
        "{plan}"
    );

    let kept = register(Some(&fake.url()), &project_assets(), &[], &[]).await;
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    assert!(
        stderr(&kept).contains("--prune removes them"),
        "a warning: {}",
        stderr(&kept)
    );
    assert_eq!(fake.snapshot().agents.len(), 2, "kept without --prune");

    let pruned = register(Some(&fake.url()), &project_assets(), &["--prune"], &[]).await;
    assert_eq!(
        stdout(&pruned),
        "created=0 replaced=0 unchanged=1 pruned=4 failed=0\n"
    );
    let snapshot = fake.snapshot();
    assert!(snapshot.agents.is_empty());
    assert!(!snapshot.toolgroups.contains_key("mcp::snow"));
    assert!(!snapshot.vector_dbs.contains_key("laptop-refresh"));
}

#[tokio::test]
async fn credentials_in_a_toolgroup_uri_reach_no_output_and_no_request_even_at_trace() {
    let fake = FakeLlamaStack::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&project_assets(), dir.path());
    let uri = "https://svc:s3cret@snow.example:8443/sse?token=t0ken";
    std::fs::write(
        dir.path().join("toolgroups/snow.yaml"),
        format!("name: snow\nuri: {uri}\n"),
    )
    .expect("write");
    for args in [&["--dry-run"][..], &[]] {
        let output = register(
            Some(&fake.url()),
            dir.path(),
            args,
            &[("RUST_LOG", "trace")],
        )
        .await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let printed = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!printed.contains("s3cret"), "{args:?}: password printed");
        assert!(!printed.contains("t0ken"), "{args:?}: token printed");
    }
    let sent = serde_json::to_string(&fake.requests()).expect("json");
    assert!(
        !sent.contains("s3cret"),
        "the MCP servers are the service's business"
    );
}

#[tokio::test]
async fn a_hand_off_to_an_unknown_agent_is_a_config_error_and_registers_nothing() {
    let fake = FakeLlamaStack::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&project_assets(), dir.path());
    std::fs::write(
        dir.path().join("agents/routing-agent.yaml"),
        "name: routing-agent\nhandoffs: [laptop-refresh, payroll]\n",
    )
    .expect("write");
    let output = register(Some(&fake.url()), dir.path(), &[], &[]).await;
    assert_eq!(output.status.code(), Some(78), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "register-assets: error: agents/routing-agent.yaml: field `handoffs[1]`: \
         no agents/*.yaml has name \"payroll\"\n"
    );
    assert!(fake.requests().is_empty(), "LlamaStack was not contacted");
}

#[tokio::test]
async fn a_bad_wait_timeout_from_the_environment_exits_78_naming_it() {
    let fake = FakeLlamaStack::start().await;
    let output = register(
        Some(&fake.url()),
        &project_assets(),
        &[],
        &[("LLAMA_STACK_WAIT_TIMEOUT", "a while")],
    )
    .await;
    assert_eq!(output.status.code(), Some(78), "{}", stderr(&output));
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("LLAMA_STACK_WAIT_TIMEOUT"), "{error}");
    assert!(fake.requests().is_empty(), "LlamaStack was not contacted");
}
