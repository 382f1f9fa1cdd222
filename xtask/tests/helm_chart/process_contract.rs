//! The images' process contract (docs/chart.md, docs/mcp-servers.md) as
//! every override set's pods must honour it: every pod but the MCP servers'
//! runs the main image, each MCP server its own; each container one of its
//! image's binaries with a command line that binary has and only the
//! environment variables it reads, and every Secret and ConfigMap a pod
//! names either made by the release or named by the user.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::binaries::{binary, check_command, image_of};
use crate::common::chart::{EMPLOYEE_INFO, strings};
use crate::sets::{DEFAULTS, DIGEST, DIGEST_PINNING, EVERYTHING_ELSE, SNOW_DIGEST, renders};

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
            let args = strings(&container.spec["args"]);
            let argv: Vec<&str> = command.iter().chain(args.iter()).copied().collect();
            let path = *argv.first().unwrap_or_else(|| panic!("{what}: no command"));
            let allowed: BTreeSet<&str> = binary(&what, image_of(&container), &argv)
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
            ("Secret", "/delivery/smtp/existingSecret"),
            ("Secret", "/delivery/webhook/existingSecret"),
            ("Secret", "/slack/existingSecret"),
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
