//! The one-binary images of `Containerfile.services-template` and
//! `Containerfile.mcp-template`.

use serde_json::json;

use crate::common::images::{agent_image, build_image};
use crate::common::{podman_run, read_archive, remove_image, require, run_ok, scratch_dir};

#[test]
fn template_images_build_and_run_their_binary() {
    if !require(&["podman"], "template_images_build_and_run_their_binary") {
        return;
    }
    agent_image(); // the binaries (and the MCP servers' in their profile)
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
            "mcp-snow",
            "--image",
            &format!("localhost/ssa-test/my-mcp-server:{id}"),
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
        "mcp-snow"
    );
    assert_eq!(
        mcp.reference,
        format!("localhost/ssa-test/my-mcp-server:{id}"),
        "--image names a template image, even one of the project's MCP servers"
    );
    // (`--version` would name mcp-support, where the command line is declared.)
    let help = run_ok(podman_run().arg(&mcp.reference).arg("--help"));
    assert!(
        help.contains("healthcheck") && help.contains("Serve MCP at /mcp and /sse"),
        "{help}"
    );
    remove_image(&mcp.reference);
}
