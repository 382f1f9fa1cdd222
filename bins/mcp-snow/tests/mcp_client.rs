//! The official Python MCP client against the real mcp-snow binary (demo
//! backend): tools and schemas, tickets, retries, identity, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{
    ALICES_FIRST_TICKET, ALICES_FIRST_TICKET_LISTED, LIST, OPEN, list_tickets, open_ticket, order,
};
use serde_json::{Value, json};
use test_support::assert_contains_all;
use test_support::mcp::{
    ServerProcess, answer_text, call, error_text, list_tools, python_or_skip, run_as, text,
};

fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-snow").as_ref(), env).expect("the server starts")
}

/// The venv's Python and the server started with `env`; `None` after a
/// visible skip when the venv is missing.
fn start(test: &str, env: &[(&str, &str)]) -> Option<(PathBuf, ServerProcess)> {
    let python = python_or_skip(test)?;
    Some((python, server(env)))
}

fn session(python: &Path, server: &ServerProcess, user: &str, steps: &[Value]) -> Vec<Value> {
    run_as(python, server, "/sse", Some(user), steps)
}

#[test]
fn lists_both_tools_with_plain_string_parameters_at_mcp_and_at_sse() {
    let Some((python, server)) = start(
        "lists_both_tools_with_plain_string_parameters_at_mcp_and_at_sse",
        &[],
    ) else {
        return;
    };
    for path in ["/mcp", "/sse"] {
        let tools = list_tools(&python, &server, path);
        let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, [OPEN, LIST], "{path}");
        let open = &tools[0]["inputSchema"];
        for parameter in [
            "employee_id",
            "employee_name",
            "business_justification",
            "preferred_model",
        ] {
            assert_eq!(
                open["properties"][parameter]["type"], "string",
                "{parameter}: {open}"
            );
            assert!(
                open["properties"][parameter]["description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 20),
                "{parameter}"
            );
        }
        assert_eq!(
            open["required"],
            json!(["employee_name", "business_justification", "preferred_model"])
        );
        assert_eq!(
            tools[1]["inputSchema"]["properties"]["employee_id"]["type"],
            "string"
        );
    }
}

#[test]
fn opens_a_ticket_with_every_field_and_lists_it() {
    let Some((python, server)) = start("opens_a_ticket_with_every_field_and_lists_it", &[]) else {
        return;
    };
    let entries = session(
        &python,
        &server,
        "1001",
        &[open_ticket("Dell Latitude 7450"), list_tickets()],
    );
    let ticket = answer_text(&entries[0]);
    assert_contains_all(ticket, ALICES_FIRST_TICKET);
    assert_contains_all(
        ticket,
        &[
            "Priority: Medium",
            "Business Justification: The laptop is over five years old",
            "Created Date: 20",
            "Expected Completion: 20",
            "Assigned Group: IT Hardware Team",
        ],
    );
    assert_contains_all(text(&entries[1]), &[ALICES_FIRST_TICKET_LISTED]);
}

#[test]
fn a_repeated_call_answers_the_same_ticket() {
    let Some((python, server)) = start("a_repeated_call_answers_the_same_ticket", &[]) else {
        return;
    };
    let first = session(
        &python,
        &server,
        "1001",
        &[open_ticket("Dell Latitude 7450")],
    );
    let again = session(
        &python,
        &server,
        "1001",
        &[open_ticket("Dell Latitude 7450"), list_tickets()],
    );
    assert!(text(&first[0]).contains("REQ0010001"));
    assert_contains_all(
        text(&again[0]),
        &["Ticket Number: REQ0010001", "already exists"],
    );
    assert!(
        text(&again[1]).contains(": 1\n"),
        "one ticket: {}",
        text(&again[1])
    );
}

#[test]
fn tickets_are_listed_only_for_their_employee() {
    let Some((python, server)) = start("tickets_are_listed_only_for_their_employee", &[]) else {
        return;
    };
    session(
        &python,
        &server,
        "1001",
        &[open_ticket("Dell Latitude 7450")],
    );
    let bob = session(
        &python,
        &server,
        "bob.martinez@example.com",
        &[list_tickets()],
    );
    assert_contains_all(
        text(&bob[0]),
        &["Bob Martinez (1002) has no open laptop refresh tickets"],
    );
}

#[test]
fn a_ticket_for_someone_else_is_refused_unless_in_help_desk_mode() {
    let Some(python) =
        python_or_skip("a_ticket_for_someone_else_is_refused_unless_in_help_desk_mode")
    else {
        return;
    };
    let mut arguments = order("Apple MacBook Air 13\"");
    arguments["employee_id"] = json!("1002");
    let refused = session(
        &python,
        &server(&[]),
        "1001",
        &[call(OPEN, arguments.clone())],
    );
    assert_contains_all(error_text(&refused[0]), &["'1002'"]);
    let help_desk = server(&[("MCP_ALLOW_ANY_EMPLOYEE", "true")]);
    let allowed = session(&python, &help_desk, "1001", &[call(OPEN, arguments)]);
    assert_contains_all(
        answer_text(&allowed[0]),
        &["Employee: Bob Martinez (ID: 1002)"],
    );
}

#[test]
fn missing_or_empty_arguments_are_tool_errors_naming_them() {
    let Some((python, server)) = start(
        "missing_or_empty_arguments_are_tool_errors_naming_them",
        &[],
    ) else {
        return;
    };
    let mut blank_model = order("x");
    blank_model["preferred_model"] = json!("  ");
    let mut no_name = order("x");
    no_name.as_object_mut().map(|o| o.remove("employee_name"));
    let mut number_justification = order("x");
    number_justification["business_justification"] = json!(5);
    let table = [
        (blank_model, "preferred_model: must not be empty"),
        (no_name, "missing field `employee_name`"),
        (number_justification, "business_justification: invalid type"),
        (json!({}), "missing field"),
    ];
    for (arguments, expected) in table {
        let entries = session(&python, &server, "1001", &[call(OPEN, arguments.clone())]);
        assert_eq!(entries[0]["isError"], true, "{arguments}: {}", entries[0]);
        assert!(
            text(&entries[0]).contains(expected),
            "{arguments}: {:?} lacks {expected:?}",
            text(&entries[0])
        );
    }
    let nobody = run_as(&python, &server, "/mcp", None, &[list_tickets()]);
    assert!(
        text(&nobody[0]).contains("employee_id is required"),
        "{}",
        nobody[0]
    );
}

#[test]
fn the_request_limit_refuses_one_ticket_too_many() {
    let Some((python, server)) = start(
        "the_request_limit_refuses_one_ticket_too_many",
        &[("SERVICENOW_LAPTOP_REQUEST_LIMITS", "1")],
    ) else {
        return;
    };
    let entries = session(
        &python,
        &server,
        "1001",
        &[
            open_ticket("Dell Latitude 7450"),
            open_ticket("Apple MacBook Air 13\""),
        ],
    );
    assert_eq!(entries[0]["isError"], false);
    assert_contains_all(error_text(&entries[1]), &["the most allowed is 1"]);
}
