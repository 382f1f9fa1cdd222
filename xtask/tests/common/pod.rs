//! A rendered Kubernetes container, run with podman the way the kubelet
//! would run it: the pod's and the container's securityContext, resource
//! limits, environment (literal values, Secret and ConfigMap references
//! resolved from the objects of the release or created beforehand) and
//! volumes (emptyDir as tmpfs, ConfigMap and Secret volumes materialised in
//! a directory and bind-mounted read-only). Whatever of the pod spec this
//! does not model makes it panic rather than be silently ignored.
//!
//! Test setup only: what points at in-cluster services is rewritten by the
//! caller (`rewrite`), since the containers run on the host's network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

/// The Secrets and ConfigMaps a pod can reference: the release's own plus
/// those the user created beforehand (an existing database Secret, ...).
#[derive(Debug, Default, Clone)]
pub struct Objects {
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Objects {
    /// Collects the Secrets (`data` base64-decoded, `stringData` as is) and
    /// ConfigMaps among `objects`.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut found = Self::default();
        for object in objects {
            found.add(object);
        }
        found
    }

    /// Adds a Secret or ConfigMap object (anything else is ignored).
    pub fn add(&mut self, object: &Value) {
        let name = object["metadata"]["name"]
            .as_str()
            .expect("metadata.name")
            .to_owned();
        match object["kind"].as_str() {
            Some("Secret") => {
                let mut data = BTreeMap::new();
                for (key, value) in object["data"].as_object().into_iter().flatten() {
                    let encoded = value.as_str().expect("Secret data is a string");
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap_or_else(|error| {
                            panic!("Secret {name}: {key} is not base64: {error}")
                        });
                    data.insert(key.clone(), decoded);
                }
                for (key, value) in object["stringData"].as_object().into_iter().flatten() {
                    data.insert(
                        key.clone(),
                        value.as_str().expect("stringData").as_bytes().to_vec(),
                    );
                }
                self.secrets.insert(name, data);
            }
            Some("ConfigMap") => {
                let data = object["data"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            value.as_str().expect("ConfigMap data").to_owned(),
                        )
                    })
                    .collect();
                self.config_maps.insert(name, data);
            }
            _ => {}
        }
    }

    /// A Secret's key as text.
    pub fn secret_text(&self, name: &str, key: &str) -> Option<String> {
        let bytes = self.secrets.get(name)?.get(key)?;
        Some(String::from_utf8(bytes.clone()).expect("Secret value is UTF-8"))
    }
}

/// A `v1.Secret` object, as `kubectl create secret generic NAME
/// --from-literal=KEY=VALUE ...` creates it.
pub fn secret_object(name: &str, data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(key, value)| {
            (
                (*key).to_owned(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(value)),
            )
        })
        .collect();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name}, "data": data,
    })
}

/// One container of a rendered pod.
#[derive(Debug, Clone, Copy)]
pub struct PodContainer<'a> {
    /// The pod spec (`spec` of a Pod, `spec.template.spec` of a workload).
    pub pod: &'a Value,
    pub container: &'a Value,
}

