//! The real mcp-snow binary on the Python system's own mock ServiceNow
//! (`test_support::fake_servicenow::python_mock`), driven by the official
//! Python MCP client, as a user switching from the Python system runs it.
//! Needs the shared fixtures beside the checkout
//! (`../shared/fixtures/python-system-2026/servicenow-mock`) and the venvs
//! `target/venv/servicenow-mock` and `target/venv/mcp`; skips visibly
//! without them.

mod common;

use std::path::{Path, PathBuf};

use common::{OPEN, list_tickets};
use serde_json::{Value, json};
use test_support::assert_contains_all;
use test_support::fake_servicenow::LAPTOP_REFRESH_ID;
use test_support::fake_servicenow::python_mock::{self, EMPLOYEES, MockEmployee, PythonMock};
use test_support::mcp::{ServerProcess, answer_text, call, error_text, python_or_skip, run_as};

/// The venv's Python and the server on the mock (shared by this file's
/// tests) with `extra` settings; `None` after a visible skip.
fn start(
    test: &str,
    extra: &[(&str, &str)],
) -> Option<(PathBuf, &'static PythonMock, ServerProcess)> {
    let mock = python_mock::shared_or_skip(test)?;
    let python = python_or_skip(test)?;
    let mut env = vec![
        ("SERVICENOW_INSTANCE_URL", mock.url()),
        // the mock takes any key, or none; the server needs one
        ("SERVICENOW_API_KEY", "any-key-the-mock-accepts"),
        ("SERVICENOW_LAPTOP_REFRESH_ID", LAPTOP_REFRESH_ID),
        ("SERVICENOW_TIMEOUT", "10"),
    ];
    env.extend_from_slice(extra);
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_mcp-snow").as_ref(), &env)
        .expect("the server starts");
    Some((python, mock, server))
}

fn session(python: &Path, server: &ServerProcess, user: &str, steps: &[Value]) -> Vec<Value> {
    run_as(python, server, "/mcp", Some(user), steps)
}

/// The step that opens a ticket for `employee`, for `model`.
fn open_for(employee: &MockEmployee, model: &str) -> Value {
    call(
        OPEN,
        json!({
            "employee_name": employee.name,
            "business_justification": "The laptop is out of warranty.",
            "preferred_model": model,
        }),
    )
}

/// The ticket number of an answer (`Ticket Number: REQ...`).
fn ticket_number(answer: &str) -> &str {
    answer
        .lines()
        .find_map(|line| line.strip_prefix("Ticket Number: "))
        .unwrap_or_else(|| panic!("no ticket number in:\n{answer}"))
}

#[test]
fn a_ticket_is_opened_for_each_of_three_mock_employees_with_the_number_the_mock_gave() {
    let Some((python, mock, server)) = start(
        "a_ticket_is_opened_for_each_of_three_mock_employees_with_the_number_the_mock_gave",
        &[],
    ) else {
        return;
    };
    for employee in &EMPLOYEES {
        let entries = session(
            &python,
            &server,
            employee.email,
            &[open_for(employee, "apple_mac_book_air_m_3")],
        );
        let answer = answer_text(&entries[0]);
        assert_contains_all(
            answer,
            &[
                "ServiceNow Ticket Created Successfully!",
                &format!("Employee: {} (ID: {})", employee.name, employee.email),
                "Preferred Model: apple_mac_book_air_m_3",
                "Business Justification: The laptop is out of warranty.",
            ],
        );
        let number = ticket_number(answer);
        assert!(
            number.len() == 10
                && number.starts_with("REQ")
                && number[3..].bytes().all(|b| b.is_ascii_digit()),
            "{number}"
        );
        // The mock logs each request it creates, with the user's sys_id.
        let created = format!("request_number={number} user={}", employee.sys_id);
        assert!(
            mock.log().contains(&created),
            "{created} not in the mock's log"
        );
    }
}

#[test]
fn an_unknown_user_is_refused_with_the_clear_error() {
    let Some((python, _mock, server)) =
        start("an_unknown_user_is_refused_with_the_clear_error", &[])
    else {
        return;
    };
    let entries = session(
        &python,
        &server,
        "nobody@company.com",
        &[
            open_for(&EMPLOYEES[0], "apple_mac_book_air_m_3"),
            list_tickets(),
        ],
    );
    for entry in &entries {
        assert_eq!(
            error_text(entry),
            "The authenticated user 'nobody@company.com' is not in the employee directory."
        );
    }
}

/// An employee of the mock (email, sys_id) no other test of this file
/// orders for: the mock is shared.
const JOHN_DOE: (&str, &str) = ("john.doe@company.com", "1002");

#[test]
fn a_ticket_for_another_employee_is_refused() {
    let Some((python, mock, server)) = start("a_ticket_for_another_employee_is_refused", &[])
    else {
        return;
    };
    let alice = &EMPLOYEES[0];
    let (john, johns_sys_id) = JOHN_DOE;
    let mut step = open_for(alice, "apple_mac_book_air_m_3");
    step["arguments"]["employee_id"] = json!(john);
    let entries = session(&python, &server, alice.email, &[step]);
    assert_contains_all(
        error_text(&entries[0]),
        &[
            &format!("employee_id '{john}'"),
            "acts only for the authenticated user",
        ],
    );
    let ordered_for_john = format!("user={johns_sys_id}");
    assert!(
        !mock
            .log()
            .lines()
            .any(|line| line.contains("Successfully created") && line.ends_with(&ordered_for_john)),
        "a request was created for {john}"
    );
}

/// The mock's `sc_req_item` is always empty: duplicate avoidance and the
/// request limit find no open request there, so neither holds a ticket
/// back; the idempotency window (in the server) still answers a repeated
/// call with its first ticket.
#[test]
fn with_the_request_rules_set_tickets_open_as_the_mock_lists_no_open_request() {
    let Some((python, _mock, server)) = start(
        "with_the_request_rules_set_tickets_open_as_the_mock_lists_no_open_request",
        &[
            ("SERVICENOW_LAPTOP_AVOID_DUPLICATES", "true"),
            ("SERVICENOW_LAPTOP_REQUEST_LIMITS", "1"),
        ],
    ) else {
        return;
    };
    let alice = &EMPLOYEES[0];
    let entries = session(
        &python,
        &server,
        alice.email,
        &[
            open_for(alice, "apple_mac_book_air_m_3"),
            open_for(alice, "apple_mac_book_air_m_3"),
            open_for(alice, "lenovo_think_pad_p_16_gen_2"),
            list_tickets(),
        ],
    );
    let first = answer_text(&entries[0]);
    let again = answer_text(&entries[1]);
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(ticket_number(again), ticket_number(first));
    let other = answer_text(&entries[2]);
    assert!(other.contains("Created Successfully"), "{other}");
    assert_ne!(ticket_number(other), ticket_number(first));
    assert_contains_all(
        answer_text(&entries[3]),
        &["has no open laptop refresh tickets"],
    );
}
