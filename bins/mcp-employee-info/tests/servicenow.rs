//! The ServiceNow backend of the real mcp-employee-info binary against the
//! stateful fake ServiceNow of test-support.

mod common;

use std::path::{Path, PathBuf};

use common::ALICE_ANSWER;
use serde_json::{Value, json};
use test_support::assert_contains_all;
use test_support::fake_servicenow::{API_KEY, FakeServiceNow, PASSWORD, USERNAME};
use test_support::mcp::{ServerProcess, answer_text, call, error_text, python_or_skip, run_as};

const TOOL: &str = "get_employee_laptop_info";

fn server(fake: &FakeServiceNow, auth: &[(&str, &str)]) -> ServerProcess {
    let url = fake.url();
    let mut env = vec![
        ("SERVICENOW_INSTANCE_URL", url.as_str()),
        ("SERVICENOW_TIMEOUT", "2"),
    ];
    env.extend_from_slice(auth);
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(), &env)
        .expect("the server starts")
}

/// The venv's Python, the fake ServiceNow, and the server pointed at it with
/// `extra` settings; `None` after a visible skip when the venv is missing.
fn start(test: &str, extra: &[(&str, &str)]) -> Option<(PathBuf, FakeServiceNow, ServerProcess)> {
    let python = python_or_skip(test)?;
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, extra);
    Some((python, fake, server))
}

fn ask(python: &Path, server: &ServerProcess, user: &str) -> Value {
    run_as(python, server, "/sse", Some(user), &[call(TOOL, json!({}))]).remove(0)
}

#[test]
fn the_user_and_their_laptop_are_looked_up_by_email() {
    let Some((python, fake, server)) = start(
        "the_user_and_their_laptop_are_looked_up_by_email",
        &[("SERVICENOW_API_KEY", API_KEY)],
    ) else {
        return;
    };
    let answer = ask(&python, &server, "alice.johnson@example.com");
    // The fake lists her former laptop first: the newest purchase is picked.
    assert_contains_all(answer_text(&answer), ALICE_ANSWER);
    let calls = fake.calls();
    let query = |path: &str| {
        calls
            .iter()
            .find(|c| c.path == path)
            .map(|c| c.query.clone())
            .unwrap_or_else(|| panic!("no call of {path}: {calls:?}"))
    };
    assert_eq!(
        query("/api/now/table/sys_user")["sysparm_query"],
        "email=alice.johnson@example.com"
    );
    let computer = query("/api/now/table/cmdb_ci_computer");
    assert_eq!(
        computer["sysparm_query"],
        "assigned_to=6816f79cc0a8016401c5a33be04be441"
    );
    assert_eq!(computer["sysparm_display_value"], "true");
    assert!(computer["sysparm_fields"].contains("warranty_expiration"));
}

#[test]
fn the_user_is_looked_up_by_employee_number_with_basic_auth() {
    let Some((python, fake, server)) = start(
        "the_user_is_looked_up_by_employee_number_with_basic_auth",
        &[
            ("SERVICENOW_USERNAME", USERNAME),
            ("SERVICENOW_PASSWORD", PASSWORD),
        ],
    ) else {
        return;
    };
    let answer = ask(&python, &server, "1002");
    let text = answer_text(&answer);
    assert!(
        text.contains("Employee Name: Bob Martinez") && text.contains("Laptop Warranty: Active"),
        "{text}"
    );
    let lookup = fake
        .calls()
        .into_iter()
        .find(|c| c.path == "/api/now/table/sys_user")
        .expect("a user lookup");
    assert_eq!(lookup.query["sysparm_query"], "employee_number=1002");
}

#[test]
fn an_unknown_user_is_a_tool_error() {
    let Some((python, _fake, server)) = start(
        "an_unknown_user_is_a_tool_error",
        &[("SERVICENOW_API_KEY", API_KEY)],
    ) else {
        return;
    };
    let answer = ask(&python, &server, "nobody@example.com");
    assert_contains_all(error_text(&answer), &["not in the employee directory"]);
}

#[test]
fn an_identifier_that_would_widen_the_query_is_refused_before_any_call() {
    let Some((python, fake, server)) = start(
        "an_identifier_that_would_widen_the_query_is_refused_before_any_call",
        &[("SERVICENOW_API_KEY", API_KEY)],
    ) else {
        return;
    };
    let entries = run_as(
        &python,
        &server,
        "/mcp",
        None,
        &[call(TOOL, json!({"employee_id": "1001^ORactive=true"}))],
    );
    error_text(&entries[0]);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[test]
fn the_password_never_appears_in_the_log_even_at_trace() {
    let Some((python, _fake, server)) = start(
        "the_password_never_appears_in_the_log_even_at_trace",
        &[
            ("SERVICENOW_USERNAME", USERNAME),
            ("SERVICENOW_PASSWORD", PASSWORD),
            ("RUST_LOG", "trace"),
        ],
    ) else {
        return;
    };
    ask(&python, &server, "1001");
    let log = server.log();
    assert!(log.lines().count() > 20, "trace logging is on:\n{log}");
    assert!(!log.contains(PASSWORD), "the password is in the log");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
    assert!(
        !log.contains(&basic),
        "the basic credentials are in the log"
    );
}
