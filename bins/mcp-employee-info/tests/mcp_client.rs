//! The official Python MCP client against the real binary (demo backend):
//! tools listed at /mcp and /sse, answers, identity rules, bad input.
//! Skips visibly without the venv (`target/venv/mcp`).

mod common;

use std::path::{Path, PathBuf};

use common::ALICE_ANSWER;
use serde_json::{Value, json};
use test_support::assert_contains_all;
use test_support::mcp::{
    ServerProcess, answer_text, call, error_text, list_tools, python_or_skip, run_as,
};

const TOOL: &str = "get_employee_laptop_info";

fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(), env)
        .expect("the server starts")
}

/// The venv's Python and the server started with `env`; `None` after a
/// visible skip when the venv is missing.
fn start(test: &str, env: &[(&str, &str)]) -> Option<(PathBuf, ServerProcess)> {
    let python = python_or_skip(test)?;
    Some((python, server(env)))
}

/// The answer to one call at `/mcp` as `user` (no identity header for `None`).
fn ask(python: &Path, server: &ServerProcess, user: Option<&str>, arguments: Value) -> Value {
    run_as(python, server, "/mcp", user, &[call(TOOL, arguments)]).remove(0)
}

#[test]
fn lists_its_tool_with_a_plain_string_parameter_at_mcp_and_at_sse() {
    let Some((python, server)) = start(
        "lists_its_tool_with_a_plain_string_parameter_at_mcp_and_at_sse",
        &[],
    ) else {
        return;
    };
    for path in ["/mcp", "/sse"] {
        let tools = list_tools(&python, &server, path);
        assert_eq!(tools.len(), 1, "{path}: {tools:?}");
        let schema = &tools[0]["inputSchema"];
        assert_eq!(tools[0]["name"], TOOL);
        assert_eq!(
            schema["properties"]["employee_id"]["type"], "string",
            "{path}: {schema}"
        );
        assert!(
            schema["properties"]["employee_id"]["description"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Optional"),
            "{schema}"
        );
        assert!(
            tools[0]["description"]
                .as_str()
                .unwrap_or_default()
                .contains("warranty")
        );
    }
}

#[test]
fn answers_the_laptop_details_of_the_authenticated_user() {
    let Some((python, server)) = start("answers_the_laptop_details_of_the_authenticated_user", &[])
    else {
        return;
    };
    let answer = ask(
        &python,
        &server,
        Some("alice.johnson@example.com"),
        json!({}),
    );
    let text = answer_text(&answer);
    assert_contains_all(text, ALICE_ANSWER);
    assert_contains_all(text, &["Laptop Warranty Expiry Date: 2024-03-15"]);
    let age = text
        .lines()
        .find_map(|l| l.strip_prefix("Laptop Age: "))
        .unwrap_or_default();
    assert!(
        age.contains(" years and ") && age.contains("month"),
        "{age}"
    );
}

#[test]
fn an_argument_naming_the_authenticated_user_is_accepted() {
    let Some((python, server)) =
        start("an_argument_naming_the_authenticated_user_is_accepted", &[])
    else {
        return;
    };
    let answer = ask(
        &python,
        &server,
        Some("1001"),
        json!({"employee_id": "alice.johnson@example.com"}),
    );
    answer_text(&answer);
}

#[test]
fn an_argument_naming_someone_else_is_refused() {
    let Some((python, server)) = start("an_argument_naming_someone_else_is_refused", &[]) else {
        return;
    };
    let answer = ask(
        &python,
        &server,
        Some("1001"),
        json!({"employee_id": "1002"}),
    );
    let text = error_text(&answer);
    assert!(
        text.contains("'1002'") && text.contains("authenticated user"),
        "{text}"
    );
    assert!(
        !text.contains("Bob"),
        "no data of the other employee: {text}"
    );
}

#[test]
fn help_desk_mode_answers_for_the_employee_named() {
    let Some((python, server)) = start(
        "help_desk_mode_answers_for_the_employee_named",
        &[("MCP_ALLOW_ANY_EMPLOYEE", "true")],
    ) else {
        return;
    };
    let answer = ask(
        &python,
        &server,
        Some("1001"),
        json!({"employee_id": "1002"}),
    );
    assert_contains_all(answer_text(&answer), &["Employee Name: Bob Martinez"]);
}

#[test]
fn without_the_header_the_argument_is_used_and_a_warning_logged() {
    let Some((python, server)) = start(
        "without_the_header_the_argument_is_used_and_a_warning_logged",
        &[],
    ) else {
        return;
    };
    let answer = ask(&python, &server, None, json!({"employee_id": "1004"}));
    assert_contains_all(answer_text(&answer), &["Deepak Iyer"]);
    let log = server.log();
    let warning = log
        .lines()
        .find(|line| line.contains("identity not authoritative"))
        .unwrap_or_else(|| panic!("no warning in:\n{log}"));
    assert!(
        warning.contains("WARN") && warning.contains("1004"),
        "{warning}"
    );
}

#[test]
fn bad_input_is_answered_as_a_tool_error_naming_the_problem() {
    let Some((python, server)) = start(
        "bad_input_is_answered_as_a_tool_error_naming_the_problem",
        &[],
    ) else {
        return;
    };
    let table = [
        (None, json!({}), "employee_id is required"),
        (None, json!({"employee_id": ""}), "employee_id is required"),
        (
            None,
            json!({"employee_id": "9999"}),
            "No employee with id or email '9999'",
        ),
        (
            None,
            json!({"employee_id": 1001}),
            "employee_id: invalid type",
        ),
        (
            Some("ghost@example.com"),
            json!({}),
            "not in the employee directory",
        ),
    ];
    for (user, arguments, expected) in table {
        let entries = run_as(
            &python,
            &server,
            "/sse",
            user,
            &[call(TOOL, arguments.clone())],
        );
        assert_eq!(entries[0]["isError"], true, "{arguments}: {}", entries[0]);
        let text = entries[0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(expected),
            "{arguments}: {text:?} lacks {expected:?}"
        );
    }
    let unknown = run_as(
        &python,
        &server,
        "/sse",
        None,
        &[call("no_such_tool", json!({}))],
    );
    assert_eq!(unknown[0]["jsonrpc_error"], -32602, "{}", unknown[0]);
    assert!(server.log().lines().all(|line| !line.contains("panicked")));
}

#[test]
fn an_employee_without_a_laptop_is_told_so() {
    let Some((python, server)) = start("an_employee_without_a_laptop_is_told_so", &[]) else {
        return;
    };
    let answer = ask(&python, &server, Some("1011"), json!({}));
    assert_contains_all(answer_text(&answer), &["Laptop: none assigned"]);
}