impl PodContainer<'_> {
    pub fn name(&self) -> &str {
        self.container["name"].as_str().expect("container name")
    }

    /// `command` followed by `args`. The image has no ENTRYPOINT, so as
    /// podman's positional command this is exactly what Kubernetes runs.
    pub fn argv(&self) -> Vec<String> {
        let strings = |field: &str| {
            self.container[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    let text = item.as_str().expect("command/args are strings");
                    assert!(
                        !text.contains("$("),
                        "{}: $(VAR) expansion in {field} is not modelled",
                        self.name()
                    );
                    text.to_owned()
                })
                .collect::<Vec<_>>()
        };
        let command = strings("command");
        assert!(
            !command.is_empty(),
            "{}: no command (the image's default would run)",
            self.name()
        );
        command.into_iter().chain(strings("args")).collect()
    }

    /// The environment, in order, with every reference resolved.
    pub fn env(&self, objects: &Objects) -> Vec<(String, String)> {
        assert!(
            self.container["envFrom"].is_null(),
            "{}: envFrom is not modelled",
            self.name()
        );
        let mut env = Vec::new();
        for entry in self.container["env"].as_array().into_iter().flatten() {
            let name = entry["name"].as_str().expect("env name").to_owned();
            let value = if let Some(value) = entry.get("value") {
                let value = value.as_str().expect("env value is a string").to_owned();
                assert!(
                    !value.contains("$("),
                    "{name}: $(VAR) expansion not modelled"
                );
                Some(value)
            } else if let Some(reference) = entry["valueFrom"].get("secretKeyRef") {
                let (secret, key) = (ref_str(reference, "name"), ref_str(reference, "key"));
                let value = objects.secret_text(secret, key);
                assert!(
                    value.is_some() || reference["optional"] == true,
                    "{}: {name} refers to key {key} of Secret {secret}, which does not exist",
                    self.name()
                );
                value
            } else if let Some(reference) = entry["valueFrom"].get("configMapKeyRef") {
                let (map, key) = (ref_str(reference, "name"), ref_str(reference, "key"));
                let value = objects
                    .config_maps
                    .get(map)
                    .and_then(|data| data.get(key))
                    .cloned();
                assert!(
                    value.is_some() || reference["optional"] == true,
                    "{}: {name} refers to key {key} of ConfigMap {map}, which does not exist",
                    self.name()
                );
                value
            } else {
                panic!("{}: env {name}: {entry} is not modelled", self.name());
            };
            if let Some(value) = value {
                env.push((name, value));
            }
        }
        env
    }

    /// The effective securityContext field: the container's, else the pod's.
    fn security(&self, field: &str) -> &Value {
        let own = &self.container["securityContext"][field];
        if own.is_null() {
            &self.pod["securityContext"][field]
        } else {
            own
        }
    }

    /// `podman run` flags for the securityContexts: user and groups,
    /// read-only root filesystem (without podman's own tmpfs mounts, so a
    /// missing emptyDir shows), capabilities, no-new-privileges. Panics on
    /// anything the restricted profile forbids or this does not model.
    pub fn security_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let user = self.security("runAsUser").as_u64();
        let group = self.security("runAsGroup").as_u64();
        assert_eq!(
            self.security("runAsNonRoot"),
            &Value::Bool(true),
            "{}: runAsNonRoot",
            self.name()
        );
        let user = user.unwrap_or_else(|| panic!("{}: no numeric runAsUser", self.name()));
        assert_ne!(user, 0, "{}: runAsUser 0 with runAsNonRoot", self.name());
        flags.push("--user".into());
        flags.push(match group {
            Some(group) => format!("{user}:{group}"),
            None => user.to_string(),
        });
        let pod_security = &self.pod["securityContext"];
        for group in pod_security["fsGroup"].as_u64().into_iter().chain(
            pod_security["supplementalGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64),
        ) {
            flags.push("--group-add".into());
            flags.push(group.to_string());
        }
        if self.security("readOnlyRootFilesystem") == &Value::Bool(true) {
            flags.push("--read-only".into());
            flags.push("--read-only-tmpfs=false".into());
        }
        if self.security("allowPrivilegeEscalation") == &Value::Bool(false) {
            flags.push("--security-opt".into());
            flags.push("no-new-privileges".into());
        }
        assert_ne!(
            self.security("privileged"),
            &Value::Bool(true),
            "{}: privileged",
            self.name()
        );
        let capabilities = &self.container["securityContext"]["capabilities"];
        for (field, flag) in [("drop", "--cap-drop"), ("add", "--cap-add")] {
            for capability in capabilities[field].as_array().into_iter().flatten() {
                flags.push(flag.into());
                flags.push(capability.as_str().expect("capability").to_owned());
            }
        }
        match self.security("seccompProfile")["type"].as_str() {
            // podman's default profile is the runtime default.
            Some("RuntimeDefault") => {}
            other => panic!("{}: seccompProfile {other:?} is not modelled", self.name()),
        }
        flags
    }

    /// `--memory` and `--cpus` from `resources.limits`.
    pub fn resource_flags(&self) -> Vec<String> {
        let limits = &self.container["resources"]["limits"];
        let mut flags = Vec::new();
        if let Some(memory) = quantity_str(&limits["memory"]) {
            flags.push("--memory".into());
            flags.push(memory_bytes(&memory).to_string());
        }
        if let Some(cpu) = quantity_str(&limits["cpu"]) {
            flags.push("--cpus".into());
            flags.push(format!("{}", cpu_cores(&cpu)));
        }
        flags
    }

    /// `--tmpfs` and `--volume` flags for the container's volumeMounts;
    /// ConfigMap and Secret volumes are written under `dir` first.
    pub fn volume_flags(&self, objects: &Objects, dir: &Path) -> Vec<String> {
        let mut flags = Vec::new();
        for mount in self.container["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = mount["name"].as_str().expect("volumeMount name");
            let path = mount["mountPath"].as_str().expect("mountPath");
            assert!(
                mount["subPath"].is_null() && mount["subPathExpr"].is_null(),
                "{}: subPath mounts are not modelled",
                self.name()
            );
            let volume = self.pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|volume| volume["name"] == name)
                .unwrap_or_else(|| panic!("{}: volume {name} is not in the pod", self.name()));
            let read_only = mount["readOnly"] == true;
            if let Some(empty_dir) = volume.get("emptyDir") {
                let mut options = vec![if read_only { "ro" } else { "rw" }.to_owned()];
                options.push("mode=1777".into());
                if let Some(size) = quantity_str(&empty_dir["sizeLimit"]) {
                    options.push(format!("size={}", memory_bytes(&size)));
                }
                flags.push("--tmpfs".into());
                flags.push(format!("{path}:{}", options.join(",")));
            } else if let Some(source) = volume.get("configMap") {
                let map = source["name"].as_str().expect("configMap name");
                let data: BTreeMap<String, Vec<u8>> = objects
                    .config_maps
                    .get(map)
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: volume {name} mounts ConfigMap {map}, which does not exist",
                            self.name()
                        )
                    })
                    .iter()
                    .map(|(key, value)| (key.clone(), value.as_bytes().to_vec()))
                    .collect();
                let host = materialise(&dir.join(name), source, &data, self.name());
                flags.push("--volume".into());
                flags.push(format!("{}:{path}:ro", host.display()));
            } else if let Some(source) = volume.get("secret") {
                let secret = source["secretName"].as_str().expect("secretName");
                let data = objects.secrets.get(secret).unwrap_or_else(|| {
                    panic!(
                        "{}: volume {name} mounts Secret {secret}, which does not exist",
                        self.name()
                    )
                });
                let host = materialise(&dir.join(name), source, data, self.name());
                flags.push("--volume".into());
                flags.push(format!("{}:{path}:ro", host.display()));
            } else {
                panic!("{}: volume {volume} is not modelled", self.name());
            }
        }
        flags
    }

    /// A probe's action, with a named port resolved to the container's port.
    pub fn probe(&self, kind: &str) -> Option<Probe> {
        let probe = self.container.get(kind)?;
        let timeout = probe["timeoutSeconds"].as_u64().unwrap_or(1);
        let action = if let Some(exec) = probe.get("exec") {
            ProbeAction::Exec(
                exec["command"]
                    .as_array()
                    .expect("exec.command")
                    .iter()
                    .map(|item| item.as_str().expect("string").to_owned())
                    .collect(),
            )
        } else if let Some(get) = probe.get("httpGet") {
            let port = match &get["port"] {
                Value::Number(number) => number.as_u64().expect("port") as u16,
                Value::String(named) => self.container_port(named).unwrap_or_else(|| {
                    panic!("{}: {kind} names port {named}, which it lacks", self.name())
                }),
                other => panic!("{}: {kind} port {other}", self.name()),
            };
            assert!(
                get["host"].is_null(),
                "{}: {kind} httpGet.host is not modelled",
                self.name()
            );
            ProbeAction::HttpGet {
                scheme: get["scheme"]
                    .as_str()
                    .unwrap_or("HTTP")
                    .to_ascii_lowercase(),
                path: get["path"].as_str().unwrap_or("/").to_owned(),
                port,
            }
        } else {
            panic!("{}: {kind} {probe} is not modelled", self.name());
        };
        Some(Probe {
            kind: kind.to_owned(),
            action,
            timeout_seconds: timeout,
            period_seconds: probe["periodSeconds"].as_u64().unwrap_or(10),
            failure_threshold: probe["failureThreshold"].as_u64().unwrap_or(3),
        })
    }

    /// The `containerPort` of a named port.
    pub fn container_port(&self, name: &str) -> Option<u16> {
        self.container["ports"]
            .as_array()?
            .iter()
            .find(|port| port["name"] == name)
            .and_then(|port| port["containerPort"].as_u64())
            .map(|port| port as u16)
    }
}

