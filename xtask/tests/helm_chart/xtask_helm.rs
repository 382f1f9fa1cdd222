//! `cargo xtask helm ...`: the image of the last build becomes the chart's
//! image values, and each subcommand is the helm command line users know.

use std::ffi::OsString;
use std::path::Path;

use xtask::helm::{self, BuiltImage, BuiltImages, HelmArgs, HelmCommand};

use crate::sets::DIGEST;

fn helm_args(namespace: Option<&str>, extra: &[&str]) -> HelmArgs {
    HelmArgs {
        release: helm::DEFAULT_RELEASE.to_owned(),
        namespace: namespace.map(str::to_owned),
        no_built_image: false,
        helm_args: extra.iter().map(Into::into).collect(),
    }
}

fn argv_strings(argv: Vec<OsString>) -> Vec<String> {
    argv.into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn build_record_becomes_image_values_pinned_by_digest() {
    let image = BuiltImage::from_record(&format!(
        r#"{{"reference": "quay.io/ecosystem-appeng/self-service-agent:0.1.0",
            "repository": "quay.io/ecosystem-appeng/self-service-agent",
            "tag": "0.1.0", "digest": "{DIGEST}", "builder": "none"}}"#
    ))
    .expect("record");
    assert_eq!(
        image.set_args(),
        [
            "--set-string",
            "image.registry=quay.io",
            "--set-string",
            "image.repository=ecosystem-appeng/self-service-agent",
            "--set-string",
            "image.tag=0.1.0",
            "--set-string",
            &format!("image.digest={DIGEST}"),
        ]
    );
}

#[test]
fn build_record_without_a_digest_leaves_the_image_unpinned() {
    let unpinned = BuiltImage::from_record(
        r#"{"reference": "localhost:5000/ssa:dev", "repository": "localhost:5000/ssa", "tag": "dev"}"#,
    )
    .expect("record without digest");
    assert_eq!(
        (unpinned.registry.as_str(), unpinned.repository.as_str()),
        ("localhost:5000", "ssa")
    );
    assert!(
        !unpinned
            .set_args()
            .iter()
            .any(|a| a.starts_with("image.digest"))
    );
}

#[test]
fn a_registry_is_split_off_only_when_the_first_component_names_a_host() {
    assert_eq!(
        xtask::image::split_registry("library/ssa"),
        ("", "library/ssa")
    );
    assert_eq!(
        xtask::image::split_registry("localhost/ssa"),
        ("localhost", "ssa")
    );
}

#[test]
fn build_records_without_a_repository_or_with_a_foreign_digest_are_refused() {
    assert!(
        BuiltImage::from_record(r#"{"repository": "a/b", "tag": "1", "digest": "md5:x"}"#).is_err()
    );
    assert!(BuiltImage::from_record(r#"{"tag": "1"}"#).is_err());
}

#[test]
fn helm_subcommands_build_the_expected_command_lines() {
    let chart = Path::new("/src/helm");
    let images = BuiltImages {
        agent: Some(BuiltImage {
            registry: "quay.io".into(),
            repository: "x/ssa".into(),
            tag: "1.0".into(),
            digest: Some(DIGEST.into()),
        }),
        mcp: Vec::new(),
    };
    let sets = images.set_args();
    let cases: Vec<(HelmCommand, Vec<String>)> = vec![
        (
            HelmCommand::Template(helm_args(None, &["-f", "my.yaml"])),
            ["template", "self-service-agent", "/src/helm"]
                .into_iter()
                .map(String::from)
                .chain(sets.iter().cloned())
                .chain(["-f".into(), "my.yaml".into()])
                .collect(),
        ),
        (
            HelmCommand::Lint(helm_args(Some("ssa"), &[])),
            ["lint", "/src/helm", "--strict", "--namespace", "ssa"]
                .into_iter()
                .map(String::from)
                .chain(sets.iter().cloned())
                .collect(),
        ),
        (
            HelmCommand::Install(helm_args(Some("ssa"), &["--wait"])),
            [
                "upgrade",
                "--install",
                "self-service-agent",
                "/src/helm",
                "--namespace",
                "ssa",
            ]
            .into_iter()
            .map(String::from)
            .chain(sets.iter().cloned())
            .chain(["--wait".into()])
            .collect(),
        ),
        (
            HelmCommand::Uninstall(helm_args(Some("ssa"), &[])),
            ["uninstall", "self-service-agent", "--namespace", "ssa"]
                .map(String::from)
                .to_vec(),
        ),
        (
            HelmCommand::Status(helm_args(None, &[])),
            ["status", "self-service-agent"].map(String::from).to_vec(),
        ),
    ];
    for (cmd, expected) in cases {
        assert_eq!(
            argv_strings(helm::helm_argv(&cmd, chart, Some(&images))),
            expected,
            "{cmd:?}"
        );
    }
}

/// A `helm` that writes its arguments to a file, one a line, and exits 3
/// for `status`; and a build record next to it.
struct FakeHelm {
    dir: tempfile::TempDir,
}

impl FakeHelm {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("helm");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n[ \"$1\" = status ] && exit 3\nexit 0\n",
                dir.path().join("argv").display()
            ),
        )
        .expect("fake helm");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self { dir }
    }

    fn write_record(&self, text: &str) {
        self.write_record_named("last-build.json", text);
    }

    fn write_record_named(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("record");
    }

    /// `cargo xtask helm <cmd>` with this helm on the chart in `helm/`.
    fn run(&self, cmd: HelmCommand) -> anyhow::Result<()> {
        helm::run_with(
            &cmd,
            &self.dir.path().join("helm"),
            &xtask::workspace::root().join("helm"),
            self.dir.path(),
        )
    }

    /// The arguments of the last call.
    fn argv(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("argv")).expect("argv")
    }
}

