//! `cargo xtask push` to a local `docker-registry` with htpasswd (bcrypt)
//! auth, through skopeo (podman builds) and through the registry API (the
//! archive written without a tool): the login from the environment or from
//! the credential helper an auth file names, the registry's digest printed;
//! `push --all` with the MCP server images, which `cargo xtask helm` then
//! pins by digest.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::json;
use xtask::helm::BuiltImages;
use xtask::image::{AGENT_RECORD, MCP_SERVERS};

use crate::common::chart::{self, NAMESPACE, RELEASE, Render};
use crate::common::images::{Built, agent_image, all_images, native_archive};
use crate::common::registry::{self, CredentialHelper, LocalRegistry};
use crate::common::render;
use crate::common::{require, run, run_ok, scratch_dir, xtask};

const TOOLS: [&str; 4] = ["podman", "skopeo", "docker-registry", "htpasswd"];

/// Each way of pushing and the build it pushes.
fn builds() -> [(&'static str, &'static Built); 2] {
    [("podman", agent_image()), ("none", native_archive())]
}

/// A copy of a build's record in a directory of its own, so a push (which
/// updates the record) leaves the shared build alone.
fn record_copy(built: &Built, name: &str) -> PathBuf {
    let dir = scratch_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.out_dir.join("last-build.json"),
        dir.join("last-build.json"),
    )
    .unwrap();
    dir
}

/// `cargo xtask push` of the build recorded in `out` to `reference`.
fn push(tool: &str, out: &PathBuf, reference: &str) -> Command {
    let mut command = xtask();
    command
        .args(["push", "--tls-verify=false", "--tool", tool, "--out-dir"])
        .arg(out)
        .args(["--image", reference]);
    command
}

