//! The Helm chart in `helm/`, rendered and linted by the real Helm v4 engine
//! (PyPI `helm-python-sdk`, through `helm/tests/render.py` in the tools venv
//! `target/venv/tools` from `ci/python/tools.txt`), every object validated
//! against the Kubernetes schemas (`kubernetes-validate`, strict), and the
//! pods checked against the image's process contract and the restricted Pod
//! Security Standard. Also the `cargo xtask helm` argument building.
//!
//! Without the venv the chart tests print `SKIPPED: ...` and pass, unless
//! `SSA_REQUIRE_ALL=1`, where they fail.

#[path = "../src/workspace.rs"]
#[allow(dead_code)]
mod workspace;

#[path = "common/render.rs"]
mod render;

#[path = "../src/helm.rs"]
#[allow(dead_code)]
mod helm;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const RELEASE: &str = "self-service-agent";
const NAMESPACE: &str = "ssa";
/// The chart's minimum (Chart.yaml kubeVersion) and the newest schemas
/// kubernetes-validate ships.
const KUBE_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const DB_MIGRATE: &str = "/usr/local/bin/db-migrate";
const REGISTER_ASSETS: &str = "/usr/local/bin/register-assets";
const SERVICE: &str = "/usr/local/bin/self-service-agent";

// ---------------------------------------------------------------- harness

fn tools_python() -> Option<PathBuf> {
    let python = render::venv_python();
    if python.is_file() {
        return Some(python);
    }
    test_support::skip_unless_required("helm chart tests", &render::missing_venv(&python));
    None
}

/// What render.py answered for one set of values.
struct Render {
    answer: Value,
}

impl Render {
    fn ok(&self) -> bool {
        self.answer["ok"] == json!(true)
    }

    fn error(&self) -> String {
        self.answer["error"].as_str().unwrap_or_default().to_owned()
    }

    fn objects(&self) -> Vec<&Value> {
        self.answer["objects"]
            .as_array()
            .map(|objects| objects.iter().map(|entry| &entry["object"]).collect())
            .unwrap_or_default()
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects()
            .into_iter()
            .filter(|object| object["kind"] == kind)
            .collect()
    }

    fn one(&self, kind: &str) -> &Value {
        let found = self.of_kind(kind);
        assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
        found[0]
    }

    /// Every pod spec: Deployment and Job templates, bare Pods.
    fn pod_specs(&self) -> Vec<(String, &Value)> {
        self.objects()
            .into_iter()
            .filter_map(|object| {
                let name = format!(
                    "{}/{}",
                    object["kind"].as_str()?,
                    object["metadata"]["name"].as_str()?
                );
                match object["kind"].as_str()? {
                    "Pod" => Some((name, &object["spec"])),
                    "Deployment" | "Job" | "StatefulSet" | "DaemonSet" => {
                        Some((name, &object["spec"]["template"]["spec"]))
                    }
                    "CronJob" => Some((
                        name,
                        &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                    )),
                    _ => None,
                }
            })
            .collect()
    }

    /// Every container of every pod (init containers included), named
    /// `Kind/name:container`.
    fn containers(&self) -> Vec<(String, &Value)> {
        let mut all = Vec::new();
        for (pod, spec) in self.pod_specs() {
            for field in ["initContainers", "containers"] {
                for container in spec[field].as_array().into_iter().flatten() {
                    all.push((
                        format!("{pod}:{}", container["name"].as_str().unwrap_or("?")),
                        container,
                    ));
                }
            }
        }
        all
    }
}

fn render_with(python: &Path, values: &Value, lint: bool) -> Render {
    let root = workspace::root();
    let request = json!({
        "chart": root.join("helm"),
        "values": values,
        "release": RELEASE,
        "namespace": NAMESPACE,
        "lint": lint,
        "kube_versions": KUBE_VERSIONS,
    });
    let answer = render::render(python, &request);
    Render { answer }
}

