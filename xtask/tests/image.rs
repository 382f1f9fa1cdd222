//! The image as DESIGN §7 describes it: built by `cargo xtask build-image`
//! with podman and without any container tool, run read-only as user 1001,
//! reproducible, pushed by `cargo xtask push`, and the one-binary templates.
//!
//! Needs podman, skopeo, umoci, docker-registry and htpasswd (`cargo xtask
//! provision` installs them); without them each test prints `SKIPPED: ...`,
//! or fails under `SSA_REQUIRE_ALL=1`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::registry::{self, LocalRegistry};
use common::*;
use serde_json::json;
use test_support::fake_llamastack::FakeLlamaStack;

const BINARIES: [&str; 3] = ["db-migrate", "register-assets", "self-service-agent"];

#[test]
fn image_config_is_user_1001_port_8080_service_command_and_oci_labels() {
    if !require(
        &["podman"],
        "image_config_is_user_1001_port_8080_service_command_and_oci_labels",
    ) {
        return;
    }
    let built = agent_image();
    let archive = read_archive(&built.archive);
    assert_eq!(
        archive.manifest_digest, built.digest,
        "recorded digest is the archive's"
    );
    let config = &archive.config["config"];
    assert_eq!(config["User"], "1001");
    assert_eq!(config["ExposedPorts"], json!({"8080/tcp": {}}));
    assert_eq!(config["Cmd"], json!(["/usr/local/bin/self-service-agent"]));
    assert!(
        config["Entrypoint"].is_null(),
        "no entrypoint: the k8s command picks the binary"
    );

    let labels = config["Labels"].as_object().unwrap();
    let label = |name: &str| {
        labels[&format!("org.opencontainers.image.{name}")]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let epoch = built.record["source_date_epoch"].as_i64().unwrap();
    let created = chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(label("created"), created);
    assert_eq!(archive.config["created"], created.as_str());
    assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        label("revision"),
        built.record["revision"].as_str().unwrap()
    );
    assert_eq!(label("revision").len(), 40, "a full commit id");
    assert_eq!(label("source"), env!("CARGO_PKG_REPOSITORY"));
    assert_eq!(label("licenses"), "Apache-2.0");
    assert_eq!(label("title"), "self-service-agent");
    assert!(!label("description").is_empty());
    assert!(
        labels
            .keys()
            .all(|key| key.starts_with("org.opencontainers.image.")),
        "no build-tool identity labels: {labels:?}"
    );
}

#[test]
fn binaries_are_root_owned_and_nothing_is_writable_by_the_runtime_user() {
    if !require(
        &["podman"],
        "binaries_are_root_owned_and_nothing_is_writable_by_the_runtime_user",
    ) {
        return;
    }
    let built = agent_image();
    let archive = read_archive(&built.archive);
    let epoch = built.record["source_date_epoch"].as_u64().unwrap();
    for binary in BINARIES {
        let path = format!("usr/local/bin/{binary}");
        let file = archive
            .files
            .iter()
            .find(|file| file.path == path)
            .unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!((file.uid, file.gid, file.mode), (0, 0, 0o755), "{path}");
        assert!(file.size > 0);
    }
    for file in &archive.files {
        assert_eq!((file.uid, file.gid), (0, 0), "{} owned by root", file.path);
        assert_eq!(
            file.mode & 0o022,
            0,
            "{} writable by group/others",
            file.path
        );
        assert_eq!(
            file.mtime, epoch,
            "{} has the SOURCE_DATE_EPOCH mtime",
            file.path
        );
        let top = file.path.split('/').next().unwrap();
        assert!(
            ["etc", "app", "usr"].contains(&top),
            "unexpected {}",
            file.path
        );
    }
    let paths: Vec<&str> = archive
        .files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    assert!(paths.contains(&"etc/ssl/certs/ca-certificates.crt"));
    assert!(paths.contains(&"app/config"));
    let assets = test_support::fixtures::workspace_root().join("assets/config");
    if assets.join("agents").is_dir() {
        assert!(
            paths
                .iter()
                .any(|path| path.starts_with("app/config/agents/"))
        );
    }
    assert_eq!(archive.layer_sizes.len(), 3, "CA bundle, assets, binaries");
}

