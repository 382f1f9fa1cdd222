//! The image's process contract (ARCHITECTURE.md, "Process contract") as
//! every override set's pods must honour it: one image, each container one
//! of its binaries with a command line that binary has and only the
//! environment variables it reads, and every Secret and ConfigMap a pod
//! names either made by the release or named by the user.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::chart::{DB_MIGRATE, REGISTER_ASSETS, SERVICE, strings};
use crate::sets::{DIGEST, renders};

/// A binary of the image and what the chart may hand it.
struct Binary {
    path: &'static str,
    /// Whether the arguments after the binary are a command line it has.
    accepts: fn(&[&str]) -> bool,
    /// The environment variables it reads, in groups.
    env: &'static [&'static [&'static str]],
}

const LOGGING: &[&str] = &["LOG_LEVEL", "LOG_FORMAT", "RUST_LOG"];
const DATABASE: &[&str] = &[
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "DB_POOL_RECYCLE",
    "SQL_DEBUG",
    "DB_WAIT_TIMEOUT",
];
const LLAMASTACK: &[&str] = &["LLAMA_STACK_URL", "LLAMASTACK_SERVICE_HOST"];

/// Every binary a container of the chart may run. A workload added to the
/// chart runs one of these, or its binary gets a row here.
const BINARIES: &[Binary] = &[
    Binary {
        path: DB_MIGRATE,
        accepts: |args| matches!(args.first(), Some(&"up" | &"wait" | &"status")),
        env: &[
            LOGGING,
            DATABASE,
            &[
                "DB_LOCK_TIMEOUT",
                "EXPECTED_MIGRATION_VERSION",
                "MIGRATION_WAIT_TIMEOUT",
            ],
        ],
    },
    Binary {
        path: REGISTER_ASSETS,
        accepts: |args| {
            args.iter()
                .all(|arg| ["--dry-run", "--prune"].contains(arg))
        },
        env: &[
            LOGGING,
            LLAMASTACK,
            &["ASSET_CONFIG_DIR", "LLAMA_STACK_WAIT_TIMEOUT"],
        ],
    },
    Binary {
        path: SERVICE,
        accepts: |args| match args {
            ["serve"] => true,
            ["healthcheck", "--url", url] => url.starts_with("http://"),
            _ => false,
        },
        env: &[
            LOGGING,
            DATABASE,
            LLAMASTACK,
            &[
                "LISTEN_ADDR",
                "EXPECTED_MIGRATION_VERSION",
                "AUTH_MODE",
                "API_KEYS_FILE",
                "REQUEST_MANAGER_URL",
            ],
        ],
    },
];

fn binary(what: &str, path: &str) -> &'static Binary {
    BINARIES
        .iter()
        .find(|binary| binary.path == path)
        .unwrap_or_else(|| panic!("{what}: {path} is not one of the image's binaries"))
}

/// Checks a command line against the binaries and their command lines.
fn check_command(what: &str, argv: &[&str]) {
    let (path, args) = argv
        .split_first()
        .unwrap_or_else(|| panic!("{what}: empty command"));
    assert!(
        (binary(what, path).accepts)(args),
        "{what}: {path} {args:?} is not a command line it has"
    );
}

#[test]
fn exactly_one_image_across_all_pods_and_digest_wins() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let name = rendered.name;
        let containers = rendered.render.containers();
        let images: BTreeSet<&str> = containers
            .iter()
            .map(|container| container.spec["image"].as_str().expect("image"))
            .collect();
        assert_eq!(images.len(), 1, "{name}: images {images:?}");
        let image = *images.iter().next().expect("one image");
        let expected = if rendered.values["image"]["digest"].is_string() {
            format!("registry.example.com:5000/team/ssa@{DIGEST}")
        } else {
            "quay.io/ecosystem-appeng/self-service-agent:0.1.0".to_owned()
        };
        assert_eq!(image, expected, "{name}");
        println!("{name}: every container runs {image}");
    }
}

#[test]
fn every_container_pulls_its_image_if_not_present() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let policies: BTreeSet<&str> = rendered
            .render
            .containers()
            .iter()
            .map(|c| c.spec["imagePullPolicy"].as_str().expect("pull policy"))
            .collect();
        assert_eq!(
            policies,
            BTreeSet::from(["IfNotPresent"]),
            "{}",
            rendered.name
        );
    }
}