/// The override sets every render check runs on.
fn override_sets() -> Vec<(&'static str, Value)> {
    vec![
        ("defaults", json!({})),
        (
            "external Secret",
            json!({"database": {"existingSecret": "pgvector"}}),
        ),
        (
            "digest pinning",
            json!({"image": {"registry": "registry.example.com:5000", "repository": "team/ssa",
                             "tag": "1.2.3", "digest": DIGEST}}),
        ),
        (
            "autoscaling on",
            json!({"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 6,
                                   "targetMemoryUtilizationPercentage": 75}}),
        ),
        (
            "everything else on",
            json!({
                "fullnameOverride": "a-very-long-release-name-that-fills-all-sixty-three-characters1",
                "assets": {"files": {
                    "config.yaml": "timeout: 120\n",
                    "agents/routing-agent.yaml": "name: routing-agent\nmodel: ''\n",
                    "knowledge_bases/laptop-refresh/policy.txt": "Laptops are refreshed every 3 years.\n"},
                    "dryRun": true, "prune": true, "ttlSecondsAfterFinished": 3600},
                "auth": {"mode": "header-or-api-key", "apiKeysSecret": "ssa-api-keys"},
                "probes": {"mode": "exec"},
                "pdb": {"minAvailable": "50%"},
                "migration": {"ttlSecondsAfterFinished": 600},
                "imagePullSecrets": [{"name": "pull-secret"}],
                "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
                "logging": {"level": "debug", "format": "text"},
                "service": {"port": 9090},
            }),
        ),
        (
            "existing asset ConfigMap, no Jobs",
            json!({
                "assets": {"existingConfigMap": "my-assets", "register": false,
                           "existingConfigMapItems": [{"key": "agents__a.yaml", "path": "agents/a.yaml"}]},
                "migration": {"enabled": false},
                "pdb": {"create": false},
                "tests": {"enabled": false},
                "serviceAccount": {"create": false, "name": "existing-sa"},
            }),
        ),
    ]
}

/// An override set's name, its values and what the chart made of them.
type Rendered = (&'static str, Value, Render);

/// Renders every override set (once per test binary run).
fn all_renders() -> Option<&'static [Rendered]> {
    static RENDERS: std::sync::OnceLock<Option<Vec<Rendered>>> = std::sync::OnceLock::new();
    RENDERS
        .get_or_init(|| {
            let python = tools_python()?;
            Some(
                override_sets()
                    .into_iter()
                    .map(|(name, values)| {
                        let render = render_with(&python, &values, true);
                        (name, values, render)
                    })
                    .collect(),
            )
        })
        .as_deref()
}

fn renders() -> Option<&'static [Rendered]> {
    let Some(renders) = all_renders() else {
        // Prints the SKIPPED line for this test too (or fails under SSA_REQUIRE_ALL=1).
        tools_python();
        return None;
    };
    for (name, _, render) in renders {
        assert!(render.ok(), "{name}: render failed: {}", render.error());
    }
    Some(renders)
}

// ------------------------------------------------- render, lint, validate

#[test]
fn chart_renders_and_lints_strict_with_every_override_set() {
    let Some(renders) = renders() else { return };
    for (name, _, render) in renders {
        let lint = &render.answer["lint"];
        let errors = lint["errors"].as_array().expect("lint errors");
        assert!(errors.is_empty(), "{name}: helm lint --strict: {errors:?}");
        // Only INFO (1) findings are acceptable; warnings fail --strict anyway.
        for message in lint["messages"].as_array().expect("lint messages") {
            assert!(
                message["severity"].as_u64() <= Some(1),
                "{name}: helm lint: {message}"
            );
        }
        let kinds: BTreeSet<&str> = render
            .objects()
            .iter()
            .filter_map(|o| o["kind"].as_str())
            .collect();
        assert!(
            kinds.contains("Deployment") && kinds.contains("Service"),
            "{name}: {kinds:?}"
        );
        assert!(
            render.answer["notes"]
                .as_str()
                .is_some_and(|notes| !notes.is_empty()),
            "{name}: NOTES.txt"
        );
        println!("{name}: rendered and linted, kinds {kinds:?}");
    }
}

#[test]
fn every_rendered_object_validates_against_kubernetes_schemas_strict() {
    let Some(renders) = renders() else { return };
    for (name, _, render) in renders {
        let failures = render.answer["validation"].as_array().expect("validation");
        assert!(
            failures.is_empty(),
            "{name}: kubernetes-validate --strict failed:\n{}",
            serde_json::to_string_pretty(failures).unwrap_or_default()
        );
        println!(
            "{name}: {} objects valid against Kubernetes {KUBE_VERSIONS:?} (strict)",
            render.objects().len()
        );
    }
}

