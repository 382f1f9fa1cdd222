//! The laptop refresh journey end to end on real parts (`journey/mod.rs`):
//! the project's asset directory reconciled into a real LlamaStack 0.2.18
//! by `register-assets`, both MCP server binaries behind its toolgroups,
//! the service binary in front; only the model is scripted (the OpenAI
//! stub's `Script`). A demo employee asks for a new laptop through
//! `generic/sync`; the routing agent hands over, the laptop agent calls
//! the tools.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use std::sync::OnceLock;

use journey::{Employee, Journey, Outcome, World, employee, once, ticket_number};
use test_support::RealLlamaStack;
use test_support::openai_stub::Script;
use test_support::openai_stub::script::{
    GET_EMPLOYEE_LAPTOP_INFO, KNOWLEDGE_SEARCH, OPEN_LAPTOP_REFRESH_TICKET,
};

const GET_LAPTOP_REFRESH_TICKETS: &str = "get_laptop_refresh_tickets";

/// The world of this test binary, or `None` after a visible skip.
fn world(test: &str) -> Option<&'static World> {
    if !RealLlamaStack::available_or_skip(test) {
        return None;
    }
    static WORLD: OnceLock<Result<World, String>> = OnceLock::new();
    Some(once(&WORLD, || {
        World::start(&journey::project_assets(), |dir, world| {
            journey::assets::point_toolgroups_at(dir, |name| world.mcp_base(name), Some("/mcp"));
            journey::assets::set_agent_models(dir, RealLlamaStack::LLM_MODEL);
        })
    }))
}

/// Alice asks for a new laptop; the model follows the journey.
fn alice() -> Employee {
    employee("1001")
}

fn laptop_request(test: &str) -> Option<(&'static World, &'static Outcome)> {
    let world = world(test)?;
    static RUN: OnceLock<Result<Outcome, String>> = OnceLock::new();
    let outcome = once(&RUN, || {
        world.run(Journey {
            user: &alice().email,
            message: "I need a new laptop",
            script: Script::laptop_refresh(),
            service_token: &world.token,
        })
    });
    Some((world, outcome))
}

/// Carmen asks for a new laptop; the model was talked into acting for
/// employee 1002 (Bob).
fn injected_request(test: &str) -> Option<(&'static World, &'static Outcome)> {
    let world = world(test)?;
    static RUN: OnceLock<Result<Outcome, String>> = OnceLock::new();
    let outcome = once(&RUN, || {
        world.run(Journey {
            user: &employee("1003").email,
            message: "I need a new laptop",
            script: Script::laptop_refresh_for("1002"),
            service_token: &world.token,
        })
    });
    Some((world, outcome))
}

#[test]
fn a_laptop_request_is_answered_with_the_ticket_the_snow_server_opened() {
    let Some((_, outcome)) =
        laptop_request("a_laptop_request_is_answered_with_the_ticket_the_snow_server_opened")
    else {
        return;
    };
    assert_eq!(outcome.status, 200, "{}", outcome.answer);
    assert_eq!(
        outcome.answer["response"]["metadata"]["agent_path"],
        serde_json::json!(["routing-agent", "laptop-refresh"]),
        "{}",
        outcome.answer
    );
    let ticket = outcome.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text)
        .unwrap_or_else(|| panic!("no ticket number in the tool result: {}", ticket.text));
    assert!(number.starts_with("REQ"), "{number}");
    assert!(
        outcome.content().contains(number),
        "the answer does not quote {number}: {}",
        outcome.content()
    );
}

#[test]
fn the_laptop_agent_is_offered_the_tools_of_both_mcp_servers_and_the_knowledge_base() {
    let Some((_, outcome)) = laptop_request(
        "the_laptop_agent_is_offered_the_tools_of_both_mcp_servers_and_the_knowledge_base",
    ) else {
        return;
    };
    let offered = outcome
        .chats
        .iter()
        .map(|chat| &chat.tools_offered)
        .find(|tools| !tools.is_empty())
        .unwrap_or_else(|| panic!("no completion offered tools: {:#?}", outcome.chats));
    let mut offered = offered.clone();
    offered.sort();
    assert_eq!(
        offered,
        [
            GET_EMPLOYEE_LAPTOP_INFO,
            GET_LAPTOP_REFRESH_TICKETS,
            KNOWLEDGE_SEARCH,
            OPEN_LAPTOP_REFRESH_TICKET,
        ]
    );
}

