//! The images' process contract (docs/chart.md, docs/mcp-servers.md) as
//! every override set's pods must honour it: every pod but the MCP servers'
//! runs the main image, each MCP server its own; each container one of its
//! image's binaries with a command line that binary has and only the
//! environment variables it reads, and every Secret and ConfigMap a pod
//! names either made by the release or named by the user.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::chart::{
    Container, DB_MIGRATE, EMPLOYEE_INFO, MCP_SERVER, REGISTER_ASSETS, SERVICE, SNOW, strings,
};
use crate::sets::{DEFAULTS, DIGEST, DIGEST_PINNING, EVERYTHING_ELSE, SNOW_DIGEST, renders};

/// A binary of an image and what the chart may hand it.
struct Binary {
    /// The image: `None` the main image, else the MCP server's (its
    /// pods' component label).
    image: Option<&'static str>,
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
/// What both MCP servers read (docs/mcp-servers.md, "Settings").
const MCP_SETTINGS: &[&str] = &[
    "LISTEN_ADDR",
    "MCP_TRANSPORT",
    "MCP_AUTH_TOKEN",
    "MCP_ALLOW_ANY_EMPLOYEE",
    "MCP_ALLOWED_HOSTS",
    "SHUTDOWN_TIMEOUT",
    "EMPLOYEE_DATA_FILE",
    "TICKET_IDEMPOTENCY_WINDOW",
];
const SERVICENOW: &[&str] = &[
    "SERVICENOW_INSTANCE_URL",
    "SERVICENOW_API_KEY",
    "SERVICENOW_API_KEY_HEADER",
    "SERVICENOW_USERNAME",
    "SERVICENOW_PASSWORD",
    "SERVICENOW_LAPTOP_REFRESH_ID",
    "SERVICENOW_TIMEOUT",
    "SERVICENOW_RETRIES",
    "SERVICENOW_LAPTOP_REQUEST_LIMITS",
    "SERVICENOW_LAPTOP_AVOID_DUPLICATES",
];

/// `serve` (the default) and `healthcheck --url`, as both the service and
/// the MCP servers have them.
fn serve_or_healthcheck(args: &[&str]) -> bool {
    match args {
        ["serve"] => true,
        ["healthcheck", "--url", url] => url.starts_with("http://"),
        _ => false,
    }
}

/// Every binary a container of the chart may run. A workload added to the
/// chart runs one of these, or its binary gets a row here.
const BINARIES: &[Binary] = &[
    Binary {
        image: None,
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
        image: None,
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
        image: None,
        path: SERVICE,
        accepts: serve_or_healthcheck,
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
                "MCP_AUTH_TOKEN",
            ],
        ],
    },
    Binary {
        image: Some(EMPLOYEE_INFO),
        path: MCP_SERVER,
        accepts: serve_or_healthcheck,
        env: &[LOGGING, MCP_SETTINGS, SERVICENOW],
    },
    Binary {
        image: Some(SNOW),
        path: MCP_SERVER,
        accepts: serve_or_healthcheck,
        env: &[LOGGING, MCP_SETTINGS, SERVICENOW],
    },
];

/// The image a container runs: `None` the main image, else the MCP
/// server's component.
fn image_of(container: &Container<'_>) -> Option<&'static str> {
    [EMPLOYEE_INFO, SNOW]
        .into_iter()
        .find(|mcp| container.component() == Some(*mcp))
}

fn binary(what: &str, image: Option<&str>, path: &str) -> &'static Binary {
    BINARIES
        .iter()
        .find(|binary| binary.image == image && binary.path == path)
        .unwrap_or_else(|| panic!("{what}: {path} is not a binary of the image {image:?}"))
}

/// Checks a command line against the image's binaries and their command lines.
fn check_command(what: &str, image: Option<&str>, argv: &[&str]) {
    let (path, args) = argv
        .split_first()
        .unwrap_or_else(|| panic!("{what}: empty command"));
    assert!(
        (binary(what, image, path).accepts)(args),
        "{what}: {path} {args:?} is not a command line it has"
    );
}

