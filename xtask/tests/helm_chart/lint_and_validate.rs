//! The chart as Helm and Kubernetes accept it: `helm lint --strict` and the
//! Kubernetes schemas, for every override set.

use std::collections::BTreeSet;

use crate::sets::{KUBE_VERSIONS, renders};

#[test]
fn helm_lint_strict_finds_nothing_above_info_with_every_override_set() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let name = rendered.name;
        let lint = &rendered.render.answer["lint"];
        let errors = lint["errors"].as_array().expect("lint errors");
        assert!(errors.is_empty(), "{name}: helm lint --strict: {errors:?}");
        // Only INFO (1) findings are acceptable; warnings fail --strict anyway.
        for message in lint["messages"].as_array().expect("lint messages") {
            assert!(
                message["severity"].as_u64() <= Some(1),
                "{name}: helm lint: {message}"
            );
        }
    }
}

#[test]
fn every_override_set_renders_a_deployment_a_service_and_notes() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let name = rendered.name;
        let kinds: BTreeSet<&str> = rendered
            .render
            .objects()
            .iter()
            .filter_map(|o| o["kind"].as_str())
            .collect();
        assert!(
            kinds.contains("Deployment") && kinds.contains("Service"),
            "{name}: {kinds:?}"
        );
        assert!(
            rendered.render.answer["notes"]
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
    for rendered in renders {
        let name = rendered.name;
        let failures = rendered.render.answer["validation"]
            .as_array()
            .expect("validation");
        assert!(
            failures.is_empty(),
            "{name}: kubernetes-validate --strict failed:\n{}",
            serde_json::to_string_pretty(failures).unwrap_or_default()
        );
        println!(
            "{name}: {} objects valid against Kubernetes {KUBE_VERSIONS:?} (strict)",
            rendered.render.objects().len()
        );
    }
}