#[test]
fn image_has_no_shell() {
    if !require(&["podman"], "image_has_no_shell") {
        return;
    }
    let built = agent_image();
    let output = run(podman_run()
        .arg(&built.reference)
        .args(["/bin/sh", "-c", "true"]));
    assert!(!output.status.success(), "/bin/sh ran in the image");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/bin/sh"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn db_migrate_migrates_from_the_read_only_container_as_user_1001() {
    if !require(
        &["podman"],
        "db_migrate_migrates_from_the_read_only_container_as_user_1001",
    ) {
        return;
    }
    let built = agent_image();
    let database = test_support::test_database().await.unwrap();
    let with_database = |command: &mut std::process::Command| {
        for (name, value) in database.env() {
            command.arg("--env").arg(format!("{name}={value}"));
        }
    };
    let mut migrate = podman_run();
    with_database(&mut migrate);
    run_ok(
        migrate
            .arg(&built.reference)
            .arg("/usr/local/bin/db-migrate"),
    );

    let mut status = podman_run();
    with_database(&mut status);
    let printed = run_ok(
        status
            .arg(&built.reference)
            .args(["/usr/local/bin/db-migrate", "status"]),
    );
    assert!(printed.contains("alembic revision: 001"), "{printed}");
    assert!(printed.contains("0 pending"), "{printed}");

    let user = run_ok(
        podman()
            .args(["image", "inspect", "--format", "{{.Config.User}}"])
            .arg(&built.reference),
    );
    assert_eq!(user.trim(), "1001");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_assets_registers_the_packaged_assets_into_llamastack() {
    if !require(
        &["podman"],
        "register_assets_registers_the_packaged_assets_into_llamastack",
    ) {
        return;
    }
    let built = agent_image();
    let fake = FakeLlamaStack::start().await;
    let printed = run_ok(
        podman_run()
            .arg("--env")
            .arg(format!("LLAMA_STACK_URL={}", fake.url()))
            .arg(&built.reference)
            .arg("/usr/local/bin/register-assets"),
    );
    let agents_dir = test_support::fixtures::workspace_root().join("assets/config/agents");
    let expected = std::fs::read_dir(&agents_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "yaml"))
                .count()
        })
        .unwrap_or(0);
    assert!(expected > 0, "no agents in {}", agents_dir.display());
    let agents = fake.snapshot().agents;
    assert_eq!(
        agents.len(),
        expected,
        "agents registered from /app/config: {printed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn self_service_agent_answers_health_and_ready_from_the_read_only_container() {
    if !require(
        &["podman"],
        "self_service_agent_answers_health_and_ready_from_the_read_only_container",
    ) {
        return;
    }
    let built = agent_image();
    let database = test_support::test_database().await.unwrap();
    let fake = FakeLlamaStack::start().await;
    let mut migrate = podman_run();
    for (name, value) in database.env() {
        migrate.arg("--env").arg(format!("{name}={value}"));
    }
    run_ok(
        migrate
            .arg(&built.reference)
            .arg("/usr/local/bin/db-migrate"),
    );

    let port = test_support::postgres::free_port().unwrap();
    let name = format!("ssa-test-service-{}", std::process::id());
    let mut service = podman();
    // No --rm: the logs stay for the failure message; StopContainer removes it.
    service.args(["run", "--detach", "--runtime", "runc", "--read-only"]);
    service.args(["--network", "host", "--name", &name]);
    for (key, value) in database.env() {
        service.arg("--env").arg(format!("{key}={value}"));
    }
    service
        .arg("--env")
        .arg(format!("LISTEN_ADDR=127.0.0.1:{port}"))
        .arg("--env")
        .arg(format!("LLAMA_STACK_URL={}", fake.url()))
        .arg(&built.reference);
    let started = Instant::now();
    run_ok(&mut service);
    let _stop = StopContainer(name.clone());

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = started + Duration::from_secs(30);
    let ready = loop {
        if let Ok(response) = client.get(format!("{base}/ready")).send().await
            && response.status().is_success()
        {
            break started.elapsed();
        }
        let state = run(podman().args(["inspect", "--format", "{{.State.Running}}", &name]));
        let running = String::from_utf8_lossy(&state.stdout).trim() == "true";
        assert!(
            running && Instant::now() < deadline,
            "the service did not become ready (running: {running}); logs:\n{}",
            logs(&name)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("container start to /ready: {} ms", ready.as_millis());
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert!(health.status().is_success(), "/health: {}", health.status());
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["database_connected"], true, "{body}");
}

fn logs(container: &str) -> String {
    let output = run(podman().args(["logs", container]));
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Stops a detached container when the test ends, however it ends.
struct StopContainer(String);

impl Drop for StopContainer {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rm", "--force", "--time", "2", &self.0])
            .output();
    }
}

#[test]
fn two_clean_builds_give_the_same_digest() {
    if !require(&["podman"], "two_clean_builds_give_the_same_digest") {
        return;
    }
    let first = agent_image();
    let reference = format!("localhost/ssa-test/rebuild:{}", std::process::id());
    remove_image(&reference);
    let rebuilt = build_image(
        &scratch_dir().join("rebuild"),
        "podman",
        &["--no-cargo", "--no-cache", "--image", &reference],
    );
    remove_image(&reference);
    assert_eq!(rebuilt.digest, first.digest, "podman rebuild without cache");

    let native = native_archive();
    let native_again = build_image(
        &scratch_dir().join("native-again"),
        "none",
        &["--no-cargo", "--image", &native.reference],
    );
    assert_eq!(native_again.digest, native.digest, "archive written twice");
    assert_eq!(
        std::fs::read(&native_again.archive).unwrap(),
        std::fs::read(&native.archive).unwrap(),
        "the archive files are byte for byte equal"
    );
}

#[test]
fn buildah_builds_the_same_image_as_podman() {
    if !require(
        &["podman", "buildah"],
        "buildah_builds_the_same_image_as_podman",
    ) {
        return;
    }
    let podman_built = agent_image();
    let reference = format!("localhost/ssa-test/buildah:{}", std::process::id());
    let buildah_built = build_image(
        &scratch_dir().join("buildah"),
        "buildah",
        &["--no-cargo", "--image", &reference],
    );
    remove_image(&reference);
    assert_eq!(buildah_built.digest, podman_built.digest);
}

#[test]
fn archive_written_without_a_tool_holds_what_the_containerfile_builds() {
    if !require(
        &["podman"],
        "archive_written_without_a_tool_holds_what_the_containerfile_builds",
    ) {
        return;
    }
    let podman_built = read_archive(&agent_image().archive);
    let native = read_archive(&native_archive().archive);
    assert_eq!(native.files, podman_built.files);
    assert_eq!(native.config["config"], podman_built.config["config"]);
    assert_eq!(native.config["created"], podman_built.config["created"]);
    assert_eq!(native.config["architecture"], "amd64");
    assert_eq!(native.config["os"], "linux");
}

#[test]
fn archive_written_without_a_tool_loads_inspects_unpacks_and_runs() {
    if !require(
        &["podman", "skopeo", "umoci"],
        "archive_written_without_a_tool_loads_inspects_unpacks_and_runs",
    ) {
        return;
    }
    let native = native_archive();
    let inspected: serde_json::Value = serde_json::from_str(&run_ok(
        std::process::Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}", native.archive.display())),
    ))
    .unwrap();
    assert_eq!(inspected["Digest"], native.digest.as_str());

    remove_image(&native.reference);
    let loaded = run_ok(podman().args(["load", "--input"]).arg(&native.archive));
    assert!(loaded.contains(&native.reference), "{loaded}");
    let version = run_ok(
        podman_run()
            .arg(&native.reference)
            .args(["/usr/local/bin/db-migrate", "--version"]),
    );
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    remove_image(&native.reference);

    let layout = scratch_dir().join("umoci-layout");
    let bundle = scratch_dir().join("umoci-bundle");
    std::fs::create_dir_all(&layout).unwrap();
    run_ok(
        std::process::Command::new("tar")
            .arg("-xf")
            .arg(&native.archive)
            .arg("-C")
            .arg(&layout),
    );
    run_ok(
        std::process::Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{}", layout.display(), native.reference))
            .arg(&bundle),
    );
    let rootfs = bundle.join("rootfs");
    for binary in BINARIES {
        assert!(
            rootfs.join("usr/local/bin").join(binary).is_file(),
            "{binary}"
        );
    }
    let version = run_ok(
        std::process::Command::new(rootfs.join("usr/local/bin/db-migrate")).arg("--version"),
    );
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let runtime_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(runtime_config["process"]["user"]["uid"], 1001);
}