#[test]
fn the_employee_info_server_answers_for_the_caller_when_the_model_names_no_one() {
    let Some((_, outcome)) = laptop_request(
        "the_employee_info_server_answers_for_the_caller_when_the_model_names_no_one",
    ) else {
        return;
    };
    let info = outcome.only_result_of(GET_EMPLOYEE_LAPTOP_INFO);
    assert_eq!(info.arguments["employee_id"], "", "{info:?}");
    assert!(
        info.text
            .contains(&format!("Employee Email: {}", alice().email)),
        "{}",
        info.text
    );
}

#[test]
fn the_snow_server_files_the_ticket_under_the_caller() {
    let test = "the_snow_server_files_the_ticket_under_the_caller";
    let Some(python) = test_support::mcp::python_or_skip(test) else {
        return;
    };
    let Some((world, outcome)) = laptop_request(test) else {
        return;
    };
    let ticket = outcome.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text).unwrap_or_else(|| panic!("{}", ticket.text));
    let listed = world.open_tickets(&python, &alice().email);
    assert!(
        listed.contains(number) && listed.contains(&alice().name),
        "{listed}"
    );
}

#[test]
fn an_employee_id_injected_into_the_tool_calls_is_refused_by_both_mcp_servers() {
    let Some((_, outcome)) = injected_request(
        "an_employee_id_injected_into_the_tool_calls_is_refused_by_both_mcp_servers",
    ) else {
        return;
    };
    for tool in [GET_EMPLOYEE_LAPTOP_INFO, OPEN_LAPTOP_REFRESH_TICKET] {
        let result = outcome.only_result_of(tool);
        assert_eq!(result.arguments["employee_id"], "1002", "{result:?}");
        assert!(
            result
                .text
                .contains("employee_id '1002' names someone other than the authenticated user"),
            "{tool}: {}",
            result.text
        );
    }
}

#[test]
fn no_ticket_is_opened_for_the_employee_an_injection_names() {
    let test = "no_ticket_is_opened_for_the_employee_an_injection_names";
    let Some(python) = test_support::mcp::python_or_skip(test) else {
        return;
    };
    let Some((world, outcome)) = injected_request(test) else {
        return;
    };
    assert_eq!(
        outcome.calls_of(OPEN_LAPTOP_REFRESH_TICKET).len(),
        1,
        "the model tried to open a ticket for 1002: {:#?}",
        outcome.chats
    );
    let bob = employee("1002");
    let listed = world.open_tickets(&python, &bob.email);
    assert!(
        listed.contains("has no open laptop refresh tickets"),
        "{listed}"
    );
}

#[test]
fn a_wrong_mcp_token_fails_the_turn_and_the_request_is_stored_failed() {
    let Some(world) = world("a_wrong_mcp_token_fails_the_turn_and_the_request_is_stored_failed")
    else {
        return;
    };
    let outcome = world.run(Journey {
        user: &employee("1004").email,
        message: "I need a new laptop",
        script: Script::laptop_refresh(),
        service_token: "not-the-mcp-token",
    });
    assert_eq!(outcome.status, 502, "{}", outcome.answer);
    assert_eq!(
        outcome.answer["error"], "agent_failed",
        "{}",
        outcome.answer
    );
    assert_eq!(outcome.stored["status"], "failed", "{}", outcome.stored);
    // the reason is the MCP server's refusal, not some other breakage
    assert!(
        outcome.stored["error"]
            .as_str()
            .is_some_and(|reason| reason.contains("401")),
        "{}",
        outcome.stored
    );
}
