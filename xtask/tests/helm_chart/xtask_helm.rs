//! `cargo xtask helm ...`: the image of the last build becomes the chart's
//! image values, and each subcommand is the helm command line users know.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use xtask::helm::{self, BuiltImage, HelmArgs, HelmCommand};

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
    let image = BuiltImage {
        registry: "quay.io".into(),
        repository: "x/ssa".into(),
        tag: "1.0".into(),
        digest: Some(DIGEST.into()),
    };
    let sets = image.set_args();
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
            argv_strings(helm::helm_argv(&cmd, chart, Some(&image))),
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

    fn record(&self) -> PathBuf {
        self.dir.path().join("last-build.json")
    }

    fn write_record(&self, text: &str) {
        std::fs::write(self.record(), text).expect("record");
    }

    /// `cargo xtask helm <cmd>` with this helm on the chart in `helm/`.
    fn run(&self, cmd: HelmCommand) -> anyhow::Result<()> {
        helm::run_with(
            &cmd,
            &self.dir.path().join("helm"),
            &xtask::workspace::root().join("helm"),
            &self.record(),
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
