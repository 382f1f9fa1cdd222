//! The same inputs give the same image, whichever way it is built: podman
//! again, buildah, and the archive xtask writes without a container tool,
//! which the usual tools read like any other.

use std::process::Command;

use crate::BINARIES;
use crate::common::images::{agent_image, build_image, native_archive};
use crate::common::{podman, podman_run, read_archive, remove_image, require, run_ok, scratch_dir};

#[test]
fn a_clean_podman_rebuild_gives_the_same_digest() {
    if !require(&["podman"], "a_clean_podman_rebuild_gives_the_same_digest") {
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
}

#[test]
fn the_archive_written_twice_without_a_tool_is_the_same_byte_for_byte() {
    if !require(
        &["podman"],
        "the_archive_written_twice_without_a_tool_is_the_same_byte_for_byte",
    ) {
        return;
    }
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
fn skopeo_reads_the_recorded_digest_from_the_archive_written_without_a_tool() {
    if !require(
        &["podman", "skopeo"],
        "skopeo_reads_the_recorded_digest_from_the_archive_written_without_a_tool",
    ) {
        return;
    }
    let native = native_archive();
    let inspected: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}", native.archive.display())),
    ))
    .unwrap();
    assert_eq!(inspected["Digest"], native.digest.as_str());
}

#[test]
fn podman_loads_and_runs_the_archive_written_without_a_tool() {
    if !require(
        &["podman"],
        "podman_loads_and_runs_the_archive_written_without_a_tool",
    ) {
        return;
    }
    let native = native_archive();
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
}

#[test]
fn umoci_unpacks_the_archive_written_without_a_tool_into_a_runnable_bundle() {
    if !require(
        &["podman", "umoci"],
        "umoci_unpacks_the_archive_written_without_a_tool_into_a_runnable_bundle",
    ) {
        return;
    }
    let native = native_archive();
    let layout = scratch_dir().join("umoci-layout");
    let bundle = scratch_dir().join("umoci-bundle");
    std::fs::create_dir_all(&layout).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xf")
            .arg(&native.archive)
            .arg("-C")
            .arg(&layout),
    );
    run_ok(
        Command::new("umoci")
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
    let version = run_ok(Command::new(rootfs.join("usr/local/bin/db-migrate")).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let runtime_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(runtime_config["process"]["user"]["uid"], 1001);
}
