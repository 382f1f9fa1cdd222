//! The chart as the chart tests see it: the release they install, the
//! binaries of the image its containers run, the chart rendered by the real
//! Helm engine (`render.rs`), and every pod and container of a render,
//! however deep the workload keeps its pod template.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::pod::PodContainer;
use super::render;

/// The release name and namespace every render and install uses.
pub const RELEASE: &str = "self-service-agent";
pub const NAMESPACE: &str = "ssa";
/// `llamaStack.url` of values.yaml: the in-cluster LlamaStack Service.
pub const CLUSTER_LLAMASTACK_URL: &str = "http://llamastack:8321";

/// The image's binaries, as a container's `command` names them (docs/image.md).
pub const DB_MIGRATE: &str = "/usr/local/bin/db-migrate";
pub const REGISTER_ASSETS: &str = "/usr/local/bin/register-assets";
pub const SERVICE: &str = "/usr/local/bin/self-service-agent";
/// Where the MCP images hold their one binary (Containerfile.mcp-template).
pub const MCP_SERVER: &str = "/usr/local/bin/mcp-server";

/// The component labels of the MCP servers' objects and pods, and of the
/// service's (`server`) and the database Secret's (`database`).
pub const EMPLOYEE_INFO: &str = "mcp-employee-info";
pub const SNOW: &str = "mcp-snow";
pub const SERVER: &str = "server";
pub const DATABASE: &str = "database";

/// The tools venv's Python, or `None` after a visible skip (a failure under
/// `SSA_REQUIRE_ALL=1`) when it is not provisioned.
pub fn tools_python(test: &str) -> Option<PathBuf> {
    let python = render::venv_python();
    if python.is_file() {
        return Some(python);
    }
    test_support::skip_unless_required(test, &render::missing_venv(&python));
    None
}

/// The chart rendered for `values` as release [`RELEASE`] in [`NAMESPACE`];
/// with `lint`, also `helm lint --strict`, and every object validated
/// against the schemas of `kube_versions`.
pub fn render(python: &Path, values: &Value, lint: bool, kube_versions: &[&str]) -> Render {
    let request = json!({
        "chart": xtask::workspace::root().join("helm"),
        "values": values,
        "release": RELEASE,
        "namespace": NAMESPACE,
        "lint": lint,
        "kube_versions": kube_versions,
    });
    Render {
        answer: render::render(python, &request),
    }
}

/// What render.py answered for one set of values.
pub struct Render {
    pub answer: Value,
}

impl Render {
    pub fn ok(&self) -> bool {
        self.answer["ok"] == json!(true)
    }

    pub fn error(&self) -> String {
        self.answer["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn objects(&self) -> Vec<&Value> {
        self.answer["objects"]
            .as_array()
            .map(|objects| objects.iter().map(|entry| &entry["object"]).collect())
            .unwrap_or_default()
    }

    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        of_kind(self.objects(), kind)
    }

    pub fn one(&self, kind: &str) -> &Value {
        one(self.objects(), kind)
    }

    /// The one object of `kind` labelled `app.kubernetes.io/component: <component>`.
    pub fn component(&self, kind: &str, component: &str) -> &Value {
        of_component(self.objects(), kind, component)
    }

    pub fn pods(&self) -> Vec<Pod<'_>> {
        pods(self.objects())
    }

    pub fn containers(&self) -> Vec<Container<'_>> {
        containers(self.objects())
    }
}

pub fn of_kind<'a>(objects: impl IntoIterator<Item = &'a Value>, kind: &str) -> Vec<&'a Value> {
    objects
        .into_iter()
        .filter(|object| object["kind"] == kind)
        .collect()
}

/// The one object of `kind` and `component`, asserting there is exactly one.
pub fn of_component<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
    kind: &str,
    component: &str,
) -> &'a Value {
    let found: Vec<&Value> = of_kind(objects, kind)
        .into_iter()
        .filter(|object| object["metadata"]["labels"]["app.kubernetes.io/component"] == component)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} of component {component}, got {}",
        found.len()
    );
    found[0]
}

/// The one object of `kind`, asserting there is exactly one.
pub fn one<'a>(objects: impl IntoIterator<Item = &'a Value>, kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
    found[0]
}

/// The pod spec of a rendered object, named `Kind/name`.
pub struct Pod<'a> {
    pub id: String,
    pub kind: &'a str,
    /// The pod's labels (of the Pod, or of the workload's pod template).
    pub labels: &'a Value,
    pub spec: &'a Value,
}

impl Pod<'_> {
    /// Its `app.kubernetes.io/component` label.
    pub fn component(&self) -> Option<&str> {
        self.labels["app.kubernetes.io/component"].as_str()
    }
}

/// One container of a rendered pod, named `Kind/object:container`.
#[derive(Clone)]
pub struct Container<'a> {
    pub id: String,
    pub kind: &'a str,
    /// The labels of the pod it belongs to.
    pub labels: &'a Value,
    /// The pod spec it belongs to.
    pub pod: &'a Value,
    /// The container itself.
    pub spec: &'a Value,
}

impl<'a> Container<'a> {
    /// The `app.kubernetes.io/component` label of its pod.
    pub fn component(&self) -> Option<&'a str> {
        self.labels["app.kubernetes.io/component"].as_str()
    }

    /// Whether it is an MCP server's container.
    pub fn is_mcp_server(&self) -> bool {
        matches!(self.component(), Some(EMPLOYEE_INFO | SNOW))
    }

    /// The container as podman runs it (`pod.rs`).
    pub fn to_run(&self) -> PodContainer<'a> {
        PodContainer {
            pod: self.pod,
            container: self.spec,
        }
    }
}

/// Every pod spec of `objects`: bare Pods, workload templates, CronJobs'
/// job templates. Other kinds hold no pod.
pub fn pods<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<Pod<'a>> {
    objects
        .into_iter()
        .filter_map(|object| {
            let kind = object["kind"].as_str()?;
            let pod = match kind {
                "Pod" => object,
                "Deployment" | "Job" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                    &object["spec"]["template"]
                }
                "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
                _ => return None,
            };
            let id = format!("{kind}/{}", object["metadata"]["name"].as_str()?);
            Some(Pod {
                id,
                kind,
                labels: &pod["metadata"]["labels"],
                spec: &pod["spec"],
            })
        })
        .collect()
}

/// Every container of every pod of `objects`, init containers first.
pub fn containers<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<Container<'a>> {
    let mut all = Vec::new();
    for pod in pods(objects) {
        for field in ["initContainers", "containers"] {
            for container in pod.spec[field].as_array().into_iter().flatten() {
                all.push(Container {
                    id: format!("{}:{}", pod.id, container["name"].as_str().unwrap_or("?")),
                    kind: pod.kind,
                    labels: pod.labels,
                    pod: pod.spec,
                    spec: container,
                });
            }
        }
    }
    all
}

/// A container's `command` or `args` as strings.
pub fn strings(value: &Value) -> Vec<&str> {
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
