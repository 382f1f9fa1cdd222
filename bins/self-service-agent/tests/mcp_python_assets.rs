//! The laptop refresh journey (`journey/mod.rs`) on the Python system's
//! asset directory (`../shared/fixtures/asset-config`, present beside the
//! CI checkout): its toolgroup uris end in `/sse` (rewritten to the local
//! servers' `/sse`), its agents name no model and its prompts are for
//! other models; the same service, LlamaStack and MCP servers serve it.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use std::sync::OnceLock;

use journey::{Journey, World, employee, once, ticket_number};
use test_support::RealLlamaStack;
use test_support::fixtures::shared_fixture;
use test_support::openai_stub::Script;
use test_support::openai_stub::script::OPEN_LAPTOP_REFRESH_TICKET;

#[test]
fn the_python_systems_asset_directory_serves_the_laptop_refresh_journey() {
    let test = "the_python_systems_asset_directory_serves_the_laptop_refresh_journey";
    let Some(fixture) = shared_fixture("asset-config", test) else {
        return;
    };
    if !RealLlamaStack::available_or_skip(test) {
        return;
    }
    static WORLD: OnceLock<Result<World, String>> = OnceLock::new();
    let world = once(&WORLD, || {
        World::start(&fixture, |dir, world| {
            journey::assets::point_toolgroups_at(dir, |name| world.mcp_base(name), None);
        })
    });
    let outcome = world.run(Journey {
        user: &employee("1005").email,
        message: "I need a new laptop",
        script: Script::laptop_refresh(),
        service_token: &world.token,
    });
    assert_eq!(outcome.status, 200, "{}", outcome.answer);
    assert_eq!(
        outcome.answer["response"]["agent_id"], "laptop-refresh",
        "{}",
        outcome.answer
    );
    let ticket = outcome.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text).unwrap_or_else(|| panic!("{}", ticket.text));
    assert!(
        outcome.content().contains(number),
        "{number}: {}",
        outcome.content()
    );
}
