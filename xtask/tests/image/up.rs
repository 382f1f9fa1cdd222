//! `cargo xtask up --image` (docs/local-stack.md): the same stack from the
//! images `build-image --all` built (the unified one for db-migrate,
//! register-assets and the service; the MCP servers' own), as containers
//! of one podman pod, with the chart's user and read-only root. A laptop
//! request is answered through it; a prompt saved meanwhile is reloaded by
//! the service's container (the stack's asset copy is mounted at
//! /app/config); `down` leaves no container, no pod, no process and no
//! listening port.

use std::time::Duration;

use serde_json::Value;
use xtask::up::Reload;

use crate::common::images::all_images;
use crate::common::stack::{
    Stack, assert_handed_over_with_a_ticket, available_or_skip, binaries_built, text,
};
use crate::common::{podman, require, run_ok};

/// `name image` of every container running one of this process's images.
fn our_containers(images: &[&str]) -> Vec<(String, String)> {
    let listed = run_ok(podman().args(["ps", "--format", "{{.Names}} {{.Image}}"]));
    listed
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, image)| images.contains(image))
        .map(|(name, image)| (name.to_owned(), image.to_owned()))
        .collect()
}

#[test]
fn up_image_answers_a_laptop_request_from_the_built_images_and_down_removes_the_pod() {
    let test = "up_image_answers_a_laptop_request_from_the_built_images_and_down_removes_the_pod";
    if !require(&["podman"], test) || !available_or_skip(test) {
        return;
    }
    // the stub runs from the host binary beside the containers
    binaries_built();
    let built = all_images();
    let agent = built.agent.reference.as_str();
    let employee_info = built.mcp("mcp-employee-info").reference.as_str();
    let snow = built.mcp("mcp-snow").reference.as_str();
    let stack = Stack::new();
    let out_dir = built.agent.out_dir.display().to_string();
    let output = stack.up_with(&["--image", "--image-dir", &out_dir]);
    let (stdout, _, described) = text(&output);
    assert!(
        output.status.success(),
        "up --image --detach failed: {described}\n--- up.log\n{}",
        stack.log("up")
    );
    for component in ["self-service-agent", "mcp-employee-info", "mcp-snow"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.contains(component) && line.contains(", container")),
            "{component} is not said to run from its image: {stdout}"
        );
    }

    let mut running = our_containers(&[agent, employee_info, snow]);
    running.sort();
    let names: Vec<&str> = running.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.len(), 3, "containers of the stack: {running:?}");
    for (binary, image) in [
        ("mcp-employee-info", employee_info),
        ("mcp-snow", snow),
        ("self-service-agent", agent),
    ] {
        assert!(
            running
                .iter()
                .any(|(name, from)| name.ends_with(&format!("-{binary}")) && from == image),
            "no container of {binary} from {image}: {running:?}"
        );
    }
    let pod = names[0].trim_end_matches("-mcp-employee-info").to_owned();
    let inspect: Value = serde_json::from_str(&run_ok(podman().args([
        "inspect",
        "--format",
        "json",
        &format!("{pod}-self-service-agent"),
    ])))
    .unwrap();
    let config = &inspect[0]["Config"];
    assert_eq!(config["User"], "1001:1001", "{config}");
    assert_eq!(inspect[0]["HostConfig"]["ReadonlyRootfs"], true);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(stack.laptop_request());
    assert_handed_over_with_a_ticket(&answer);

    // a saved prompt reaches the service's container through the copy
    // mounted at /app/config, and the service reloads it
    let before = stack.state().unwrap().updates;
    let prompt = stack.assets.path().join("prompts/laptop-refresh.txt");
    let mut edited = std::fs::read_to_string(&prompt).unwrap();
    edited.push_str("\nAlways thank the employee for their patience.\n");
    std::fs::write(&prompt, edited).unwrap();
    let state = stack.wait_state(
        Duration::from_secs(60),
        "the prompt edit applied",
        |state| state.updates > before,
    );
    assert_eq!(
        state.last_update.as_ref().map(|update| update.reload),
        Some(Reload::Replaced),
        "{:?}\n--- up.log\n{}",
        state.last_update,
        stack.log("up")
    );

    let state = stack.state();
    let down = stack.down();
    assert!(down.status.success(), "down failed: {}", text(&down).2);
    let left = stack.leftovers(state.as_ref());
    assert!(left.is_empty(), "left behind: {left:#?}");
    let containers = our_containers(&[agent, employee_info, snow]);
    assert!(containers.is_empty(), "containers left: {containers:?}");
    let exists = podman().args(["pod", "exists", &pod]).status().unwrap();
    assert!(!exists.success(), "the pod {pod} is still there");
}