#[test]
fn without_a_build_record_helm_gets_the_charts_own_image_values() {
    let helm = FakeHelm::new();
    helm.run(HelmCommand::Template(helm_args(None, &[])))
        .expect("template without record");
    let argv = helm.argv();
    assert!(!argv.contains("image."), "{argv}");
}

#[test]
fn install_is_upgrade_install_with_the_recorded_image_pinned_by_digest() {
    let helm = FakeHelm::new();
    helm.write_record(&format!(
        r#"{{"reference": "quay.io/a/b:2", "repository": "quay.io/a/b", "tag": "2", "digest": "{DIGEST}"}}"#
    ));
    helm.run(HelmCommand::Install(helm_args(Some("ns"), &[])))
        .expect("install");
    let argv = helm.argv();
    assert!(
        argv.starts_with("upgrade\n--install\nself-service-agent\n"),
        "{argv}"
    );
    assert!(argv.contains(&format!("image.digest={DIGEST}\n")), "{argv}");
}

#[test]
fn no_built_image_leaves_the_image_to_the_chart_despite_a_record() {
    let helm = FakeHelm::new();
    helm.write_record(&format!(
        r#"{{"reference": "quay.io/a/b:2", "repository": "quay.io/a/b", "tag": "2", "digest": "{DIGEST}"}}"#
    ));
    let mut opted_out = helm_args(None, &[]);
    opted_out.no_built_image = true;
    helm.run(HelmCommand::Template(opted_out))
        .expect("template");
    assert!(!helm.argv().contains("image."));
}

#[test]
fn a_failing_helm_is_reported_with_its_exit_status() {
    let helm = FakeHelm::new();
    let error = helm
        .run(HelmCommand::Status(helm_args(None, &[])))
        .expect_err("status exits 3");
    assert!(format!("{error:#}").contains("exit status: 3"), "{error:#}");
}

#[test]
fn a_broken_build_record_is_named_in_the_error() {
    let helm = FakeHelm::new();
    helm.write_record("{not json");
    let error = helm
        .run(HelmCommand::Lint(helm_args(None, &[])))
        .expect_err("broken record");
    assert!(
        format!("{error:#}").contains("last-build.json"),
        "{error:#}"
    );
}

/// A build record of `repository:tag` pinned by `digest`.
fn record_text(repository: &str, tag: &str, digest: &str) -> String {
    format!(
        r#"{{"reference": "{repository}:{tag}", "repository": "{repository}", "tag": "{tag}", "digest": "{digest}"}}"#
    )
}

#[test]
fn mcp_build_records_become_the_mcp_servers_image_values_pinned_by_digest() {
    let helm = FakeHelm::new();
    let snow_digest = DIGEST.replace("0123", "4567");
    helm.write_record(&record_text("quay.io/a/ssa", "2", DIGEST));
    helm.write_record_named(
        "last-build-mcp-mcp-employee-info.json",
        &record_text("quay.io/a/ssa-employee-info-mcp", "2", DIGEST),
    );
    helm.write_record_named(
        "last-build-mcp-mcp-snow.json",
        &record_text("quay.io/a/ssa-snow-mcp", "2", &snow_digest),
    );
    helm.run(HelmCommand::Template(helm_args(None, &[])))
        .expect("template");
    let argv = helm.argv();
    for expected in [
        format!("image.digest={DIGEST}"),
        "mcpServers.employeeInfo.image.registry=quay.io".to_owned(),
        "mcpServers.employeeInfo.image.repository=a/ssa-employee-info-mcp".to_owned(),
        "mcpServers.employeeInfo.image.tag=2".to_owned(),
        format!("mcpServers.employeeInfo.image.digest={DIGEST}"),
        "mcpServers.snow.image.repository=a/ssa-snow-mcp".to_owned(),
        format!("mcpServers.snow.image.digest={snow_digest}"),
    ] {
        assert!(
            argv.lines().any(|line| line == expected),
            "{expected} missing from:\n{argv}"
        );
    }
}

#[test]
fn an_mcp_server_without_a_build_record_keeps_the_charts_image_values() {
    let helm = FakeHelm::new();
    helm.write_record(&record_text("quay.io/a/ssa", "2", DIGEST));
    helm.write_record_named(
        "last-build-mcp-mcp-snow.json",
        &record_text("quay.io/a/ssa-snow-mcp", "2", DIGEST),
    );
    helm.run(HelmCommand::Install(helm_args(None, &[])))
        .expect("install");
    let argv = helm.argv();
    assert!(argv.contains("mcpServers.snow.image.digest="), "{argv}");
    assert!(!argv.contains("mcpServers.employeeInfo"), "{argv}");
}
