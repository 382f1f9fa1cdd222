//! The ServiceNow backend of the real mcp-snow binary against the stateful
//! fake ServiceNow of test-support (its API shapes: docs/mcp-servers.md).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ALICES_FIRST_TICKET, ALICES_FIRST_TICKET_LISTED, list_tickets, open_ticket};
use reqwest::Method;
use serde_json::Value;
use test_support::assert_contains_all;
use test_support::fake_servicenow::{API_KEY, FakeServiceNow, LAPTOP_REFRESH_ID};
use test_support::mcp::{ServerProcess, answer_text, error_text, python_or_skip, run_as, text};

const ALICE_SYS_ID: &str = "6816f79cc0a8016401c5a33be04be441";

fn server(fake: &FakeServiceNow, extra: &[(&str, &str)]) -> ServerProcess {
    let url = fake.url();
    let mut env = vec![
        ("SERVICENOW_INSTANCE_URL", url.as_str()),
        ("SERVICENOW_API_KEY", API_KEY),
        ("SERVICENOW_LAPTOP_REFRESH_ID", LAPTOP_REFRESH_ID),
        ("SERVICENOW_TIMEOUT", "2"),
    ];
    env.extend_from_slice(extra);
    ServerProcess::start(env!("CARGO_BIN_EXE_mcp-snow").as_ref(), &env).expect("the server starts")
}

/// The venv's Python, the fake ServiceNow, and the server pointed at it with
/// `extra` settings; `None` after a visible skip when the venv is missing.
fn start(test: &str, extra: &[(&str, &str)]) -> Option<(PathBuf, FakeServiceNow, ServerProcess)> {
    let python = python_or_skip(test)?;
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, extra);
    Some((python, fake, server))
}

fn session(python: &Path, server: &ServerProcess, steps: &[Value]) -> Vec<Value> {
    run_as(
        python,
        server,
        "/mcp",
        Some("alice.johnson@example.com"),
        steps,
    )
}

fn orders(fake: &FakeServiceNow) -> Vec<Value> {
    fake.calls()
        .into_iter()
        .filter(|c| c.method == Method::POST && c.path.ends_with("/order_now"))
        .map(|c| c.body)
        .collect()
}

#[test]
fn health_says_the_backend_is_servicenow() {
    let fake = FakeServiceNow::start().expect("fake");
    let server = server(&fake, &[]);
    let health: Value = reqwest::blocking::get(format!("{}/health", server.base()))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["backend"], "servicenow", "{health}");
}

#[test]
fn a_ticket_is_ordered_from_the_catalog_item_with_the_laptop_variables() {
    let Some((python, fake, server)) = start(
        "a_ticket_is_ordered_from_the_catalog_item_with_the_laptop_variables",
        &[],
    ) else {
        return;
    };
    let entries = session(
        &python,
        &server,
        &[open_ticket("Dell Latitude 7450"), list_tickets()],
    );
    let ticket = answer_text(&entries[0]);
    assert_contains_all(ticket, ALICES_FIRST_TICKET);
    assert_contains_all(
        ticket,
        &[
            "Priority: 4 - Low",
            "Assigned Group: Hardware Asset Management",
        ],
    );
    let orders = orders(&fake);
    assert_eq!(orders.len(), 1);
    assert_eq!(
        orders[0]["variables"]["laptop_choices"],
        "Dell Latitude 7450"
    );
    assert_eq!(
        orders[0]["variables"]["who_is_this_request_for"],
        ALICE_SYS_ID
    );
    let lookup = fake
        .calls()
        .into_iter()
        .find(|c| c.path == "/api/now/table/sys_user")
        .expect("a user lookup");
    assert_eq!(
        lookup.query["sysparm_query"],
        "email=alice.johnson@example.com"
    );
    assert_contains_all(text(&entries[1]), &[ALICES_FIRST_TICKET_LISTED]);
    let items = fake.requested_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["cat_item"]["value"], LAPTOP_REFRESH_ID);
}

#[test]
fn the_request_limit_counts_the_open_requests_in_servicenow() {
    let Some((python, fake, server)) = start(
        "the_request_limit_counts_the_open_requests_in_servicenow",
        &[("SERVICENOW_LAPTOP_REQUEST_LIMITS", "1")],
    ) else {
        return;
    };
    let entries = session(
        &python,
        &server,
        &[
            open_ticket("Dell Latitude 7450"),
            open_ticket("Apple MacBook Air 13\""),
        ],
    );
    assert_contains_all(
        error_text(&entries[1]),
        &["1 open laptop request(s) (REQ0010001)"],
    );
    assert_eq!(orders(&fake).len(), 1);
}