/// A probe of a container.
#[derive(Debug, Clone)]
pub struct Probe {
    pub kind: String,
    pub action: ProbeAction,
    pub timeout_seconds: u64,
    pub period_seconds: u64,
    pub failure_threshold: u64,
}

#[derive(Debug, Clone)]
pub enum ProbeAction {
    Exec(Vec<String>),
    HttpGet {
        scheme: String,
        path: String,
        port: u16,
    },
}

fn ref_str<'a>(reference: &'a Value, field: &str) -> &'a str {
    reference[field]
        .as_str()
        .unwrap_or_else(|| panic!("reference without {field}: {reference}"))
}

/// A Kubernetes quantity as a string (YAML may have made it a number).
fn quantity_str(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Bytes of a memory quantity (`64Mi`, `1G`, `512`).
pub fn memory_bytes(quantity: &str) -> u64 {
    let suffixes: [(&str, u64); 12] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("Pi", 1 << 50),
        ("Ei", 1 << 60),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000),
    ];
    for (suffix, factor) in suffixes {
        if let Some(number) = quantity.strip_suffix(suffix) {
            let number: f64 = number.parse().expect("quantity");
            return (number * factor as f64) as u64;
        }
    }
    quantity.parse::<f64>().expect("quantity") as u64
}

/// Cores of a CPU quantity (`500m`, `1`, `0.5`).
pub fn cpu_cores(quantity: &str) -> f64 {
    match quantity.strip_suffix('m') {
        Some(millis) => millis.parse::<f64>().expect("cpu quantity") / 1000.0,
        None => quantity.parse().expect("cpu quantity"),
    }
}