/// A copy of a build's record in a directory of its own, so a push (which
/// updates the record) leaves the shared build alone.
fn record_copy(built: &Built, name: &str) -> std::path::PathBuf {
    let dir = scratch_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.out_dir.join("last-build.json"),
        dir.join("last-build.json"),
    )
    .unwrap();
    dir
}

#[test]
fn push_prints_the_digest_the_registry_reports() {
    if !require(
        &["podman", "skopeo", "docker-registry", "htpasswd"],
        "push_prints_the_digest_the_registry_reports",
    ) {
        return;
    }
    let registry = LocalRegistry::start();
    for (tool, built) in [("podman", agent_image()), ("none", native_archive())] {
        let out = record_copy(built, &format!("push-{tool}"));
        let reference = format!(
            "{}/ssa/agent-{tool}:{}",
            registry.host,
            env!("CARGO_PKG_VERSION")
        );
        let printed = run_ok(
            xtask()
                .args(["push", "--tls-verify=false", "--tool", tool, "--out-dir"])
                .arg(&out)
                .args(["--image", &reference])
                .env("REGISTRY_USERNAME", registry::USER)
                .env("REGISTRY_PASSWORD", registry::PASSWORD),
        );
        let pushed = printed.trim();
        assert_eq!(pushed, registry.skopeo_digest(&reference), "{tool}");
        assert_eq!(
            pushed, built.digest,
            "{tool}: the registry keeps the archive's digest"
        );
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("last-build.json")).unwrap())
                .unwrap();
        assert_eq!(record["reference"], reference.as_str());
        assert_eq!(record["digest"], pushed);
    }
}