#[test]
fn every_container_runs_one_binary_of_the_image_with_a_command_line_it_has() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let mut seen = BTreeMap::new();
        for container in rendered.render.containers() {
            let what = format!("{} {}", rendered.name, container.id);
            let command = strings(&container.spec["command"]);
            assert_eq!(
                command.len(),
                1,
                "{what}: command is the binary alone: {command:?}"
            );
            let args = strings(&container.spec["args"]);
            let argv: Vec<&str> = command.iter().chain(args.iter()).copied().collect();
            check_command(&what, &argv);
            *seen.entry(argv[..argv.len().min(2)].join(" ")).or_insert(0) += 1;
        }
        println!("{}: commands {seen:?}", rendered.name);
    }
}

#[test]
fn every_exec_probe_runs_one_binary_of_the_image_with_a_command_line_it_has() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        for container in rendered.render.containers() {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(exec) = container.spec[probe]["exec"]["command"].as_array() {
                    let probe_argv: Vec<&str> = exec.iter().filter_map(Value::as_str).collect();
                    check_command(
                        &format!("{} {} {probe}", rendered.name, container.id),
                        &probe_argv,
                    );
                }
            }
        }
    }
}

#[test]
fn every_container_gets_only_environment_its_binary_reads_each_variable_once() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        // What the user adds with extraEnv is theirs to choose.
        let extra: BTreeSet<&str> = rendered.values["extraEnv"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
            .collect();
        for container in rendered.render.containers() {
            let what = format!("{} {}", rendered.name, container.id);
            let command = strings(&container.spec["command"]);
            let path = command
                .first()
                .unwrap_or_else(|| panic!("{what}: no command"));
            let allowed: BTreeSet<&str> = binary(&what, path)
                .env
                .iter()
                .flat_map(|group| group.iter().copied())
                .collect();
            let mut names = BTreeSet::new();
            for env in container.spec["env"].as_array().into_iter().flatten() {
                let var = env["name"].as_str().expect("env name");
                assert!(names.insert(var), "{what}: {var} set twice");
                assert!(
                    allowed.contains(var) || extra.contains(var),
                    "{what}: {var} is not in {path}'s process contract"
                );
            }
        }
    }
}

#[test]
fn pods_reference_only_secrets_and_configmaps_the_release_creates_or_the_user_names() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let (name, values, render) = (rendered.name, &rendered.values, &rendered.render);
        let mut available: BTreeSet<(String, String)> = render
            .objects()
            .iter()
            .filter(|o| o["kind"] == "Secret" || o["kind"] == "ConfigMap")
            .map(|o| {
                (
                    o["kind"].as_str().unwrap_or_default().to_owned(),
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        // Named by the user: exist before the release.
        for (kind, pointer) in [
            ("Secret", "/database/existingSecret"),
            ("Secret", "/auth/apiKeysSecret"),
            ("ConfigMap", "/assets/existingConfigMap"),
        ] {
            if let Some(existing) = values.pointer(pointer).and_then(Value::as_str) {
                available.insert((kind.to_owned(), existing.to_owned()));
            }
        }
        let mut needed = BTreeSet::new();
        for pod in render.pods() {
            for volume in pod.spec["volumes"].as_array().into_iter().flatten() {
                if let Some(secret) = volume["secret"]["secretName"].as_str() {
                    needed.insert((pod.id.clone(), "Secret".to_owned(), secret.to_owned()));
                }
                if let Some(cm) = volume["configMap"]["name"].as_str() {
                    needed.insert((pod.id.clone(), "ConfigMap".to_owned(), cm.to_owned()));
                }
            }
        }
        for container in render.containers() {
            for env in container.spec["env"].as_array().into_iter().flatten() {
                if let Some(secret) = env["valueFrom"]["secretKeyRef"]["name"].as_str() {
                    needed.insert((container.id.clone(), "Secret".to_owned(), secret.to_owned()));
                }
                if let Some(cm) = env["valueFrom"]["configMapKeyRef"]["name"].as_str() {
                    needed.insert((container.id.clone(), "ConfigMap".to_owned(), cm.to_owned()));
                }
            }
        }
        for (who, kind, object) in &needed {
            assert!(
                available.contains(&(kind.clone(), object.clone())),
                "{name}: {who} references {kind} {object}, which neither the release nor the user provides"
            );
        }
    }
}

/// Secrets and ConfigMaps the pods use are plain resources, applied before
/// any workload on install and upgrade, and the Jobs are plain resources
/// too: no hook may need them.
#[test]
fn secrets_configmaps_and_jobs_are_plain_resources_not_hooks() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        for object in rendered.render.objects() {
            if ["Secret", "ConfigMap", "Job"].contains(&object["kind"].as_str().unwrap_or_default())
            {
                assert!(
                    object["metadata"]["annotations"]["helm.sh/hook"].is_null(),
                    "{}",
                    rendered.name
                );
            }
        }
    }
}