// ------------------------------------------------------------- one image

#[test]
fn exactly_one_image_across_all_pods_and_digest_wins() {
    let Some(renders) = renders() else { return };
    for (name, values, render) in renders {
        let images: BTreeSet<&str> = render
            .containers()
            .iter()
            .map(|(_, container)| container["image"].as_str().expect("image"))
            .collect();
        assert_eq!(images.len(), 1, "{name}: images {images:?}");
        let image = *images.iter().next().expect("one image");
        let expected = if values["image"]["digest"].is_string() {
            format!("registry.example.com:5000/team/ssa@{DIGEST}")
        } else {
            "quay.io/ecosystem-appeng/self-service-agent:0.1.0".to_owned()
        };
        assert_eq!(image, expected, "{name}");
        let policies: BTreeSet<&str> = render
            .containers()
            .iter()
            .map(|(_, c)| c["imagePullPolicy"].as_str().expect("pull policy"))
            .collect();
        assert_eq!(policies, BTreeSet::from(["IfNotPresent"]), "{name}");
        println!("{name}: every container runs {image}");
    }
}

// ------------------------------------------------------ process contract

/// Environment variables each binary reads (ARCHITECTURE.md, "Process
/// contract"), plus the logging variables every binary reads.
fn contract_env(binary: &str) -> BTreeSet<&'static str> {
    let logging = ["LOG_LEVEL", "LOG_FORMAT", "RUST_LOG"];
    let database = [
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
    let llamastack = ["LLAMA_STACK_URL", "LLAMASTACK_SERVICE_HOST"];
    let own: &[&'static str] = match binary {
        DB_MIGRATE => &[
            "DB_LOCK_TIMEOUT",
            "EXPECTED_MIGRATION_VERSION",
            "MIGRATION_WAIT_TIMEOUT",
        ],
        REGISTER_ASSETS => &["ASSET_CONFIG_DIR", "LLAMA_STACK_WAIT_TIMEOUT"],
        SERVICE => &[
            "LISTEN_ADDR",
            "EXPECTED_MIGRATION_VERSION",
            "AUTH_MODE",
            "API_KEYS_FILE",
            "REQUEST_MANAGER_URL",
        ],
        other => panic!("unknown binary {other}"),
    };
    let mut names: BTreeSet<&'static str> =
        logging.into_iter().chain(own.iter().copied()).collect();
    if binary != REGISTER_ASSETS {
        names.extend(database);
    }
    if binary != DB_MIGRATE {
        names.extend(llamastack);
    }
    names
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().expect("string"))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a command line against the three binaries and their subcommands.
fn check_command(what: &str, argv: &[&str]) {
    let (binary, rest) = argv
        .split_first()
        .unwrap_or_else(|| panic!("{what}: empty command"));
    match *binary {
        DB_MIGRATE => assert!(
            matches!(rest.first(), Some(&"up" | &"wait" | &"status")),
            "{what}: db-migrate {rest:?}"
        ),
        REGISTER_ASSETS => assert!(
            rest.iter()
                .all(|arg| ["--dry-run", "--prune"].contains(arg)),
            "{what}: register-assets {rest:?}"
        ),
        SERVICE => match rest.first() {
            Some(&"serve") => assert_eq!(rest.len(), 1, "{what}"),
            Some(&"healthcheck") => {
                assert_eq!(rest.len(), 3, "{what}: {rest:?}");
                assert_eq!(rest[1], "--url", "{what}");
                assert!(rest[2].starts_with("http://"), "{what}: {rest:?}");
            }
            other => panic!("{what}: self-service-agent {other:?}"),
        },
        other => panic!("{what}: {other} is not one of the three binaries"),
    }
}

