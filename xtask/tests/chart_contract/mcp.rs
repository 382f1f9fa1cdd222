//! The MCP servers of a case, each run from its own image with its
//! rendered command, env (the release's token Secret, or the user's),
//! securityContext and volumes: its probes as the kubelet runs them,
//! `/health`, tool calls as LlamaStack makes them (the official Python MCP
//! client over streamable HTTP at `/mcp`, with the token and the caller in
//! `AUTHORITATIVE_USER_ID`), and a call without the token. Then the checks
//! `main.rs` makes a test of each.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use test_support::mcp::{call, run_client};

use crate::common::chart::{Container, EMPLOYEE_INFO, SNOW};
use crate::common::container::Running;
use crate::common::pod::Probe;
use crate::install::Installation;
use crate::probe::ProbeTarget;
use crate::release::Release;

/// A demo employee (assets/mcp/employees.json), as LlamaStack names the
/// caller.
const CALLER: &str = "alice.johnson@example.com";

/// What one MCP server's container showed.
pub struct McpServed {
    pub id: String,
    pub component: String,
    /// Its probes, each passed (after how long) or not (why).
    pub probes: Vec<(Probe, Result<std::time::Duration, String>)>,
    /// `GET /health`: status and body.
    pub health: Result<(u16, Value), String>,
    /// The client's entries for the calls made with the token.
    pub calls: Result<Vec<Value>, String>,
    /// The status of an MCP request without the token.
    pub without_token: Result<u16, String>,
    /// Its MCP_AUTH_TOKEN as resolved from the Secret (never printed).
    pub token: Option<String>,
    /// Still running at the end of the install; its logs.
    pub stayed_up: bool,
    pub logs: String,
    container: Option<Running>,
}

impl McpServed {
    /// Records whether the container is still up and removes it.
    pub fn finish(&mut self) {
        if let Some(container) = self.container.take() {
            self.stayed_up = container.running();
            self.logs = container.logs();
        }
    }
}

/// The calls made on each server: employee-info answers who the caller is;
/// snow opens a ticket and lists it.
fn steps(component: &str) -> Vec<Value> {
    match component {
        EMPLOYEE_INFO => vec![call("get_employee_laptop_info", json!({}))],
        _ => vec![
            call(
                "open_laptop_refresh_ticket",
                json!({"employee_name": "Alice Johnson",
                       "business_justification": "Out of warranty.",
                       "preferred_model": "MacBook Pro 14"}),
            ),
            call("get_laptop_refresh_tickets", json!({})),
        ],
    }
}

/// Starts `member` and drives it; it keeps running until [`McpServed::finish`].
pub async fn serve_mcp(release: &Release, member: &Container<'_>, python: &Path) -> McpServed {
    let component = member.component().unwrap_or_default().to_owned();
    let port = release.pod_port(&member.id).expect("the MCP server's port");
    let (host_port, container_port) = (port.host_port, port.container_port);
    let container = release.start(member, &component);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut probes = Vec::new();
    for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
        if let Some(probe) = member.to_run().probe(kind) {
            let target = ProbeTarget {
                release,
                container: &container,
                id: &member.id,
                client: &client,
                host_port,
                container_port,
            };
            let outcome = target.pass(&probe, started).await;
            probes.push((probe, outcome));
        }
    }
    let base = format!("http://127.0.0.1:{host_port}");
    let health = async {
        let response = client
            .get(format!("{base}/health"))
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or_default()))
    }
    .await;
    let (env, _) = release.localised(member);
    let token = env
        .into_iter()
        .find(|(name, _)| name == "MCP_AUTH_TOKEN")
        .map(|(_, value)| value);
    let mut headers = vec![("AUTHORITATIVE_USER_ID".to_owned(), CALLER.to_owned())];
    if let Some(token) = &token {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    let url = format!("{base}/mcp");
    let (python, steps) = (python.to_path_buf(), steps(&component));
    let calls = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            run_client(&python, &url, &headers, &steps)
        }
    })
    .await
    .expect("the client task");
    let without_token = client
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("AUTHORITATIVE_USER_ID", CALLER)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| error.to_string());
    McpServed {
        id: member.id.clone(),
        component,
        probes,
        health,
        calls,
        without_token,
        token,
        stayed_up: false,
        logs: String::new(),
        container: Some(container),
    }
}

