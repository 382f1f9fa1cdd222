//! One stack for the whole journey, in order (each step needs the one
//! before): `up --detach`, a laptop request through it, a prompt edited
//! while it runs, `down`.

use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::up::{AssetUpdate, Reload, Status};

use crate::common::stack::{
    SERVER_NAME, Stack, assert_handed_over_with_a_ticket, available_or_skip, binaries_built, text,
};

/// What the test appends to the laptop agent's prompt.
const ADDED: &str = "Always thank the employee for their patience.";

#[test]
fn up_answers_a_laptop_request_reloads_an_edited_prompt_and_down_leaves_nothing() {
    let test = "up_answers_a_laptop_request_reloads_an_edited_prompt_and_down_leaves_nothing";
    if !available_or_skip(test) {
        return;
    }
    binaries_built();
    let stack = Stack::new();
    let knowledge_bases = asset_manager::load(stack.assets.path())
        .unwrap()
        .knowledge_bases
        .len();
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
    says_what_runs_and_how_to_use_it(&stack, &stdout, knowledge_bases);
    let state = stack.state().unwrap();
    assert_eq!(state.status, Status::Ready, "{state:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // (a) the journey through the running stack
    let answer = runtime.block_on(stack.laptop_request());
    assert_handed_over_with_a_ticket(&answer);
    let sent = runtime.block_on(instructions_sent(&stack));
    assert!(!sent.is_empty(), "no response stored by the server");
    assert!(!sent.iter().any(|text| text.contains(ADDED)), "{sent:?}");

    // (b) a prompt edited while it runs: the service reloads it, and
    // register-assets, run again, has nothing to change
    let before = stack.state().unwrap();
    let prompt = stack.assets.path().join("prompts/laptop-refresh.txt");
    let mut edited = std::fs::read_to_string(&prompt).unwrap();
    edited.push_str(&format!("\n{ADDED}\n"));
    let saved = Instant::now();
    std::fs::write(&prompt, edited).unwrap();
    let state = stack.wait_state(
        Duration::from_secs(60),
        "the prompt edit applied",
        |state| state.updates > before.updates && state.reconciles > before.reconciles,
    );
    eprintln!(
        "prompt saved → reload and reconcile reported in {:.2} s",
        saved.elapsed().as_secs_f64()
    );
    let up_log = stack.log("up");
    assert_eq!(
        state.last_update,
        Some(AssetUpdate {
            changed: vec!["prompts/laptop-refresh.txt".to_owned()],
            reload: Reload::Replaced,
        }),
        "--- up.log\n{up_log}"
    );
    let reconcile = state.last_reconcile.clone().unwrap();
    assert_eq!(
        reconcile.summary,
        format!("created=0 replaced=0 unchanged={knowledge_bases} pruned=0 failed=0"),
        "{reconcile:?}"
    );
    assert!(reconcile.changes.is_empty(), "{reconcile:?}");
    for said in [
        "assets: prompts/laptop-refresh.txt copied to ",
        "self-service-agent: agents reloaded: the next turn uses them",
        &reconcile.line(),
    ] {
        assert!(up_log.contains(said), "{said:?} was not printed: {up_log}");
    }
    // the next turn, in the same conversation, sends the new instructions
    let again = runtime.block_on(stack.laptop_request());
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!(again["response"]["agent_id"], "laptop-refresh", "{again}");
    let sent = runtime.block_on(instructions_sent(&stack));
    assert!(
        sent.iter().any(|text| text.contains(ADDED)),
        "no turn since the edit sent the new prompt: {sent:?}"
    );

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
fn says_what_runs_and_how_to_use_it(stack: &Stack, stdout: &str, knowledge_bases: usize) {
    let lines: Vec<&str> = stdout.lines().collect();
    let line_of = |component: &str| {
        lines
            .iter()
            .find(|line| line.split_whitespace().next() == Some(component))
            .copied()
            .unwrap_or_else(|| panic!("no line for {component}: {stdout}"))
    };
    let api = stack.api();
    let created =
        format!("done: created={knowledge_bases} replaced=0 unchanged=0 pruned=0 failed=0");
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
            &format!("ready ({SERVER_NAME})"),
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
        ("register-assets", String::new(), &created),
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
        "(the service reloads it) and register-assets runs again".to_owned(),
        "Stop: cargo xtask down".to_owned(),
    ] {
        assert!(stdout.contains(&usage), "no {usage:?} in: {stdout}");
    }
}

/// The instructions of every response the stack's server stored, newest
/// first (OGX echoes them, docs/llamastack.md).
async fn instructions_sent(stack: &Stack) -> Vec<String> {
    let url = format!("{}/v1/responses?limit=100&order=desc", stack.llamastack());
    let answer = reqwest::get(&url).await.unwrap();
    assert!(
        answer.status().is_success(),
        "GET {url}: {}",
        answer.status()
    );
    let listed: Value = answer.json().await.unwrap();
    listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|response| response["instructions"].as_str().map(str::to_owned))
        .collect()
}
