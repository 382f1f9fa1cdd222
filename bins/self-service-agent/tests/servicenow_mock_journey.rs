//! The laptop journey through the service with both MCP servers on the
//! Python system's own mock ServiceNow
//! (`test_support::fake_servicenow::python_mock`), as a team switching from
//! the Python system has it running: OGX 1.5.0, the project's asset
//! directory, the scripted model. Needs the shared fixtures beside the
//! checkout (`../shared/fixtures/python-system-2026/servicenow-mock`) and
//! the venv `target/venv/servicenow-mock`; skips visibly without them.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use journey::{Setup, World, Worlds, point_at_world, project_assets, ticket_number};
use test_support::fake_servicenow::LAPTOP_REFRESH_ID;
use test_support::fake_servicenow::python_mock::{self, EMPLOYEES};
use test_support::llamastack::ServerVersion;
use test_support::openai_stub::Script;

static WORLDS: Worlds = Worlds::new();

static ON_THE_MOCK: Setup = Setup {
    versions: &[ServerVersion::Ogx1_5],
    source: project_assets,
    prepare: point_at_world,
    mcp_env: mock_backend,
};

/// Both MCP servers on the mock (started before the world).
fn mock_backend() -> Vec<(&'static str, String)> {
    let mock = python_mock::shared_or_skip("servicenow mock backend").expect("the mock is up");
    vec![
        ("SERVICENOW_INSTANCE_URL", mock.url().to_owned()),
        // the mock takes any key; the servers need one
        ("SERVICENOW_API_KEY", "any-key-the-mock-accepts".to_owned()),
        ("SERVICENOW_LAPTOP_REFRESH_ID", LAPTOP_REFRESH_ID.to_owned()),
        ("SERVICENOW_TIMEOUT", "10".to_owned()),
    ]
}

#[tokio::test]
async fn a_mock_employee_gets_a_ticket_of_the_mock_through_the_service() {
    let test = "a_mock_employee_gets_a_ticket_of_the_mock_through_the_service";
    let Some(mock) = python_mock::shared_or_skip(test) else {
        return;
    };
    let Some(world) = World::get(&WORLDS, &ON_THE_MOCK, ServerVersion::Ogx1_5, test).await else {
        return;
    };
    let employee = &EMPLOYEES[0];
    let _turn = world.turn(Script::laptop_refresh()).await;
    let desk = world.desk().open().await;

    let answer = desk.ask(employee.email, "I need a new laptop").await;

    answer.assert_completed();
    let content = answer.content();
    let number = ticket_number(content)
        .or_else(|| request_number(content))
        .unwrap_or_else(|| panic!("no ticket number in the answer: {content}"));
    // The mock logs each request it creates, with the user's sys_id: the
    // ticket is the caller's.
    let created = format!("request_number={number} user={}", employee.sys_id);
    assert!(
        mock.log().contains(&created),
        "{created} not in the mock's log:\n{}",
        mock.log()
    );
}

/// The first `REQ<digits>` of `text`.
fn request_number(text: &str) -> Option<&str> {
    let start = text.find("REQ")?;
    let digits = text[start + 3..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (digits > 0).then(|| &text[start..start + 3 + digits])
}
