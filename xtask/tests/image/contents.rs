//! What the unified image holds: its configuration and labels, its files
//! and who owns them, and no shell.

use serde_json::json;

use crate::BINARIES;
use crate::common::images::agent_image;
use crate::common::{podman_run, read_archive, require, run};

#[test]
fn image_config_is_user_1001_port_8080_and_the_service_command() {
    if !require(
        &["podman"],
        "image_config_is_user_1001_port_8080_and_the_service_command",
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
}

#[test]
fn image_labels_are_the_oci_ones_from_the_build_inputs() {
    if !require(
        &["podman"],
        "image_labels_are_the_oci_ones_from_the_build_inputs",
    ) {
        return;
    }
    let built = agent_image();
    let archive = read_archive(&built.archive);
    let labels = archive.config["config"]["Labels"].as_object().unwrap();
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
fn binaries_are_root_owned_and_executable() {
    if !require(&["podman"], "binaries_are_root_owned_and_executable") {
        return;
    }
    let archive = read_archive(&agent_image().archive);
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
}

#[test]
fn every_file_is_root_owned_unwritable_by_others_and_dated_source_date_epoch() {
    if !require(
        &["podman"],
        "every_file_is_root_owned_unwritable_by_others_and_dated_source_date_epoch",
    ) {
        return;
    }
    let built = agent_image();
    let archive = read_archive(&built.archive);
    let epoch = built.record["source_date_epoch"].as_u64().unwrap();
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
    }
}

#[test]
fn image_holds_the_ca_bundle_the_assets_and_the_binaries_in_three_layers() {
    if !require(
        &["podman"],
        "image_holds_the_ca_bundle_the_assets_and_the_binaries_in_three_layers",
    ) {
        return;
    }
    let archive = read_archive(&agent_image().archive);
    for file in &archive.files {
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
    let assets = xtask::workspace::root().join("assets/config");
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