#[test]
fn every_container_runs_one_of_the_three_binaries_with_contract_env() {
    let Some(renders) = renders() else { return };
    for (name, values, render) in renders {
        let extra: BTreeSet<&str> = values["extraEnv"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str())
            .collect();
        let mut seen = BTreeMap::new();
        for (what, container) in render.containers() {
            let command = strings(&container["command"]);
            assert_eq!(
                command.len(),
                1,
                "{name} {what}: command is the binary alone: {command:?}"
            );
            let args = strings(&container["args"]);
            let argv: Vec<&str> = command.iter().chain(args.iter()).copied().collect();
            check_command(&format!("{name} {what}"), &argv);
            *seen.entry(argv[..argv.len().min(2)].join(" ")).or_insert(0) += 1;

            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(exec) = container[probe]["exec"]["command"].as_array() {
                    let probe_argv: Vec<&str> = exec.iter().filter_map(Value::as_str).collect();
                    check_command(&format!("{name} {what} {probe}"), &probe_argv);
                }
            }

            let allowed = contract_env(command[0]);
            let mut names = BTreeSet::new();
            for env in container["env"].as_array().into_iter().flatten() {
                let var = env["name"].as_str().expect("env name");
                assert!(names.insert(var), "{name} {what}: {var} set twice");
                assert!(
                    allowed.contains(var) || extra.contains(var),
                    "{name} {what}: {var} is not in {}'s process contract",
                    command[0]
                );
            }
        }
        println!("{name}: commands {seen:?}");
    }
}

#[test]
fn default_render_wires_the_three_workloads_as_the_contract_says() {
    let Some(renders) = renders() else { return };
    let (_, _, render) = &renders[0];
    let env_of = |container: &Value| -> BTreeMap<String, Value> {
        container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let value = if e["value"].is_string() {
                    e["value"].clone()
                } else {
                    e["valueFrom"].clone()
                };
                (e["name"].as_str().unwrap_or_default().to_owned(), value)
            })
            .collect()
    };
    let secret_ref =
        |key: &str| json!({"secretKeyRef": {"name": "self-service-agent-db", "key": key}});

    // The Deployment: init container waits for the schema, main container serves.
    let deployment = render.one("Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let init = &pod["initContainers"][0];
    assert_eq!(strings(&init["command"]), [DB_MIGRATE]);
    assert_eq!(strings(&init["args"]), ["wait"]);
    let init_env = env_of(init);
    assert_eq!(init_env["EXPECTED_MIGRATION_VERSION"], json!("001"));
    assert_eq!(init_env["POSTGRES_PASSWORD"], secret_ref("password"));
    let main = &pod["containers"][0];
    assert_eq!(strings(&main["command"]), [SERVICE]);
    assert_eq!(main["ports"][0]["containerPort"], json!(8080));
    let main_env = env_of(main);
    assert_eq!(main_env["LISTEN_ADDR"], json!("0.0.0.0:8080"));
    assert_eq!(main_env["LLAMA_STACK_URL"], json!("http://llamastack:8321"));
    for (var, key) in [
        ("POSTGRES_HOST", "host"),
        ("POSTGRES_PORT", "port"),
        ("POSTGRES_DB", "dbname"),
        ("POSTGRES_USER", "user"),
        ("POSTGRES_PASSWORD", "password"),
    ] {
        assert_eq!(main_env[var], secret_ref(key), "{var}");
    }
    assert_eq!(
        main["livenessProbe"]["httpGet"],
        json!({"path": "/health", "port": "http"})
    );
    assert_eq!(
        main["readinessProbe"]["httpGet"],
        json!({"path": "/ready", "port": "http"})
    );
    assert_eq!(deployment["spec"]["replicas"], json!(1));

    // The Service: port 8080 to the server pods only, not the Jobs' pods.
    let service = render.one("Service");
    assert_eq!(service["spec"]["ports"][0]["port"], json!(8080));
    assert_eq!(
        service["spec"]["selector"]["app.kubernetes.io/component"],
        json!("server")
    );
    assert_eq!(
        service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"],
        "Service and Deployment select the same pods"
    );
    assert_eq!(
        render.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );

    // The Jobs: plain resources (no hooks), named per revision, fail fast on bad config.
    let jobs = render.of_kind("Job");
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert!(
            job["metadata"]["annotations"]["helm.sh/hook"].is_null(),
            "Jobs are not hooks"
        );
        assert!(
            job["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-1"))
        );
        assert_eq!(
            job["spec"]["template"]["spec"]["restartPolicy"],
            json!("Never")
        );
        let rule = &job["spec"]["podFailurePolicy"]["rules"][0];
        assert_eq!(rule["action"], json!("FailJob"));
        assert_eq!(rule["onExitCodes"]["values"], json!([2, 64, 78]));
        let labels = &job["spec"]["template"]["metadata"]["labels"];
        assert_ne!(labels["app.kubernetes.io/component"], json!("server"));
    }
    let register = jobs
        .iter()
        .find(|job| job["metadata"]["labels"]["app.kubernetes.io/component"] == "register-assets")
        .expect("register-assets Job");
    let register_env = env_of(&register["spec"]["template"]["spec"]["containers"][0]);
    assert!(
        !register_env.keys().any(|k| k.starts_with("POSTGRES_")),
        "register-assets needs LlamaStack only"
    );
    // Without an override the image's /app/config is used: nothing mounted there.
    assert!(render.of_kind("ConfigMap").is_empty());
    for (what, container) in render.containers() {
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            assert_ne!(mount["mountPath"], json!("/app/config"), "{what}");
        }
    }

    // The helm test pod asks the Service's /ready with the image's healthcheck.
    let test_pod = render.one("Pod");
    assert_eq!(
        test_pod["metadata"]["annotations"]["helm.sh/hook"],
        json!("test")
    );
    assert_eq!(
        strings(&test_pod["spec"]["containers"][0]["args"]),
        [
            "healthcheck",
            "--url",
            "http://self-service-agent:8080/ready"
        ]
    );

    // Secret created from values with the five keys.
    let secret = render.one("Secret");
    let keys: BTreeSet<&str> = secret["data"]
        .as_object()
        .expect("data")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["host", "port", "dbname", "user", "password"])
    );
    assert!(render.of_kind("HorizontalPodAutoscaler").is_empty());
}

