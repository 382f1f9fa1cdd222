//! The Makefile is a thin wrapper over `cargo xtask`: its image settings
//! default to xtask's.

use crate::common::{require, run_ok, xtask};

#[test]
fn makefile_and_xtask_agree_on_the_image_defaults() {
    if !require(&["make"], "makefile_and_xtask_agree_on_the_image_defaults") {
        return;
    }
    let root = xtask::workspace::root();
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

/// `make -n <target>` with none of the user's settings: the commands it runs.
fn make_dry_run(target: &str) -> String {
    let mut make = std::process::Command::new("make");
    make.current_dir(xtask::workspace::root())
        .args(["-n", target])
        .env_remove("MAKEFLAGS");
    run_ok(&mut make)
}

#[test]
fn make_build_all_images_and_push_all_images_are_xtasks_all() {
    if !require(
        &["make"],
        "make_build_all_images_and_push_all_images_are_xtasks_all",
    ) {
        return;
    }
    let build = make_dry_run("build-all-images");
    assert!(
        build.lines().next() == Some("cargo xtask build-image --all"),
        "{build}"
    );
    let push = make_dry_run("push-all-images");
    assert!(
        push.lines()
            .next()
            .is_some_and(|line| line.starts_with("cargo xtask push --all ")),
        "{push}"
    );
    let agent = make_dry_run("build-agent-image");
    assert_eq!(
        agent.trim(),
        "cargo xtask build-image",
        "the main image alone"
    );
}