/// Writes a ConfigMap or Secret volume as the kubelet lays it out: every
/// key at its own name, or only the `items` at their paths; files 0644 (or
/// `defaultMode`/`mode`), directories 0755. Returns the directory.
fn materialise(
    dir: &Path,
    source: &Value,
    data: &BTreeMap<String, Vec<u8>>,
    container: &str,
) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let default_mode = source["defaultMode"].as_u64().unwrap_or(0o644) as u32;
    let items: Vec<(String, String, u32)> = match source["items"].as_array() {
        Some(items) => items
            .iter()
            .map(|item| {
                (
                    item["key"].as_str().expect("item key").to_owned(),
                    item["path"].as_str().expect("item path").to_owned(),
                    item["mode"]
                        .as_u64()
                        .map_or(default_mode, |mode| mode as u32),
                )
            })
            .collect(),
        None => data
            .keys()
            .map(|key| (key.clone(), key.clone(), default_mode))
            .collect(),
    };
    for (key, path, mode) in items {
        assert!(
            !path.starts_with('/') && !path.split('/').any(|part| part == ".."),
            "{container}: item path {path}"
        );
        let content = data
            .get(&key)
            .unwrap_or_else(|| panic!("{container}: volume item {key} is not in the object"));
        let file = dir.join(&path);
        let parent = file.parent().unwrap();
        std::fs::create_dir_all(parent).unwrap();
        std::fs::write(&file, content).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    // Every directory readable by the container's (non-root) user.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        std::fs::set_permissions(&next, std::fs::Permissions::from_mode(0o755)).unwrap();
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    dir.to_path_buf()
}