#[test]
fn overrides_do_what_they_say() {
    let Some(renders) = renders() else { return };
    let find = |name: &str| &renders.iter().find(|(n, _, _)| *n == name).expect(name).2;

    // External Secret: none created, every reference goes to it.
    let external = find("external Secret");
    assert!(external.of_kind("Secret").is_empty());
    let mut references = 0;
    for (what, container) in external.containers() {
        for env in container["env"].as_array().into_iter().flatten() {
            if let Some(name) = env["valueFrom"]["secretKeyRef"]["name"].as_str() {
                assert_eq!(name, "pgvector", "{what}");
                references += 1;
            }
        }
    }
    assert_eq!(
        references, 15,
        "five keys in db-migrate, the init container and the service"
    );

    // Autoscaling: an autoscaling/v2 HPA on the Deployment, which leaves replicas to it.
    let autoscaling = find("autoscaling on");
    let hpa = autoscaling.one("HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], json!("autoscaling/v2"));
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], json!("Deployment"));
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        autoscaling.one("Deployment")["metadata"]["name"]
    );
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_u64(),
            hpa["spec"]["maxReplicas"].as_u64()
        ),
        (Some(2), Some(6))
    );
    assert_eq!(hpa["spec"]["metrics"].as_array().map(Vec::len), Some(2));
    assert!(autoscaling.one("Deployment")["spec"]["replicas"].is_null());

    // Everything else: long names stay within 63, assets mounted at /app/config, keys file.
    let rich = find("everything else on");
    for object in rich.objects() {
        let name = object["metadata"]["name"].as_str().expect("name");
        assert!(name.len() <= 63, "{name} is longer than 63");
    }
    let configmap = rich.one("ConfigMap");
    assert!(configmap["data"]["agents__routing-agent.yaml"].is_string());
    let mut assets_mounts = 0;
    for (what, container) in rich.containers() {
        let mounts: Vec<&str> = container["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        if mounts.contains(&"/app/config") {
            assets_mounts += 1;
            assert!(
                what.contains("register-assets") || what.ends_with(":self-service-agent"),
                "{what}"
            );
        }
    }
    assert_eq!(
        assets_mounts, 2,
        "register-assets and the service see the override"
    );
    let pod = &rich.one("Deployment")["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "assets")
        .expect("assets volume");
    assert!(
        volume["configMap"]["items"]
            .as_array()
            .expect("items")
            .contains(
                &json!({"key": "knowledge_bases__laptop-refresh__policy.txt",
                              "path": "knowledge_bases/laptop-refresh/policy.txt"})
            )
    );
    assert_eq!(
        rich.one("Pod")["spec"]["containers"][0]["args"][2],
        json!(format!(
            "http://{}:9090/ready",
            rich.one("Service")["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
        ))
    );

    // No Jobs, no test pod, no ServiceAccount: an existing one is used.
    let lean = find("existing asset ConfigMap, no Jobs");
    assert!(lean.of_kind("Job").is_empty() && lean.of_kind("Pod").is_empty());
    assert!(lean.of_kind("ServiceAccount").is_empty());
    assert_eq!(
        lean.one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
        json!("existing-sa")
    );
}

#[test]
fn pods_reference_only_secrets_and_configmaps_the_release_creates_or_the_user_names() {
    let Some(renders) = renders() else { return };
    for (name, values, render) in renders {
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
        for (pod, spec) in render.pod_specs() {
            for volume in spec["volumes"].as_array().into_iter().flatten() {
                if let Some(secret) = volume["secret"]["secretName"].as_str() {
                    needed.insert((pod.clone(), "Secret".to_owned(), secret.to_owned()));
                }
                if let Some(cm) = volume["configMap"]["name"].as_str() {
                    needed.insert((pod.clone(), "ConfigMap".to_owned(), cm.to_owned()));
                }
            }
        }
        for (what, container) in render.containers() {
            for env in container["env"].as_array().into_iter().flatten() {
                if let Some(secret) = env["valueFrom"]["secretKeyRef"]["name"].as_str() {
                    needed.insert((what.clone(), "Secret".to_owned(), secret.to_owned()));
                }
                if let Some(cm) = env["valueFrom"]["configMapKeyRef"]["name"].as_str() {
                    needed.insert((what.clone(), "ConfigMap".to_owned(), cm.to_owned()));
                }
            }
        }
        for (who, kind, object) in &needed {
            assert!(
                available.contains(&(kind.clone(), object.clone())),
                "{name}: {who} references {kind} {object}, which neither the release nor the user provides"
            );
        }
        // Secrets and ConfigMaps the pods use are plain resources, applied
        // before any workload on install and upgrade; no hook may need them.
        for object in render.objects() {
            if object["kind"] == "Secret" || object["kind"] == "ConfigMap" {
                assert!(
                    object["metadata"]["annotations"]["helm.sh/hook"].is_null(),
                    "{name}"
                );
            }
            if object["kind"] == "Job" {
                assert!(
                    object["metadata"]["annotations"]["helm.sh/hook"].is_null(),
                    "{name}"
                );
            }
        }
    }
}

// ------------------------------------------------ restricted Pod Security

#[test]
fn every_pod_and_container_meets_the_restricted_pod_security_standard() {
    let Some(renders) = renders() else { return };
    for (name, _, render) in renders {
        let pods = render.pod_specs();
        assert!(!pods.is_empty());
        for (pod, spec) in &pods {
            let what = format!("{name} {pod}");
            let sc = &spec["securityContext"];
            assert_eq!(sc["runAsNonRoot"], json!(true), "{what}");
            for id in ["runAsUser", "runAsGroup", "fsGroup"] {
                assert_eq!(sc[id], json!(1001), "{what}: {id} numeric 1001");
            }
            assert_eq!(
                sc["seccompProfile"]["type"],
                json!("RuntimeDefault"),
                "{what}"
            );
            assert_eq!(spec["automountServiceAccountToken"], json!(false), "{what}");
            for host in ["hostNetwork", "hostPID", "hostIPC"] {
                assert_ne!(spec[host], json!(true), "{what}: {host}");
            }
            for volume in spec["volumes"].as_array().into_iter().flatten() {
                let kinds: Vec<&String> = volume
                    .as_object()
                    .expect("volume")
                    .keys()
                    .filter(|k| *k != "name")
                    .collect();
                assert!(
                    kinds
                        .iter()
                        .all(|k| ["emptyDir", "configMap", "secret", "projected"]
                            .contains(&k.as_str())),
                    "{what}: volume {volume}"
                );
            }
        }
        for (container_name, container) in render.containers() {
            let what = format!("{name} {container_name}");
            let sc = &container["securityContext"];
            assert_eq!(sc["runAsNonRoot"], json!(true), "{what}");
            assert_eq!(sc["runAsUser"], json!(1001), "{what}");
            assert_eq!(sc["runAsGroup"], json!(1001), "{what}");
            assert_eq!(sc["allowPrivilegeEscalation"], json!(false), "{what}");
            assert_ne!(sc["privileged"], json!(true), "{what}");
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{what}");
            assert!(sc["capabilities"]["add"].is_null(), "{what}");
            assert_eq!(
                sc["seccompProfile"]["type"],
                json!("RuntimeDefault"),
                "{what}"
            );
            assert_eq!(sc["readOnlyRootFilesystem"], json!(true), "{what}");
            for port in container["ports"].as_array().into_iter().flatten() {
                assert!(port["hostPort"].is_null(), "{what}");
            }
            let requests = &container["resources"]["requests"];
            let limits = &container["resources"]["limits"];
            assert!(
                requests["memory"].is_string() && limits["memory"].is_string(),
                "{what}: resources"
            );
        }
        println!(
            "{name}: {} pods, {} containers meet the restricted standard",
            pods.len(),
            render.containers().len()
        );
    }
}

// ---------------------------------------------------------------- schema

#[test]
fn values_schema_rejects_wrong_types_and_unknown_keys_clearly() {
    let Some(python) = tools_python() else { return };
    let cases = [
        (
            json!({"replicaCount": "two"}),
            vec!["/replicaCount", "got string, want integer"],
        ),
        (
            json!({"sevice": {"port": 80}}),
            vec!["additional properties 'sevice' not allowed"],
        ),
        (
            json!({"image": {"digest": "sha256:abc"}}),
            vec!["/image/digest", "does not match pattern"],
        ),
        (
            json!({"image": {"tag": 1}}),
            vec!["/image/tag", "want string"],
        ),
        (
            json!({"database": {"hostname": "db"}}),
            vec!["additional properties 'hostname' not allowed"],
        ),
        (
            json!({"containerSecurityContext": {"allowPrivilegeEscalation": true}}),
            vec!["/containerSecurityContext/allowPrivilegeEscalation"],
        ),
        (
            json!({"auth": {"mode": "api-key"}}),
            vec!["auth.mode \"api-key\" needs auth.apiKeysSecret"],
        ),
        (
            json!({"assets": {"files": {"../etc/passwd": "x"}}}),
            vec!["must be a relative path"],
        ),
    ];
    for (values, needles) in cases {
        let render = render_with(&python, &values, false);
        assert!(!render.ok(), "{values} was accepted");
        let error = render.error();
        for needle in needles {
            assert!(
                error.contains(needle),
                "{values}: error {error:?} lacks {needle:?}"
            );
        }
        println!(
            "rejected {values}: {}",
            error.lines().last().unwrap_or_default().trim()
        );
    }
}

#[test]
fn values_schema_covers_every_value_in_values_yaml() {
    let root = workspace::root();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("helm/values.schema.json")).expect("schema"),
    )
    .expect("schema is JSON");
    assert_eq!(schema["additionalProperties"], json!(false));
    let Some(python) = tools_python() else { return };
    // The chart's default values, as Helm loads them.
    let render = render_with(&python, &json!({}), false);
    assert!(render.ok());
    let output = Command::new(&python)
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(root.join("helm/values.yaml"))
        .output()
        .expect("read values.yaml");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let defaults: Value = serde_json::from_slice(&output.stdout).expect("values as JSON");
    let mut missing = Vec::new();
    covered(&defaults, &schema, String::new(), &mut missing);
    assert!(
        missing.is_empty(),
        "values without a schema entry: {missing:?}"
    );
}

