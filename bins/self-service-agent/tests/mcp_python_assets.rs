//! The laptop refresh journey (`journey/mod.rs`) on the Python system's
//! asset directory (`../shared/fixtures/asset-config`, present beside the
//! CI checkout), on LlamaStack 0.2.18, the server that system ran on: its
//! toolgroup uris end in `/sse` (rewritten to the local servers' `/sse`),
//! its agents name no model and declare no hand-offs (the routing agent
//! answers `ROUTE_TO: laptop-refresh`), its prompts are for other models.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use std::path::{Path, PathBuf};

use journey::{Setup, World, Worlds, employee, ticket_number};
use serde_json::json;
use test_support::fixtures::shared_fixture;
use test_support::llamastack::ServerVersion;
use test_support::openai_stub::Script;
use test_support::openai_stub::script::OPEN_LAPTOP_REFRESH_TICKET;

static WORLDS: Worlds = Worlds::new();

static SETUP: Setup = Setup {
    versions: &[ServerVersion::V0_2_18],
    source: python_assets,
    prepare: point_keeping_paths,
    mcp_env: journey::demo_backend,
};

const FIXTURE: &str = "asset-config";

/// The fixture, once the test has checked it is there.
fn python_assets() -> PathBuf {
    shared_fixture(FIXTURE, "mcp_python_assets").expect("checked by the test")
}

/// The MCP servers' uris at the world's, their paths (`/sse`) kept.
fn point_keeping_paths(dir: &Path, world: &World) {
    journey::assets::point_toolgroups_at(dir, |name| world.mcp_base(name), None);
}

#[tokio::test]
async fn the_python_systems_asset_directory_serves_the_laptop_refresh_journey() {
    let test = "the_python_systems_asset_directory_serves_the_laptop_refresh_journey";
    if shared_fixture(FIXTURE, test).is_none() {
        return;
    }
    let Some(world) = World::get(&WORLDS, &SETUP, ServerVersion::V0_2_18, test).await else {
        return;
    };
    let turn = world.turn(Script::laptop_refresh()).await;
    let desk = world.desk().open().await;
    let exchange = desk
        .ask(&employee("1005").email, "I need a new laptop")
        .await;
    exchange.assert_completed();
    assert_eq!(
        exchange.answer["response"]["metadata"]["agent_path"],
        json!(["routing-agent", "laptop-refresh"]),
        "{}",
        exchange.answer
    );
    let seen = turn.seen();
    let ticket = seen.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text).unwrap_or_else(|| panic!("{}", ticket.text));
    assert!(
        exchange.content().contains(number),
        "{number}: {}",
        exchange.content()
    );
    assert!(
        seen.snow.iter().all(|head| head.path == "/sse"),
        "the Python directory's /sse endpoints: {:?}",
        seen.snow
    );
}