fn served<'a>(installed: &'a Installation, component: &str) -> &'a McpServed {
    installed
        .mcp
        .iter()
        .find(|served| served.component == component)
        .unwrap_or_else(|| panic!("{component} was not run"))
}

pub fn mcp_servers_ran(installed: &Installation) {
    let mut components: Vec<&str> = installed
        .mcp
        .iter()
        .map(|served| served.component.as_str())
        .collect();
    components.sort_unstable();
    assert_eq!(components, [EMPLOYEE_INFO, SNOW]);
}

pub fn mcp_probes_pass(installed: &Installation) {
    for served in &installed.mcp {
        assert_eq!(served.probes.len(), 3, "{}: three probes", served.id);
        for (probe, outcome) in &served.probes {
            match outcome {
                Ok(after) => println!(
                    "{} {} ({:?}) passed {} ms after the start",
                    served.id,
                    probe.kind,
                    probe.action,
                    after.as_millis()
                ),
                Err(reason) => panic!("{reason}"),
            }
        }
    }
}

pub fn mcp_health(installed: &Installation) {
    for served in &installed.mcp {
        let (status, body) = served
            .health
            .as_ref()
            .unwrap_or_else(|error| panic!("{}: GET /health: {error}", served.id));
        assert_eq!(*status, 200, "{}", served.id);
        assert_eq!(
            body,
            &json!({"status": "OK", "server": served.component, "backend": "demo"}),
            "{}: the compiled-in demo backend",
            served.id
        );
    }
}

/// The text of each call entry, failing on a tool error.
fn texts(served: &McpServed) -> Vec<String> {
    let calls = served.calls.as_ref().unwrap_or_else(|error| {
        panic!(
            "{}: the MCP client: {error}; logs:\n{}",
            served.id, served.logs
        )
    });
    calls
        .iter()
        .map(|entry| {
            assert_eq!(entry["isError"], false, "{}: {entry}", served.id);
            entry["text"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

pub fn employee_info_answers_for_the_caller(installed: &Installation) {
    let texts = texts(served(installed, EMPLOYEE_INFO));
    for line in [
        "Employee Name: Alice Johnson",
        "Employee ID: 1001",
        "Laptop Model: ",
    ] {
        assert!(
            texts[0].contains(line),
            "{line:?} missing from:\n{}",
            texts[0]
        );
    }
}

pub fn snow_lists_the_ticket_it_opened(installed: &Installation) {
    let texts = texts(served(installed, SNOW));
    let number = texts[0]
        .lines()
        .find_map(|line| line.strip_prefix("Ticket Number: "))
        .unwrap_or_else(|| panic!("no ticket number in:\n{}", texts[0]));
    assert!(
        texts[1].contains(number) && texts[1].contains("MacBook Pro 14"),
        "{number} missing from:\n{}",
        texts[1]
    );
}

pub fn mcp_refuses_calls_without_the_token(installed: &Installation) {
    for served in &installed.mcp {
        assert!(
            served.token.is_some(),
            "{}: MCP_AUTH_TOKEN is set",
            served.id
        );
        let status = served
            .without_token
            .as_ref()
            .unwrap_or_else(|error| panic!("{}: {error}", served.id));
        assert_eq!(*status, 401, "{}: a call without the token", served.id);
    }
}

/// The service passes MCP_AUTH_TOKEN on to the MCP servers through
/// LlamaStack: it must hold the very token they require.
pub fn the_service_holds_the_mcp_servers_token(installed: &Installation) {
    let release = &installed.release;
    let server = release.member("Deployment", &[crate::common::chart::SERVICE, "serve"]);
    let (env, _) = release.localised(&server);
    let service_token = env
        .into_iter()
        .find(|(name, _)| name == "MCP_AUTH_TOKEN")
        .map(|(_, value)| value);
    for served in &installed.mcp {
        assert!(
            service_token.is_some() && service_token == served.token,
            "{} and the service hold the same MCP_AUTH_TOKEN (values not shown)",
            served.id
        );
    }
}

pub fn mcp_servers_stay_up(installed: &Installation) {
    for served in &installed.mcp {
        assert!(
            served.stayed_up,
            "{} stayed up; logs:\n{}",
            served.id, served.logs
        );
    }
}