/// Collects every key path of `values` that `schema` does not describe
/// (free-form Kubernetes objects, typed `object`/`array` without
/// properties, are described as a whole).
fn covered(values: &Value, schema: &Value, path: String, missing: &mut Vec<String>) {
    let Some(map) = values.as_object() else {
        return;
    };
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (key, value) in map {
        let here = format!("{path}.{key}");
        match properties.get(key) {
            None if schema["additionalProperties"].is_object() => {}
            None => missing.push(here),
            Some(sub) => {
                if sub["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{here} (no description)"));
                }
                covered(value, sub, here, missing);
            }
        }
    }
}

// ------------------------------------------------------- cargo xtask helm

fn helm_args(namespace: Option<&str>, extra: &[&str]) -> helm::HelmArgs {
    helm::HelmArgs {
        release: helm::DEFAULT_RELEASE.to_owned(),
        namespace: namespace.map(str::to_owned),
        no_built_image: false,
        helm_args: extra.iter().map(Into::into).collect(),
    }
}

fn argv_strings(argv: Vec<std::ffi::OsString>) -> Vec<String> {
    argv.into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn build_record_becomes_image_values_pinned_by_digest() {
    let image = helm::BuiltImage::from_record(&format!(
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
    let unpinned = helm::BuiltImage::from_record(
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
    assert_eq!(helm::split_registry("library/ssa"), ("", "library/ssa"));
    assert_eq!(helm::split_registry("localhost/ssa"), ("localhost", "ssa"));
    assert!(
        helm::BuiltImage::from_record(r#"{"repository": "a/b", "tag": "1", "digest": "md5:x"}"#)
            .is_err()
    );
    assert!(helm::BuiltImage::from_record(r#"{"tag": "1"}"#).is_err());
}

#[test]
fn helm_subcommands_build_the_expected_command_lines() {
    let chart = std::path::Path::new("/src/helm");
    let image = helm::BuiltImage {
        registry: "quay.io".into(),
        repository: "x/ssa".into(),
        tag: "1.0".into(),
        digest: Some(DIGEST.into()),
    };
    let sets = image.set_args();
    let cases: Vec<(helm::HelmCommand, Vec<String>)> = vec![
        (
            helm::HelmCommand::Template(helm_args(None, &["-f", "my.yaml"])),
            ["template", "self-service-agent", "/src/helm"]
                .into_iter()
                .map(String::from)
                .chain(sets.iter().cloned())
                .chain(["-f".into(), "my.yaml".into()])
                .collect(),
        ),
        (
            helm::HelmCommand::Lint(helm_args(Some("ssa"), &[])),
            ["lint", "/src/helm", "--strict", "--namespace", "ssa"]
                .into_iter()
                .map(String::from)
                .chain(sets.iter().cloned())
                .collect(),
        ),
        (
            helm::HelmCommand::Install(helm_args(Some("ssa"), &["--wait"])),
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
            helm::HelmCommand::Uninstall(helm_args(Some("ssa"), &[])),
            ["uninstall", "self-service-agent", "--namespace", "ssa"]
                .map(String::from)
                .to_vec(),
        ),
        (
            helm::HelmCommand::Status(helm_args(None, &[])),
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

#[test]
fn helm_run_calls_the_cli_with_the_recorded_image_and_reports_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("argv");
    let fake = dir.path().join("helm");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n[ \"$1\" = status ] && exit 3\nexit 0\n",
            log.display()
        ),
    )
    .expect("fake helm");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let record = dir.path().join("last-build.json");
    let chart = workspace::root().join("helm");

    // No record yet: the chart's own image values.
    helm::run_with(
        &helm::HelmCommand::Template(helm_args(None, &[])),
        &fake,
        &chart,
        &record,
    )
    .expect("template without record");
    let argv = std::fs::read_to_string(&log).expect("argv");
    assert!(!argv.contains("image."), "{argv}");

    std::fs::write(
        &record,
        format!(r#"{{"reference": "quay.io/a/b:2", "repository": "quay.io/a/b", "tag": "2", "digest": "{DIGEST}"}}"#),
    )
    .expect("record");
    helm::run_with(
        &helm::HelmCommand::Install(helm_args(Some("ns"), &[])),
        &fake,
        &chart,
        &record,
    )
    .expect("install");
    let argv = std::fs::read_to_string(&log).expect("argv");
    assert!(
        argv.starts_with("upgrade\n--install\nself-service-agent\n"),
        "{argv}"
    );
    assert!(argv.contains(&format!("image.digest={DIGEST}\n")), "{argv}");

    let mut opted_out = helm_args(None, &[]);
    opted_out.no_built_image = true;
    helm::run_with(
        &helm::HelmCommand::Template(opted_out),
        &fake,
        &chart,
        &record,
    )
    .expect("template");
    assert!(
        !std::fs::read_to_string(&log)
            .expect("argv")
            .contains("image.")
    );

    let error = helm::run_with(
        &helm::HelmCommand::Status(helm_args(None, &[])),
        &fake,
        &chart,
        &record,
    )
    .expect_err("status exits 3");
    assert!(format!("{error:#}").contains("exit status: 3"), "{error:#}");

    std::fs::write(&record, "{not json").expect("record");
    let error = helm::run_with(
        &helm::HelmCommand::Lint(helm_args(None, &[])),
        &fake,
        &chart,
        &record,
    )
    .expect_err("broken record");
    assert!(
        format!("{error:#}").contains("last-build.json"),
        "{error:#}"
    );
}
