//! The MCP server images `cargo xtask build-image --all` builds beside the
//! unified image from `Containerfile.mcp-template` (docs/image.md): named
//! after it, one root-owned static binary on scratch as the entrypoint, user
//! 1001, OCI labels, no shell, serving from a read-only container with the
//! compiled-in demo data, reproducible, and small.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::container::Running;
use crate::common::images::{Built, all_images, build_all};
use crate::common::{
    podman, podman_run, read_archive, remove_image, require, run, run_ok, scratch_dir,
};

/// The compressed size targets (BENCHMARKS.md, "image"), in bytes.
const MCP_IMAGE_LIMIT: u64 = 5_000_000;
const AGENT_IMAGE_LIMIT: u64 = 15_000_000;

fn mcp_images() -> impl Iterator<Item = (&'static str, &'static Built)> {
    all_images()
        .mcp
        .iter()
        .map(|(server, built)| (server.binary, built))
}

#[test]
fn build_image_all_prints_the_agent_image_and_both_mcp_images_pinned_by_digest() {
    if !require(
        &["podman"],
        "build_image_all_prints_the_agent_image_and_both_mcp_images_pinned_by_digest",
    ) {
        return;
    }
    let all = all_images();
    let printed: Vec<&str> = all.stdout.lines().collect();
    let expected = [
        all.agent.pinned(),
        all.mcp("mcp-employee-info").pinned(),
        all.mcp("mcp-snow").pinned(),
    ];
    assert_eq!(printed, expected);
    let (agent, tag) = all.agent.reference.rsplit_once(':').unwrap();
    assert_eq!(
        all.mcp("mcp-employee-info").reference,
        format!("{agent}-employee-info-mcp:{tag}")
    );
    assert_eq!(
        all.mcp("mcp-snow").reference,
        format!("{agent}-snow-mcp:{tag}")
    );
}

#[test]
fn each_mcp_image_runs_its_binary_as_user_1001_on_port_8000_as_the_entrypoint() {
    if !require(
        &["podman"],
        "each_mcp_image_runs_its_binary_as_user_1001_on_port_8000_as_the_entrypoint",
    ) {
        return;
    }
    for (binary, built) in mcp_images() {
        let archive = read_archive(&built.archive);
        assert_eq!(archive.manifest_digest, built.digest, "{binary}");
        let config = &archive.config["config"];
        assert_eq!(config["User"], "1001", "{binary}");
        assert_eq!(
            config["Entrypoint"],
            json!(["/usr/local/bin/mcp-server"]),
            "{binary}"
        );
        assert!(config["Cmd"].is_null(), "{binary}: the default is `serve`");
        assert_eq!(config["ExposedPorts"], json!({"8000/tcp": {}}), "{binary}");
        let env = config["Env"].as_array().unwrap();
        for var in [
            "LISTEN_ADDR=0.0.0.0:8000",
            "MCP_TRANSPORT=streamable-http",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        ] {
            assert!(env.contains(&json!(var)), "{binary}: {var} in {env:?}");
        }
    }
}

#[test]
fn each_mcp_image_holds_its_root_owned_binary_and_the_ca_bundle_only() {
    if !require(
        &["podman"],
        "each_mcp_image_holds_its_root_owned_binary_and_the_ca_bundle_only",
    ) {
        return;
    }
    for (binary, built) in mcp_images() {
        let archive = read_archive(&built.archive);
        let epoch = built.record["source_date_epoch"].as_u64().unwrap();
        let files: Vec<&str> = archive
            .files
            .iter()
            .filter(|file| !file.directory)
            .map(|file| file.path.as_str())
            .collect();
        assert_eq!(
            files,
            [
                "etc/ssl/certs/ca-certificates.crt",
                "usr/local/bin/mcp-server"
            ],
            "{binary}: no data file, no shell"
        );
        for file in &archive.files {
            assert_eq!((file.uid, file.gid), (0, 0), "{binary} {}", file.path);
            assert_eq!(file.mode & 0o022, 0, "{binary} {}", file.path);
            assert_eq!(file.mtime, epoch, "{binary} {}", file.path);
        }
        let server = archive
            .files
            .iter()
            .find(|file| file.path == "usr/local/bin/mcp-server")
            .unwrap();
        assert_eq!(server.mode, 0o755, "{binary}");
    }
}

