//! The ServiceNow backend of the real mcp-employee-info binary against the
//! stateful fake ServiceNow of test-support.

use std::path::Path;

use serde_json::{Value, json};
use test_support::fake_servicenow::{API_KEY, FakeServiceNow, PASSWORD, USERNAME};
use test_support::mcp::{ServerProcess, call, python_or_skip, run_client};

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

fn ask(python: &Path, server: &ServerProcess, user: &str) -> Value {
    let url = format!("{}/sse", server.base());
    let mut entries = run_client(
        python,
        &url,
        &[("AUTHORITATIVE_USER_ID", user)],
        &[call(TOOL, json!({}))],
    )
    .expect("the client connects");
    entries.remove(0)
}

#[test]
fn the_user_and_their_laptop_are_looked_up_by_email() {
    let Some(python) = python_or_skip("the_user_and_their_laptop_are_looked_up_by_email") else {
        return;
    };
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, &[("SERVICENOW_API_KEY", API_KEY)]);
    let answer = ask(&python, &server, "alice.johnson@example.com");
    assert_eq!(answer["isError"], false, "{answer}");
    let text = answer["text"].as_str().unwrap_or_default();
    for line in [
        "Employee Name: Alice Johnson",
        "Employee ID: 1001",
        "Employee Location: EMEA",
        "Laptop Model: Dell Latitude 7420",
        "Laptop Serial Number: DL7420-58231",
        "Laptop Purchase Date: 2021-03-15",
        "Laptop Warranty: Expired",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let calls = fake.calls();
    let computer = calls
        .iter()
        .find(|c| c.path == "/api/now/table/cmdb_ci_computer")
        .expect("a computer lookup");
    assert!(
        computer.query["sysparm_query"].starts_with("assigned_to=6816f79cc0a8016401c5a33be04be441")
    );
    assert_eq!(computer.query["sysparm_display_value"], "true");
    assert!(computer.query["sysparm_fields"].contains("warranty_expiration"));
}

#[test]
fn the_user_is_looked_up_by_employee_number_with_basic_auth() {
    let Some(python) = python_or_skip("the_user_is_looked_up_by_employee_number_with_basic_auth")
    else {
        return;
    };
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(
        &fake,
        &[
            ("SERVICENOW_USERNAME", USERNAME),
            ("SERVICENOW_PASSWORD", PASSWORD),
        ],
    );
    let answer = ask(&python, &server, "1002");
    assert_eq!(answer["isError"], false, "{answer}");
    let text = answer["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Employee Name: Bob Martinez") && text.contains("Laptop Warranty: Active"),
        "{text}"
    );
}

#[test]
fn an_unknown_user_is_a_tool_error() {
    let Some(python) = python_or_skip("an_unknown_user_is_a_tool_error") else {
        return;
    };
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, &[("SERVICENOW_API_KEY", API_KEY)]);
    let answer = ask(&python, &server, "nobody@example.com");
    assert_eq!(answer["isError"], true, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("not in the employee directory"),
        "{answer}"
    );
}

#[test]
fn an_identifier_that_would_widen_the_query_is_refused_before_any_call() {
    let Some(python) =
        python_or_skip("an_identifier_that_would_widen_the_query_is_refused_before_any_call")
    else {
        return;
    };
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, &[("SERVICENOW_API_KEY", API_KEY)]);
    let url = format!("{}/mcp", server.base());
    let entries = run_client(
        &python,
        &url,
        &[],
        &[call(TOOL, json!({"employee_id": "1001^ORactive=true"}))],
    )
    .expect("connects");
    assert_eq!(entries[0]["isError"], true, "{}", entries[0]);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[test]
fn the_password_never_appears_in_the_log_even_at_trace() {
    let Some(python) = python_or_skip("the_password_never_appears_in_the_log_even_at_trace") else {
        return;
    };
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(
        &fake,
        &[
            ("SERVICENOW_USERNAME", USERNAME),
            ("SERVICENOW_PASSWORD", PASSWORD),
            ("RUST_LOG", "trace"),
        ],
    );
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