/// The images an override set must run: the main one, employee-info's and
/// snow's.
fn expected_images(set: &str) -> [String; 3] {
    let quay = "quay.io/ecosystem-appeng/self-service-agent";
    match set {
        DIGEST_PINNING => {
            let pinned = "registry.example.com:5000/team/ssa";
            [
                format!("{pinned}@{DIGEST}"),
                format!("{pinned}-employee-info-mcp:1.2.3"),
                format!("{pinned}-snow-mcp@{SNOW_DIGEST}"),
            ]
        }
        EVERYTHING_ELSE => [
            format!("{quay}:0.1.0"),
            "mirror.example.com/mcp/employee-info:7".to_owned(),
            format!("{quay}-snow-mcp:0.1.0"),
        ],
        _ => [
            format!("{quay}:0.1.0"),
            format!("{quay}-employee-info-mcp:0.1.0"),
            format!("{quay}-snow-mcp:0.1.0"),
        ],
    }
}

#[test]
fn every_non_mcp_pod_runs_the_main_image_and_each_mcp_pod_its_own_mcp_image() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let name = rendered.name;
        let [main, employee_info, snow] = expected_images(name);
        let mut seen = BTreeSet::new();
        for container in rendered.render.containers() {
            let image = container.spec["image"].as_str().expect("image");
            let expected = match image_of(&container) {
                None => &main,
                Some(EMPLOYEE_INFO) => &employee_info,
                Some(_) => &snow,
            };
            assert_eq!(image, expected, "{name} {}", container.id);
            seen.insert(image);
        }
        assert!(seen.contains(main.as_str()), "{name}: {seen:?}");
        println!("{name}: images {seen:?}");
    }
}

#[test]
fn the_defaults_run_three_images() {
    let Some(renders) = renders() else { return };
    let defaults = renders
        .iter()
        .find(|r| r.name == DEFAULTS)
        .expect("defaults");
    let images: BTreeSet<&str> = defaults
        .render
        .containers()
        .iter()
        .map(|container| container.spec["image"].as_str().expect("image"))
        .collect();
    assert_eq!(images.len(), 3, "{images:?}");
}

#[test]
fn every_container_pulls_with_its_images_pull_policy() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let main = rendered.values["image"]["pullPolicy"]
            .as_str()
            .unwrap_or("IfNotPresent");
        for container in rendered.render.containers() {
            let own = match image_of(&container) {
                Some(EMPLOYEE_INFO) => &rendered.values["mcpServers"]["employeeInfo"],
                Some(_) => &rendered.values["mcpServers"]["snow"],
                None => &Value::Null,
            };
            let expected = own["image"]["pullPolicy"].as_str().unwrap_or(main);
            assert_eq!(
                container.spec["imagePullPolicy"], expected,
                "{} {}",
                rendered.name, container.id
            );
        }
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
            check_command(&what, image_of(&container), &argv);
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
                        image_of(&container),
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
        // What the user adds with extraEnv (and an MCP server's env) is
        // theirs to choose.
        let names = |list: &'static Value| -> BTreeSet<&'static str> {
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["name"].as_str())
                .collect()
        };
        let mcp = &rendered.values["mcpServers"];
        for container in rendered.render.containers() {
            let what = format!("{} {}", rendered.name, container.id);
            let mut extra = names(&rendered.values["extraEnv"]);
            match image_of(&container) {
                Some(EMPLOYEE_INFO) => extra.extend(names(&mcp["employeeInfo"]["env"])),
                Some(_) => extra.extend(names(&mcp["snow"]["env"])),
                None => {}
            }
            let command = strings(&container.spec["command"]);
            let path = command
                .first()
                .unwrap_or_else(|| panic!("{what}: no command"));
            let allowed: BTreeSet<&str> = binary(&what, image_of(&container), path)
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
            ("Secret", "/mcpServers/authToken/existingSecret"),
            (
                "Secret",
                "/mcpServers/employeeInfo/servicenow/existingSecret",
            ),
            ("Secret", "/mcpServers/snow/servicenow/existingSecret"),
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
