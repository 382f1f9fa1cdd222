//! Slack as the chart connects it (docs/slack.md): the app's credentials
//! from the user's Secret on the service (its routes) and the dispatcher
//! (the SLACK channel), and an Ingress that lets Slack reach /slack of the
//! service and nothing else of the request API.

use serde_json::{Value, json};

use crate::common::chart::{Render, SERVER};
use crate::defaults::env_of;
use crate::sets::{DEFAULTS, DELIVERY, EVERYTHING_ELSE, SLACK_HOST, SLACK_SECRET, renders, set};

fn container<'a>(render: &'a Render, component: &str) -> &'a Value {
    &render.component("Deployment", component)["spec"]["template"]["spec"]["containers"][0]
}

/// Whether an Ingress path of type Prefix matches `request_path`: element
/// by element of the `/`-separated path (the Kubernetes rule, so `/slack`
/// matches `/slack/events` but not `/slackbot`).
fn prefix_matches(prefix: &str, request_path: &str) -> bool {
    let elements = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|element| !element.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (prefix, request) = (elements(prefix), elements(request_path));
    request.len() >= prefix.len() && request[..prefix.len()] == prefix[..]
}

/// Whether any path of the Ingress sends `request_path` on.
fn routed(ingress: &Value, request_path: &str) -> bool {
    ingress["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| rule["http"]["paths"].as_array().into_iter().flatten())
        .any(|path| match path["pathType"].as_str() {
            Some("Exact") => path["path"] == request_path,
            // ImplementationSpecific is up to the controller: count it as
            // matching everything.
            Some("Prefix") => prefix_matches(path["path"].as_str().unwrap_or("/"), request_path),
            _ => true,
        })
}

/// The paths of Slack's request URLs in the app manifest the README has
/// users paste (slack-app-manifest.json).
fn manifest_paths() -> Vec<String> {
    let text = std::fs::read_to_string(xtask::workspace::root().join("slack-app-manifest.json"))
        .expect("slack-app-manifest.json");
    let mut paths = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("https://slack.example.com") {
        let url = &rest[at + "https://slack.example.com".len()..];
        let end = url.find('"').expect("a URL in quotes");
        paths.push(url[..end].to_owned());
        rest = &url[end..];
    }
    paths.sort();
    paths
}

#[test]
fn slack_credentials_come_from_the_users_secret_on_the_service_and_the_dispatcher() {
    let Some(render) = set(DELIVERY) else { return };
    for component in [SERVER, "dispatcher"] {
        let env = env_of(container(render, component));
        for key in ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"] {
            assert_eq!(
                env.get(key),
                Some(&json!({"secretKeyRef": {"name": SLACK_SECRET, "key": key}})),
                "{component}: {key}"
            );
        }
        assert_eq!(
            env.get("SLACK_API_URL"),
            Some(&json!("https://slack.com/api/")),
            "{component}"
        );
    }
    assert_eq!(
        env_of(container(render, SERVER)).get("SLACK_COMMAND"),
        Some(&json!("/it-help"))
    );
    assert!(
        !env_of(container(render, "dispatcher")).contains_key("SLACK_COMMAND"),
        "the dispatcher answers no commands"
    );
    let Some(rich) = set(EVERYTHING_ELSE) else {
        return;
    };
    let env = env_of(container(rich, SERVER));
    assert_eq!(env.get("SLACK_COMMAND"), Some(&json!("/help-me")));
    assert_eq!(
        env.get("SLACK_API_URL"),
        Some(&json!("https://slack.example.com/api/"))
    );
    assert!(
        rich.of_kind("Ingress").is_empty(),
        "Slack without an Ingress"
    );
}

#[test]
fn with_slack_off_no_pod_gets_slack_settings_and_there_is_no_ingress() {
    let Some(render) = set(DEFAULTS) else { return };
    for container in render.containers() {
        assert!(
            env_of(container.spec)
                .keys()
                .all(|var| !var.starts_with("SLACK_")),
            "{}",
            container.id
        );
    }
    assert!(render.of_kind("Ingress").is_empty());
}

#[test]
fn the_slack_ingress_sends_only_slack_to_the_services_http_port() {
    let Some(render) = set(DELIVERY) else { return };
    let ingress = render.one("Ingress");
    assert_eq!(ingress["apiVersion"], json!("networking.k8s.io/v1"));
    assert_eq!(ingress["spec"]["ingressClassName"], json!("nginx"));
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        json!("letsencrypt")
    );
    assert_eq!(
        ingress["spec"]["tls"],
        json!([{"secretName": "slack-tls", "hosts": [SLACK_HOST]}])
    );
    let service = render.component("Service", SERVER);
    assert_eq!(
        ingress["spec"]["rules"],
        json!([{"host": SLACK_HOST, "http": {"paths": [{
            "path": "/slack", "pathType": "Prefix",
            "backend": {"service": {"name": service["metadata"]["name"],
                                    "port": {"name": "http"}}}}]}}])
    );
    // The Service's port of that name reaches the pods whose routes Slack's
    // are (the request API's, `serve`).
    assert!(
        service["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .any(|port| port["name"] == "http" && port["targetPort"] == "http")
    );
    assert_eq!(container(render, SERVER)["args"], json!(["serve"]));
}

#[test]
fn slacks_request_urls_are_routed_and_the_request_api_is_not() {
    let Some(render) = set(DELIVERY) else { return };
    let ingress = render.one("Ingress");
    let slack = manifest_paths();
    assert_eq!(
        slack,
        ["/slack/commands", "/slack/events", "/slack/interactive"]
    );
    for path in &slack {
        assert!(routed(ingress, path), "{path} is not routed");
    }
    for path in [
        "/",
        "/api/v1/requests/generic/sync",
        "/api/v1/sessions",
        "/api/v1/integrations",
        "/health",
        "/ready",
        "/metrics",
        "/slackware",
    ] {
        assert!(!routed(ingress, path), "{path} is routed");
    }
}

#[test]
fn an_ingress_is_rendered_only_for_slack_and_routes_only_slack_in_every_set() {
    let Some(renders) = renders() else { return };
    for rendered in renders {
        let ingresses = rendered.render.of_kind("Ingress");
        let wanted = rendered.values["slack"]["ingress"]["enabled"] == json!(true);
        assert_eq!(ingresses.len(), usize::from(wanted), "{}", rendered.name);
        for ingress in ingresses {
            assert!(!routed(ingress, "/api/v1/requests"), "{}", rendered.name);
            assert!(routed(ingress, "/slack/events"), "{}", rendered.name);
        }
    }
}