#[test]
fn each_mcp_images_labels_are_the_oci_ones_with_the_binary_as_title() {
    if !require(
        &["podman"],
        "each_mcp_images_labels_are_the_oci_ones_with_the_binary_as_title",
    ) {
        return;
    }
    for (binary, built) in mcp_images() {
        let archive = read_archive(&built.archive);
        let labels = archive.config["config"]["Labels"].as_object().unwrap();
        let label = |name: &str| labels[&format!("org.opencontainers.image.{name}")].clone();
        assert_eq!(label("title"), binary);
        assert_eq!(label("version"), env!("CARGO_PKG_VERSION"), "{binary}");
        assert_eq!(label("revision"), built.record["revision"], "{binary}");
        assert_eq!(label("source"), env!("CARGO_PKG_REPOSITORY"), "{binary}");
        assert_eq!(label("licenses"), "Apache-2.0", "{binary}");
        assert_eq!(label("created"), archive.config["created"], "{binary}");
        assert!(
            label("description")
                .as_str()
                .is_some_and(|text| text.contains("MCP server")),
            "{binary}"
        );
        assert_eq!(labels.len(), 7, "{binary}: only the OCI labels: {labels:?}");
    }
}

#[test]
fn mcp_images_have_no_shell() {
    if !require(&["podman"], "mcp_images_have_no_shell") {
        return;
    }
    for (binary, built) in mcp_images() {
        let output = run(podman_run()
            .args(["--entrypoint", "/bin/sh"])
            .arg(&built.reference)
            .args(["-c", "true"]));
        assert!(!output.status.success(), "{binary}: /bin/sh ran");
    }
}

/// The default command from a read-only root filesystem as user 1001:
/// `/health` names the server and the compiled-in demo backend, and the
/// `healthcheck` subcommand (for exec probes) passes.
#[tokio::test(flavor = "multi_thread")]
async fn each_mcp_image_serves_health_and_passes_its_healthcheck_from_a_read_only_container() {
    if !require(
        &["podman"],
        "each_mcp_image_serves_health_and_passes_its_healthcheck_from_a_read_only_container",
    ) {
        return;
    }
    let client = reqwest::Client::new();
    for (binary, built) in mcp_images() {
        let port = test_support::postgres::free_port().unwrap();
        let name = format!("ssa-test-{binary}-{}", std::process::id());
        run_ok(
            podman()
                .args(["run", "--detach", "--runtime", "runc", "--name", &name])
                .args([
                    "--read-only",
                    "--read-only-tmpfs=false",
                    "--network",
                    "host",
                ])
                .args(["--cap-drop", "ALL", "--security-opt", "no-new-privileges"])
                .arg("--env")
                .arg(format!("LISTEN_ADDR=127.0.0.1:{port}"))
                .arg(&built.reference),
        );
        let container = Running::named(name);
        let started = Instant::now();
        let health = loop {
            if let Ok(response) = client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
            {
                break response;
            }
            assert!(
                container.running() && started.elapsed() < Duration::from_secs(20),
                "{binary}: no /health; logs:\n{}",
                container.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            health.status().is_success(),
            "{binary}: {}",
            health.status()
        );
        let body: serde_json::Value = health.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "OK", "server": binary, "backend": "demo"})
        );
        run_ok(
            podman()
                .args(["exec", &container.name, "/usr/local/bin/mcp-server"])
                .args(["healthcheck", "--url"])
                .arg(format!("http://127.0.0.1:{port}/health")),
        );
        println!(
            "{binary}: container start to /health in {} ms",
            started.elapsed().as_millis()
        );
    }
}

#[test]
fn mcp_images_are_at_most_5_mb_and_the_agent_image_at_most_15_mb_compressed() {
    if !require(
        &["podman"],
        "mcp_images_are_at_most_5_mb_and_the_agent_image_at_most_15_mb_compressed",
    ) {
        return;
    }
    let all = all_images();
    let agent = read_archive(&all.agent.archive).compressed_size();
    println!("self-service-agent: {agent} bytes compressed");
    assert!(agent <= AGENT_IMAGE_LIMIT, "the agent image: {agent} bytes");
    for (binary, built) in mcp_images() {
        let size = read_archive(&built.archive).compressed_size();
        println!("{binary}: {size} bytes compressed");
        assert!(size <= MCP_IMAGE_LIMIT, "{binary}: {size} bytes");
    }
}

#[test]
fn a_clean_podman_rebuild_of_all_images_gives_the_same_digests() {
    if !require(
        &["podman"],
        "a_clean_podman_rebuild_of_all_images_gives_the_same_digests",
    ) {
        return;
    }
    let first = all_images();
    let reference = format!("localhost/ssa-test/rebuild-all:{}", std::process::id());
    let rebuilt = build_all(
        &scratch_dir().join("rebuild-all"),
        "podman",
        &["--no-cargo", "--no-cache", "--image", &reference],
    );
    for built in std::iter::once(&rebuilt.agent).chain(rebuilt.mcp.iter().map(|(_, b)| b)) {
        remove_image(&built.reference);
    }
    assert_eq!(rebuilt.agent.digest, first.agent.digest, "the agent image");
    for (server, built) in &rebuilt.mcp {
        assert_eq!(
            built.digest,
            first.mcp(server.binary).digest,
            "{}",
            server.binary
        );
    }
}
