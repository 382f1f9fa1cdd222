//! The official Python MCP client against the real mcp-snow binary (demo
//! backend): tools and schemas, tickets, retries, identity, bad input.

use std::path::Path;

use serde_json::{Value, json};
use test_support::mcp::{ServerProcess, call, list, python_or_skip, run_client};

const OPEN: &str = "open_laptop_refresh_ticket";
const LIST: &str = "get_laptop_refresh_tickets";

fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-snow").as_ref(), env).expect("the server starts")
}

fn order(model: &str) -> Value {
    json!({
        "employee_name": "Alice Johnson",
        "business_justification": "The laptop is over five years old and out of warranty.",
        "preferred_model": model,
    })
}

fn session(python: &Path, server: &ServerProcess, user: &str, steps: &[Value]) -> Vec<Value> {
    let url = format!("{}/sse", server.base());
    run_client(python, &url, &[("AUTHORITATIVE_USER_ID", user)], steps)
        .expect("the client connects")
}

fn text(entry: &Value) -> &str {
    entry["text"].as_str().unwrap_or_default()
}

#[test]
fn lists_both_tools_with_plain_string_parameters_at_mcp_and_at_sse() {
    let Some(python) =
        python_or_skip("lists_both_tools_with_plain_string_parameters_at_mcp_and_at_sse")
    else {
        return;
    };
    let server = server(&[]);
    for path in ["/mcp", "/sse"] {
        let entries =
            run_client(&python, &format!("{}{path}", server.base()), &[], &[list()]).expect(path);
        let tools = entries[0]["tools"].as_array().expect("tools");
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
    let Some(python) = python_or_skip("opens_a_ticket_with_every_field_and_lists_it") else {
        return;
    };
    let server = server(&[]);
    let entries = session(
        &python,
        &server,
        "1001",
        &[
            call(OPEN, order("Dell Latitude 7450")),
            call(LIST, json!({})),
        ],
    );
    assert_eq!(entries[0]["isError"], false, "{}", entries[0]);
    let ticket = text(&entries[0]);
    for line in [
        "Ticket Number: REQ0010001",
        "Employee: Alice Johnson (ID: 1001)",
        "Status: Open",
        "Priority: Medium",
        "Preferred Model: Dell Latitude 7450",
        "Business Justification: The laptop is over five years old",
        "Created Date: 20",
        "Expected Completion: 20",
        "Assigned Group: IT Hardware Team",
    ] {
        assert!(ticket.contains(line), "{line:?} missing from:\n{ticket}");
    }
    let listed = text(&entries[1]);
    assert!(
        listed.contains("REQ0010001: Dell Latitude 7450, status Open"),
        "{listed}"
    );
}

#[test]
fn a_repeated_call_answers_the_same_ticket() {
    let Some(python) = python_or_skip("a_repeated_call_answers_the_same_ticket") else {
        return;
    };
    let server = server(&[]);
    let first = session(
        &python,
        &server,
        "1001",
        &[call(OPEN, order("Dell Latitude 7450"))],
    );
    let again = session(
        &python,
        &server,
        "1001",
        &[
            call(OPEN, order("Dell Latitude 7450")),
            call(LIST, json!({})),
        ],
    );
    assert!(text(&first[0]).contains("REQ0010001"));
    assert!(
        text(&again[0]).contains("Ticket Number: REQ0010001"),
        "{}",
        text(&again[0])
    );
    assert!(
        text(&again[0]).contains("already exists"),
        "{}",
        text(&again[0])
    );
    assert!(
        text(&again[1]).contains(": 1\n"),
        "one ticket: {}",
        text(&again[1])
    );
}

#[test]
fn tickets_are_listed_only_for_their_employee() {
    let Some(python) = python_or_skip("tickets_are_listed_only_for_their_employee") else {
        return;
    };
    let server = server(&[]);
    session(
        &python,
        &server,
        "1001",
        &[call(OPEN, order("Dell Latitude 7450"))],
    );
    let bob = session(
        &python,
        &server,
        "bob.martinez@example.com",
        &[call(LIST, json!({}))],
    );
    assert!(
        text(&bob[0]).contains("Bob Martinez (1002) has no open laptop refresh tickets"),
        "{}",
        text(&bob[0])
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
    assert_eq!(refused[0]["isError"], true, "{}", refused[0]);
    assert!(
        text(&refused[0]).contains("'1002'"),
        "{}",
        text(&refused[0])
    );
    let help_desk = server(&[("MCP_ALLOW_ANY_EMPLOYEE", "true")]);
    let allowed = session(&python, &help_desk, "1001", &[call(OPEN, arguments)]);
    assert_eq!(allowed[0]["isError"], false, "{}", allowed[0]);
    assert!(
        text(&allowed[0]).contains("Employee: Bob Martinez (ID: 1002)"),
        "{}",
        text(&allowed[0])
    );
}

#[test]
fn missing_or_empty_arguments_are_tool_errors_naming_them() {
    let Some(python) = python_or_skip("missing_or_empty_arguments_are_tool_errors_naming_them")
    else {
        return;
    };
    let server = server(&[]);
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
    let nobody = run_client(
        &python,
        &format!("{}/mcp", server.base()),
        &[],
        &[call(LIST, json!({}))],
    )
    .expect("connects");
    assert!(
        text(&nobody[0]).contains("employee_id is required"),
        "{}",
        nobody[0]
    );
}

#[test]
fn the_request_limit_refuses_one_ticket_too_many() {
    let Some(python) = python_or_skip("the_request_limit_refuses_one_ticket_too_many") else {
        return;
    };
    let server = server(&[("SERVICENOW_LAPTOP_REQUEST_LIMITS", "1")]);
    let entries = session(
        &python,
        &server,
        "1001",
        &[
            call(OPEN, order("Dell Latitude 7450")),
            call(OPEN, order("Apple MacBook Air 13\"")),
        ],
    );
    assert_eq!(entries[0]["isError"], false);
    assert_eq!(entries[1]["isError"], true, "{}", entries[1]);
    assert!(
        text(&entries[1]).contains("the most allowed is 1"),
        "{}",
        text(&entries[1])
    );
}
