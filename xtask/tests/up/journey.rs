//! One stack for the whole journey, in order (each step needs the one
//! before): `up --detach`, a laptop request through it, a prompt edited
//! while it runs, `down`.

use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::up::Status;

use crate::common::stack::{
    Stack, assert_handed_over_with_a_ticket, available_or_skip, binaries_built, text,
};

/// The laptop-refresh agent's tool calls in the stub's script
/// (`crates/test-support/src/openai_stub/script/mod.rs`), in order.
const SCRIPTED_TOOLS: [&str; 3] = [
    "get_employee_laptop_info",
    "knowledge_search",
    "open_laptop_refresh_ticket",
];

#[test]
fn up_answers_a_laptop_request_reloads_an_edited_prompt_and_down_leaves_nothing() {
    let test = "up_answers_a_laptop_request_reloads_an_edited_prompt_and_down_leaves_nothing";
    if !available_or_skip(test) {
        return;
    }
    binaries_built();
    let stack = Stack::new();
    let begun = Instant::now();
    let output = stack.up();
    let (stdout, _, described) = text(&output);
    assert!(
        output.status.success(),
        "up --detach failed: {described}\n--- up.log\n{}",
        stack.log("up")
    );
    eprintln!(
        "up --detach ready in {:.1} s",
        begun.elapsed().as_secs_f64()
    );
    says_what_runs_and_how_to_use_it(&stack, &stdout);
    let state = stack.state().unwrap();
    assert_eq!(state.status, Status::Ready, "{state:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // (a) the journey through the running stack
    let answer = runtime.block_on(stack.laptop_request());
    assert_handed_over_with_a_ticket(&answer);
    let tools = runtime.block_on(laptop_agent_tool_calls(&stack));
    assert_eq!(tools, SCRIPTED_TOOLS, "the laptop agent's tool calls");

    // (b) a prompt edited while it runs
    let before = stack.state().unwrap().reconciles;
    let prompt = stack.assets.path().join("prompts/laptop-refresh.txt");
    let mut edited = std::fs::read_to_string(&prompt).unwrap();
    edited.push_str("\nAlways thank the employee for their patience.\n");
    let saved = Instant::now();
    std::fs::write(&prompt, edited).unwrap();
    let state = stack.wait_state(
        Duration::from_secs(60),
        "a reconcile after the prompt edit",
        |state| state.reconciles > before,
    );
    eprintln!(
        "prompt saved → agent replaced in {:.2} s",
        saved.elapsed().as_secs_f64()
    );
    let reconcile = state.last_reconcile.clone().unwrap();
    assert_eq!(
        reconcile.changes,
        ["replace agent laptop-refresh"],
        "{reconcile:?}\n--- up.log\n{}",
        stack.log("up")
    );
    assert!(
        reconcile
            .summary
            .starts_with("created=0 replaced=1 unchanged=")
            && reconcile.summary.ends_with(" pruned=0 failed=0"),
        "{reconcile:?}"
    );
    assert!(
        stack.log("up").contains(&reconcile.line()),
        "the summary was not printed: {}",
        stack.log("up")
    );
    // the replaced agent answers the next request, without a restart
    let again = runtime.block_on(stack.laptop_request());
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!(again["response"]["agent_id"], "laptop-refresh", "{again}");

    // down
    let state = stack.state();
    let output = stack.down();
    let (stdout, _, described) = text(&output);
    assert!(output.status.success(), "down failed: {described}");
    assert!(stdout.starts_with("stopped "), "{described}");
    let after = stack.state().unwrap();
    assert_eq!(after.status, Status::Stopped, "{after:?}");
    let left = stack.leftovers(state.as_ref());
    assert!(left.is_empty(), "left behind by down:\n{}", left.join("\n"));
    let up_log = stack.log("up");
    for component in [
        "self-service-agent",
        "mcp-snow",
        "mcp-employee-info",
        "llamastack",
        "openai-stub",
        "postgres",
    ] {
        assert!(
            up_log.contains(&format!("stopped {component}")),
            "{component} was not stopped: {up_log}"
        );
    }
    let order: Vec<usize> = [
        "stopped self-service-agent",
        "stopped llamastack",
        "stopped postgres",
    ]
    .iter()
    .filter_map(|line| up_log.find(line))
    .collect();
    assert!(
        order.is_sorted() && order.len() == 3,
        "not stopped in reverse order: {up_log}"
    );
}

/// One line per component with its URL and status, the scripted model
/// announced, then how to use it.
fn says_what_runs_and_how_to_use_it(stack: &Stack, stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let line_of = |component: &str| {
        lines
            .iter()
            .find(|line| line.split_whitespace().next() == Some(component))
            .copied()
            .unwrap_or_else(|| panic!("no line for {component}: {stdout}"))
    };
    let api = stack.api();
    for (component, url, status) in [
        (
            "postgres",
            format!("@127.0.0.1:{}/", stack.port("--postgres-port")),
            "ready",
        ),
        (
            "openai-stub",
            format!("127.0.0.1:{}/v1", stack.port("--stub-port")),
            "SCRIPTED",
        ),
        (
            "llamastack",
            stack.llamastack(),
            "ready (LlamaStack 0.2.18)",
        ),
        (
            "mcp-employee-info",
            format!("127.0.0.1:{}/mcp", stack.port("--employee-info-port")),
            "backend: demo",
        ),
        (
            "mcp-snow",
            format!("127.0.0.1:{}/mcp", stack.port("--snow-port")),
            "backend: demo",
        ),
        ("db-migrate", String::new(), "done"),
        ("register-assets", String::new(), "done: created="),
        ("self-service-agent", api.clone(), "ready"),
    ] {
        let line = line_of(component);
        assert!(
            line.contains(&url) && line.contains(status),
            "{component}: {line}"
        );
    }
    assert!(
        !stdout.contains("postgres:postgres") && !stdout.contains(":postgres@"),
        "{stdout}"
    );
    for usage in [
        format!("REQUEST_MANAGER_URL={api} "),
        format!("curl -s {api}/api/v1/requests/generic/sync"),
        "Logs: ".to_owned(),
        "Stop: cargo xtask down".to_owned(),
    ] {
        assert!(stdout.contains(&usage), "no {usage:?} in: {stdout}");
    }
}

/// The tools the laptop-refresh agent called, in order, read from its
/// LlamaStack sessions (`docs/llamastack.md`: sessions, turns, steps).
async fn laptop_agent_tool_calls(stack: &Stack) -> Vec<String> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(format!("{}{path}", stack.llamastack()));
        async move {
            let answer = request.send().await.unwrap();
            assert!(
                answer.status().is_success(),
                "GET {path}: {}",
                answer.status()
            );
            answer.json::<Value>().await.unwrap()
        }
    };
    let agents = get("/v1/agents".to_owned()).await;
    let agent = agents["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|agent| agent["agent_config"]["name"] == "laptop-refresh")
        .unwrap_or_else(|| panic!("no laptop-refresh agent: {agents}"));
    let id = agent["agent_id"].as_str().unwrap();
    let sessions = get(format!("/v1/agents/{id}/sessions")).await;
    let mut tools = Vec::new();
    for listed in sessions["data"].as_array().into_iter().flatten() {
        // the listing leaves the turns out
        let session_id = listed["session_id"].as_str().unwrap();
        let session = get(format!("/v1/agents/{id}/session/{session_id}")).await;
        for turn in session["turns"].as_array().into_iter().flatten() {
            for step in turn["steps"].as_array().into_iter().flatten() {
                if step["step_type"] == "tool_execution" {
                    for call in step["tool_calls"].as_array().into_iter().flatten() {
                        tools.push(call["tool_name"].as_str().unwrap_or("?").to_owned());
                    }
                }
            }
        }
    }
    assert!(
        !tools.is_empty(),
        "no tool call in the laptop agent's sessions: {sessions}"
    );
    tools
}