#[test]
fn duplicate_avoidance_answers_the_open_request_for_the_same_model() {
    // A zero idempotency window: the open request in ServiceNow is what is found.
    let Some((python, fake, server)) = start(
        "duplicate_avoidance_answers_the_open_request_for_the_same_model",
        &[
            ("SERVICENOW_LAPTOP_AVOID_DUPLICATES", "true"),
            ("TICKET_IDEMPOTENCY_WINDOW", "0"),
        ],
    ) else {
        return;
    };
    let entries = session(
        &python,
        &server,
        &[
            open_ticket("Dell Latitude 7450"),
            open_ticket("dell latitude 7450"),
        ],
    );
    assert_contains_all(
        text(&entries[1]),
        &["already exists", "Ticket Number: REQ0010001"],
    );
    assert_eq!(orders(&fake).len(), 1);
}

#[test]
fn rejected_credentials_are_a_clear_tool_error() {
    let Some((python, fake, server)) = start(
        "rejected_credentials_are_a_clear_tool_error",
        &[("SERVICENOW_API_KEY", "not-the-key")],
    ) else {
        return;
    };
    let entries = session(&python, &server, &[list_tickets()]);
    let message = error_text(&entries[0]);
    assert!(
        message.contains("401")
            && message.contains("User Not Authenticated")
            && message.contains("credentials were refused"),
        "{message}"
    );
    assert_eq!(fake.calls().len(), 1, "a 401 is not retried");
}

#[test]
fn server_errors_are_retried() {
    let Some((python, fake, server)) =
        start("server_errors_are_retried", &[("SERVICENOW_RETRIES", "3")])
    else {
        return;
    };
    fake.fail_next(503, 2);
    let entries = session(&python, &server, &[list_tickets()]);
    answer_text(&entries[0]);
    let lookups = fake
        .calls()
        .iter()
        .filter(|c| c.path == "/api/now/table/sys_user")
        .count();
    assert_eq!(lookups, 3, "two 503s, then the answer");
    assert!(server.log().contains("retrying"), "{}", server.log());
}

#[test]
fn server_errors_past_the_retries_are_a_tool_error() {
    let Some((python, fake, server)) = start(
        "server_errors_past_the_retries_are_a_tool_error",
        &[("SERVICENOW_RETRIES", "1")],
    ) else {
        return;
    };
    fake.fail_next(500, 2);
    let entries = session(&python, &server, &[list_tickets()]);
    assert_contains_all(error_text(&entries[0]), &["ServiceNow answered 500"]);
}

#[test]
fn a_timeout_is_a_tool_error_and_not_retried() {
    let Some((python, fake, server)) = start(
        "a_timeout_is_a_tool_error_and_not_retried",
        &[("SERVICENOW_TIMEOUT", "1")],
    ) else {
        return;
    };
    fake.delay_next(Duration::from_secs(3), 1);
    let entries = session(&python, &server, &[list_tickets()]);
    assert_contains_all(error_text(&entries[0]), &["did not answer within 1s"]);
    assert_eq!(fake.calls().len(), 1);
}

#[test]
fn the_api_key_never_appears_in_the_log_even_at_trace() {
    let Some((python, fake, server)) = start(
        "the_api_key_never_appears_in_the_log_even_at_trace",
        &[("RUST_LOG", "trace")],
    ) else {
        return;
    };
    fake.fail_next(503, 1);
    session(
        &python,
        &server,
        &[open_ticket("Dell Latitude 7450"), list_tickets()],
    );
    let log = server.log();
    assert!(log.lines().count() > 20, "trace logging is on:\n{log}");
    assert!(!log.contains(API_KEY), "the API key is in the log");
}

#[test]
fn without_the_catalog_item_the_server_exits_78_naming_it() {
    let fake = FakeServiceNow::start().expect("fake");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-snow"))
        .env("SERVICENOW_INSTANCE_URL", fake.url())
        .env("SERVICENOW_API_KEY", API_KEY)
        .env_remove("SERVICENOW_LAPTOP_REFRESH_ID")
        .env_remove("LOG_FORMAT")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SERVICENOW_LAPTOP_REFRESH_ID"), "{stderr}");
    assert!(!stderr.contains(API_KEY));
}