#[test]
fn push_with_a_wrong_password_fails_naming_the_credentials() {
    if !require(
        &["podman", "skopeo", "docker-registry", "htpasswd"],
        "push_with_a_wrong_password_fails_naming_the_credentials",
    ) {
        return;
    }
    let registry = LocalRegistry::start();
    let wrong = "not-the-password-4711";
    for (tool, built) in [("podman", agent_image()), ("none", native_archive())] {
        let out = record_copy(built, &format!("push-wrong-{tool}"));
        let output = run(xtask()
            .args(["push", "--tls-verify=false", "--tool", tool, "--out-dir"])
            .arg(&out)
            .args(["--image", &format!("{}/ssa/denied:1", registry.host)])
            .env("REGISTRY_USERNAME", registry::USER)
            .env("REGISTRY_PASSWORD", wrong));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{tool}: push with a wrong password succeeded"
        );
        assert!(
            stderr.contains("rejected the credentials from REGISTRY_USERNAME/REGISTRY_PASSWORD"),
            "{tool}: {stderr}"
        );
        assert!(!stderr.contains(wrong), "{tool}: the password was echoed");
        assert!(String::from_utf8_lossy(&output.stdout).trim().is_empty());
    }
}

#[test]
fn template_images_build_and_run_their_binary() {
    if !require(&["podman"], "template_images_build_and_run_their_binary") {
        return;
    }
    agent_image(); // the binaries
    let id = std::process::id();
    let service = build_image(
        &scratch_dir().join("templates"),
        "podman",
        &[
            "--no-cargo",
            "--template",
            "services",
            "--binary",
            "self-service-agent",
            "--image",
            &format!("localhost/ssa-test/service-only:{id}"),
        ],
    );
    let archive = read_archive(&service.archive);
    let config = &archive.config["config"];
    assert_eq!(config["Entrypoint"], json!(["/usr/local/bin/service"]));
    assert_eq!(config["User"], "1001");
    assert_eq!(config["ExposedPorts"], json!({"8080/tcp": {}}));
    let binaries: Vec<&str> = archive
        .files
        .iter()
        .filter(|file| file.path.starts_with("usr/local/bin/"))
        .map(|file| file.path.as_str())
        .collect();
    assert_eq!(binaries, ["usr/local/bin/service"]);
    let help = run_ok(podman_run().arg(&service.reference).arg("--help"));
    assert!(help.contains("Usage:"), "{help}");
    remove_image(&service.reference);

    let mcp = build_image(
        &scratch_dir().join("templates"),
        "podman",
        &[
            "--no-cargo",
            "--template",
            "mcp",
            "--binary",
            "db-migrate",
            "--image",
            &format!("localhost/ssa-test/mcp-db-migrate:{id}"),
        ],
    );
    let archive = read_archive(&mcp.archive);
    let config = &archive.config["config"];
    assert_eq!(config["Entrypoint"], json!(["/usr/local/bin/mcp-server"]));
    assert_eq!(config["ExposedPorts"], json!({"8000/tcp": {}}));
    assert!(
        config["Env"]
            .as_array()
            .unwrap()
            .contains(&json!("MCP_TRANSPORT=streamable-http"))
    );
    assert_eq!(
        config["Labels"]["org.opencontainers.image.title"],
        "db-migrate"
    );
    let version = run_ok(podman_run().arg(&mcp.reference).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("db-migrate {}", env!("CARGO_PKG_VERSION"))
    );
    remove_image(&mcp.reference);
}

#[test]
fn makefile_and_xtask_agree_on_the_image_defaults() {
    if !require(&["make"], "makefile_and_xtask_agree_on_the_image_defaults") {
        return;
    }
    let root = test_support::fixtures::workspace_root();
    let mut make = std::process::Command::new("make");
    make.current_dir(&root).args(["-s", "help"]);
    for var in [
        "VERSION",
        "REGISTRY",
        "AGENT_IMG",
        "CONTAINER_TOOL",
        "MAKEFLAGS",
    ] {
        make.env_remove(var);
    }
    let help = run_ok(&mut make);
    let value = |text: &str, key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing from:\n{text}"))
            .to_owned()
    };
    let settings = run_ok(xtask().args(["build-image", "--dry-run", "--tool", "none"]));
    assert_eq!(value(&help, "AGENT_IMG"), value(&settings, "IMAGE"));
    assert_eq!(value(&help, "VERSION"), value(&settings, "VERSION"));
    assert_eq!(
        value(&help, "AGENT_IMG"),
        format!(
            "{}/self-service-agent:{}",
            value(&help, "REGISTRY"),
            value(&help, "VERSION")
        )
    );
}
