//! The official Python MCP client against the real binary (demo backend):
//! tools listed at /mcp and /sse, answers, identity rules, bad input.
//! Skips visibly without the venv (`target/venv/mcp`).

use std::path::Path;

use serde_json::{Value, json};
use test_support::mcp::{ServerProcess, call, list, python_or_skip, run_client};

const TOOL: &str = "get_employee_laptop_info";

fn server(env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(), env)
        .expect("the server starts")
}

fn one_call(
    python: &Path,
    server: &ServerProcess,
    headers: &[(&str, &str)],
    arguments: Value,
) -> Value {
    let url = format!("{}/mcp", server.base());
    let mut entries =
        run_client(python, &url, headers, &[call(TOOL, arguments)]).expect("the client connects");
    entries.remove(0)
}

#[test]
fn lists_its_tool_with_a_plain_string_parameter_at_mcp_and_at_sse() {
    let Some(python) =
        python_or_skip("lists_its_tool_with_a_plain_string_parameter_at_mcp_and_at_sse")
    else {
        return;
    };
    let server = server(&[]);
    for path in ["/mcp", "/sse"] {
        let entries =
            run_client(&python, &format!("{}{path}", server.base()), &[], &[list()]).expect(path);
        let tools = entries[0]["tools"].as_array().expect("tools");
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
    let Some(python) = python_or_skip("answers_the_laptop_details_of_the_authenticated_user")
    else {
        return;
    };
    let server = server(&[]);
    let answer = one_call(
        &python,
        &server,
        &[("AUTHORITATIVE_USER_ID", "alice.johnson@example.com")],
        json!({}),
    );
    assert_eq!(answer["isError"], false, "{answer}");
    let text = answer["text"].as_str().unwrap_or_default();
    for line in [
        "Employee Name: Alice Johnson",
        "Employee ID: 1001",
        "Employee Location: EMEA",
        "Laptop Model: Dell Latitude 7420",
        "Laptop Serial Number: DL7420-58231",
        "Laptop Purchase Date: 2021-03-15",
        "Laptop Warranty Expiry Date: 2024-03-15",
        "Laptop Warranty: Expired",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
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
    let Some(python) = python_or_skip("an_argument_naming_the_authenticated_user_is_accepted")
    else {
        return;
    };
    let server = server(&[]);
    let answer = one_call(
        &python,
        &server,
        &[("AUTHORITATIVE_USER_ID", "1001")],
        json!({"employee_id": "alice.johnson@example.com"}),
    );
    assert_eq!(answer["isError"], false, "{answer}");
}

#[test]
fn an_argument_naming_someone_else_is_refused() {
    let Some(python) = python_or_skip("an_argument_naming_someone_else_is_refused") else {
        return;
    };
    let server = server(&[]);
    let answer = one_call(
        &python,
        &server,
        &[("AUTHORITATIVE_USER_ID", "1001")],
        json!({"employee_id": "1002"}),
    );
    assert_eq!(answer["isError"], true, "{answer}");
    let text = answer["text"].as_str().unwrap_or_default();
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
    let Some(python) = python_or_skip("help_desk_mode_answers_for_the_employee_named") else {
        return;
    };
    let server = server(&[("MCP_ALLOW_ANY_EMPLOYEE", "true")]);
    let answer = one_call(
        &python,
        &server,
        &[("AUTHORITATIVE_USER_ID", "1001")],
        json!({"employee_id": "1002"}),
    );
    assert_eq!(answer["isError"], false, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Employee Name: Bob Martinez"),
        "{answer}"
    );
}

#[test]
fn without_the_header_the_argument_is_used_and_a_warning_logged() {
    let Some(python) =
        python_or_skip("without_the_header_the_argument_is_used_and_a_warning_logged")
    else {
        return;
    };
    let server = server(&[]);
    let answer = one_call(&python, &server, &[], json!({"employee_id": "1004"}));
    assert_eq!(answer["isError"], false, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Deepak Iyer"),
        "{answer}"
    );
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
    let Some(python) = python_or_skip("bad_input_is_answered_as_a_tool_error_naming_the_problem")
    else {
        return;
    };
    let server = server(&[]);
    let url = format!("{}/sse", server.base());
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let table: [(Headers, Value, &str); 5] = [
        (&[], json!({}), "employee_id is required"),
        (&[], json!({"employee_id": ""}), "employee_id is required"),
        (
            &[],
            json!({"employee_id": "9999"}),
            "No employee with id or email '9999'",
        ),
        (
            &[],
            json!({"employee_id": 1001}),
            "employee_id: invalid type",
        ),
        (
            &[("AUTHORITATIVE_USER_ID", "ghost@example.com")],
            json!({}),
            "not in the employee directory",
        ),
    ];
    for (headers, arguments, expected) in table {
        let entries =
            run_client(&python, &url, headers, &[call(TOOL, arguments.clone())]).expect("connects");
        assert_eq!(entries[0]["isError"], true, "{arguments}: {}", entries[0]);
        let text = entries[0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains(expected),
            "{arguments}: {text:?} lacks {expected:?}"
        );
    }
    let unknown =
        run_client(&python, &url, &[], &[call("no_such_tool", json!({}))]).expect("connects");
    assert_eq!(unknown[0]["jsonrpc_error"], -32602, "{}", unknown[0]);
    assert!(server.log().lines().all(|line| !line.contains("panicked")));
}

#[test]
fn an_employee_without_a_laptop_is_told_so() {
    let Some(python) = python_or_skip("an_employee_without_a_laptop_is_told_so") else {
        return;
    };
    let server = server(&[]);
    let answer = one_call(
        &python,
        &server,
        &[("AUTHORITATIVE_USER_ID", "1011")],
        json!({}),
    );
    assert_eq!(answer["isError"], false, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Laptop: none assigned"),
        "{answer}"
    );
}