/// Pushes each build with `login` and checks the printed digest is the one
/// the registry reports, the archive's, and now in the record.
fn assert_pushes(registry: &LocalRegistry, name: &str, login: impl Fn(&mut Command)) {
    for (tool, built) in builds() {
        let out = record_copy(built, &format!("{name}-{tool}"));
        let reference = format!(
            "{}/ssa/{name}-{tool}:{}",
            registry.host,
            env!("CARGO_PKG_VERSION")
        );
        let mut command = push(tool, &out, &reference);
        login(&mut command);
        let printed = run_ok(&mut command);
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

/// Pushes each build with `login` and checks it fails, naming `source` and
/// not echoing `wrong`, with nothing on stdout.
fn assert_rejected(
    registry: &LocalRegistry,
    name: &str,
    source: &str,
    wrong: &str,
    login: impl Fn(&mut Command),
) {
    for (tool, built) in builds() {
        let out = record_copy(built, &format!("{name}-{tool}"));
        let mut command = push(tool, &out, &format!("{}/ssa/denied:1", registry.host));
        login(&mut command);
        let output = run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{tool}: push with a wrong password succeeded"
        );
        assert!(
            stderr.contains(&format!("rejected the credentials from {source}")),
            "{tool}: {stderr}"
        );
        assert!(!stderr.contains(wrong), "{tool}: the password was echoed");
        assert!(String::from_utf8_lossy(&output.stdout).trim().is_empty());
    }
}

#[test]
fn push_prints_the_digest_the_registry_reports() {
    if !require(&TOOLS, "push_prints_the_digest_the_registry_reports") {
        return;
    }
    let registry = LocalRegistry::start();
    assert_pushes(&registry, "agent", |command| {
        command
            .env("REGISTRY_USERNAME", registry::USER)
            .env("REGISTRY_PASSWORD", registry::PASSWORD);
    });
}

#[test]
fn push_with_a_wrong_password_fails_naming_the_credentials() {
    if !require(
        &TOOLS,
        "push_with_a_wrong_password_fails_naming_the_credentials",
    ) {
        return;
    }
    let registry = LocalRegistry::start();
    let wrong = "not-the-password-4711";
    assert_rejected(
        &registry,
        "push-wrong",
        "REGISTRY_USERNAME/REGISTRY_PASSWORD",
        wrong,
        |command| {
            command
                .env("REGISTRY_USERNAME", registry::USER)
                .env("REGISTRY_PASSWORD", wrong);
        },
    );
}

#[test]
fn push_logs_in_with_the_credential_helper_the_auth_file_names_for_the_registry() {
    if !require(
        &TOOLS,
        "push_logs_in_with_the_credential_helper_the_auth_file_names_for_the_registry",
    ) {
        return;
    }
    let registry = LocalRegistry::start();
    let helper = CredentialHelper::new("ssa-test", registry::USER, registry::PASSWORD);
    let auth_file = helper.auth_file_for(&registry.host);
    assert_pushes(&registry, "helper", |command| {
        command
            .env("PATH", helper.path_env())
            .env("REGISTRY_AUTH_FILE", &auth_file);
    });
    assert!(
        helper.asked().contains(&registry.host),
        "the helper was asked for {}: {:?}",
        registry.host,
        helper.asked()
    );
}

#[test]
fn a_wrong_password_from_a_credential_helper_fails_naming_the_auth_file() {
    if !require(
        &TOOLS,
        "a_wrong_password_from_a_credential_helper_fails_naming_the_auth_file",
    ) {
        return;
    }
    let registry = LocalRegistry::start();
    let wrong = "helper-has-it-wrong-0815";
    let helper = CredentialHelper::new("ssa-test-wrong", registry::USER, wrong);
    let auth_file = helper.auth_file_for(&registry.host);
    assert_rejected(
        &registry,
        "helper-wrong",
        &format!("auth file {}", auth_file.display()),
        wrong,
        |command| {
            command
                .env("PATH", helper.path_env())
                .env("REGISTRY_AUTH_FILE", &auth_file);
        },
    );
}

#[test]
fn push_all_sends_the_three_images_and_helm_pins_each_by_its_digest() {
    let test = "push_all_sends_the_three_images_and_helm_pins_each_by_its_digest";
    if !require(&TOOLS, test) {
        return;
    }
    let Some(python) = chart::tools_python(test) else {
        return;
    };
    let all = all_images();
    let registry = LocalRegistry::start();
    // The three records in a directory of their own (a push updates them).
    let out = scratch_dir().join("push-all");
    std::fs::create_dir_all(&out).unwrap();
    let records = std::iter::once(AGENT_RECORD.to_owned())
        .chain(MCP_SERVERS.iter().map(|server| server.record_file_name()));
    for record in records {
        std::fs::copy(all.agent.out_dir.join(&record), out.join(&record)).unwrap();
    }
    let version = env!("CARGO_PKG_VERSION");
    let base = format!("{}/ssa/self-service-agent", registry.host);
    let printed = run_ok(
        push("podman", &out, &format!("{base}:{version}"))
            .arg("--all")
            .env("REGISTRY_USERNAME", registry::USER)
            .env("REGISTRY_PASSWORD", registry::PASSWORD),
    );
    let pushed = [
        (format!("{base}:{version}"), &all.agent),
        (
            format!("{base}-employee-info-mcp:{version}"),
            all.mcp("mcp-employee-info"),
        ),
        (format!("{base}-snow-mcp:{version}"), all.mcp("mcp-snow")),
    ];
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        pushed
            .iter()
            .map(|(_, built)| built.digest.as_str())
            .collect::<Vec<_>>(),
        "one digest a line, the archives'"
    );
    for (reference, built) in &pushed {
        assert_eq!(
            registry.skopeo_digest(reference),
            built.digest,
            "{reference}"
        );
    }

    // `cargo xtask helm`'s values from the updated records, rendered.
    let images = BuiltImages::read(&out).unwrap();
    let set_string: Vec<String> = images
        .set_args()
        .chunks(2)
        .map(|pair| pair[1].clone())
        .collect();
    let rendered = Render {
        answer: render::render(
            &python,
            &json!({
                "chart": xtask::workspace::root().join("helm"), "values": {},
                "set_string": set_string, "release": RELEASE, "namespace": NAMESPACE,
                "lint": false,
            }),
        ),
    };
    assert!(rendered.ok(), "{}", rendered.error());
    let rendered_images: BTreeSet<String> = rendered
        .containers()
        .iter()
        .map(|container| container.spec["image"].as_str().unwrap().to_owned())
        .collect();
    let pinned: BTreeSet<String> = pushed
        .iter()
        .map(|(reference, built)| {
            let repository = reference.rsplit_once(':').unwrap().0;
            format!("{repository}@{}", built.digest)
        })
        .collect();
    assert_eq!(rendered_images, pinned);
}
