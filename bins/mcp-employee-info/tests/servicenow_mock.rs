//! The real mcp-employee-info binary on the Python system's own mock
//! ServiceNow (`test_support::fake_servicenow::python_mock`), driven by the
//! official Python MCP client, as a user switching from the Python system
//! runs it. Needs the shared fixtures beside the checkout
//! (`../shared/fixtures/python-system-2026/servicenow-mock`) and the venvs
//! `target/venv/servicenow-mock` and `target/venv/mcp`; skips visibly
//! without them.

use std::path::PathBuf;

use chrono::{Datelike as _, Local, NaiveDate};
use serde_json::{Value, json};
use test_support::assert_contains_all;
use test_support::fake_servicenow::python_mock::{self, EMPLOYEES, MockEmployee, PythonMock};
use test_support::mcp::{ServerProcess, answer_text, call, error_text, python_or_skip, run_as};

const TOOL: &str = "get_employee_laptop_info";

/// The venv's Python and the server on the mock (shared by this file's
/// tests); `None` after a visible skip.
fn start(test: &str) -> Option<(PathBuf, &'static PythonMock, ServerProcess)> {
    let mock = python_mock::shared_or_skip(test)?;
    let python = python_or_skip(test)?;
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(),
        &[
            ("SERVICENOW_INSTANCE_URL", mock.url()),
            // the mock takes any key, or none; the server needs one
            ("SERVICENOW_API_KEY", "any-key-the-mock-accepts"),
            ("SERVICENOW_TIMEOUT", "10"),
        ],
    )
    .expect("the server starts");
    Some((python, mock, server))
}

fn ask(python: &std::path::Path, server: &ServerProcess, user: &str, arguments: Value) -> Value {
    run_as(python, server, "/mcp", Some(user), &[call(TOOL, arguments)]).remove(0)
}

/// "N years and M months" from `since` to `today`, whole months.
fn age(since: NaiveDate, today: NaiveDate) -> String {
    let mut months = (today.year() - since.year()) * 12 + today.month() as i32
        - since.month() as i32
        - i32::from(today.day() < since.day());
    months = months.max(0);
    let unit = |n: i32, name: &str| format!("{n} {name}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} and {}",
        unit(months / 12, "year"),
        unit(months % 12, "month")
    )
}

/// The lines the answer about `employee` must have, today.
fn expected_lines(employee: &MockEmployee) -> Vec<String> {
    let today = Local::now().date_naive();
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date");
    let expiry = date(employee.warranty_expiry);
    vec![
        format!("Employee Name: {}", employee.name),
        format!("Employee Email: {}", employee.email),
        format!("Employee Location: {}", employee.location),
        format!("Laptop Model: {}", employee.model),
        format!("Laptop Serial Number: {}", employee.serial_number),
        format!("Laptop Purchase Date: {}", employee.purchase_date),
        format!("Laptop Age: {}", age(date(employee.purchase_date), today)),
        format!("Laptop Warranty Expiry Date: {}", employee.warranty_expiry),
        format!(
            "Laptop Warranty: {}",
            if expiry >= today { "Active" } else { "Expired" }
        ),
    ]
}

#[test]
fn the_laptop_of_each_of_three_mock_employees_is_told_right() {
    let Some((python, _mock, server)) =
        start("the_laptop_of_each_of_three_mock_employees_is_told_right")
    else {
        return;
    };
    for employee in &EMPLOYEES {
        let answer = ask(&python, &server, employee.email, json!({}));
        let expected = expected_lines(employee);
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_contains_all(answer_text(&answer), &expected);
    }
}

#[test]
fn an_unknown_user_is_refused_with_the_clear_error() {
    let Some((python, _mock, server)) = start("an_unknown_user_is_refused_with_the_clear_error")
    else {
        return;
    };
    let answer = ask(&python, &server, "nobody@company.com", json!({}));
    assert_eq!(
        error_text(&answer),
        "The authenticated user 'nobody@company.com' is not in the employee directory."
    );
}

#[test]
fn asking_for_another_employee_is_refused() {
    let Some((python, _mock, server)) = start("asking_for_another_employee_is_refused") else {
        return;
    };
    let [alice, maria, _] = EMPLOYEES;
    let answer = ask(
        &python,
        &server,
        alice.email,
        json!({"employee_id": maria.email}),
    );
    let message = error_text(&answer);
    assert_contains_all(
        message,
        &[
            &format!("employee_id '{}'", maria.email),
            "acts only for the authenticated user",
        ],
    );
    assert!(!message.contains(maria.model), "{message}");
}

/// The mock answers `sys_user` by email only (docs/mcp-servers.md): a
/// caller known by an employee number is not found there.
#[test]
fn a_caller_named_by_employee_number_is_not_found_in_the_mock() {
    let Some((python, _mock, server)) =
        start("a_caller_named_by_employee_number_is_not_found_in_the_mock")
    else {
        return;
    };
    let answer = ask(&python, &server, EMPLOYEES[0].sys_id, json!({}));
    assert_eq!(
        error_text(&answer),
        format!(
            "The authenticated user '{}' is not in the employee directory.",
            EMPLOYEES[0].sys_id
        )
    );
}
