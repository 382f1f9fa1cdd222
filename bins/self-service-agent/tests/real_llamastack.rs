//! What goes wrong on real servers, on each server version
//! (`journey/mod.rs`: the project's asset directory on a real LlamaStack,
//! both MCP server binaries, the service binary): an MCP server down, a
//! model the server does not serve, a knowledge base's vector store
//! deleted behind the service's back, a response chain the server does not
//! know, the server restarted mid-stream. Each ends the request with a
//! clear reason (or repairs what can be repaired and answers), and none
//! hangs.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use journey::proxy::Proxy;
use journey::{
    Exchange, PROJECT_ON_EVERY_SERVER, PerServer, Seen, World, Worlds, cell_of, employee, once,
    per_server,
};
use test_support::llamastack::{RealLlamaStack, ServerVersion};
use test_support::openai_stub::Script;

static WORLDS: Worlds = Worlds::new();

/// The world of `version` for this test binary, or `None` after a visible
/// skip.
async fn world(version: ServerVersion, test: &str) -> Option<&'static World> {
    let world = World::get(&WORLDS, &PROJECT_ON_EVERY_SERVER, version, test).await?;
    start_spares();
    Some(world)
}

/// A server starting for the restart of each version's world.
type Spare = Mutex<Option<std::thread::JoinHandle<Result<RealLlamaStack, String>>>>;

/// The servers a restart brings, started once the worlds are up, beside
/// the other tests (a start is mostly Python imports).
fn start_spares() -> &'static [(ServerVersion, Spare)] {
    static SPARES: OnceLock<Vec<(ServerVersion, Spare)>> = OnceLock::new();
    SPARES.get_or_init(|| {
        ServerVersion::ALL
            .into_iter()
            .filter(|version| RealLlamaStack::available(*version))
            .map(|version| {
                let starting = std::thread::spawn(move || {
                    RealLlamaStack::start(version).map_err(|error| format!("{error:#}"))
                });
                (version, Mutex::new(Some(starting)))
            })
            .collect()
    })
}

/// The spare server of `version` (once).
async fn spare(version: ServerVersion) -> RealLlamaStack {
    let starting = start_spares()
        .iter()
        .find(|(spare, _)| *spare == version)
        .and_then(|(_, starting)| starting.lock().ok()?.take())
        .expect("a spare server of this version, taken once");
    tokio::task::spawn_blocking(move || starting.join())
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("the spare {version} did not start"))
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The longest a failing request may take: the MCP servers' connection
/// attempts, the retries of the model server's client, a busy machine.
const NO_HANG: Duration = Duration::from_secs(60);

/// A request failed with a reason holding every one of `parts`, in time.
fn assert_failed_saying(exchange: &Exchange, parts: &[&str]) {
    let reason = exchange.assert_failed();
    test_support::assert_contains_all(reason, parts);
    assert!(
        exchange.took < NO_HANG,
        "failing took {:?}: {reason}",
        exchange.took
    );
}

/// The snow MCP server down (nothing listens where the asset directory
/// says it is), then back: the failed request and the next one.
async fn snow_down_then_back(world: &'static World) -> (Exchange, Exchange) {
    let user = employee("1002").email;
    let _turn = world.turn(Script::laptop_refresh()).await;
    let nowhere = format!("http://127.0.0.1:{}/mcp", common::port());
    let desk = world
        .desk()
        .assets(move |dir| {
            journey::assets::set_value(dir, "toolgroups/snow.yaml", "uri", &nowhere);
        })
        .open()
        .await;
    let failed = desk.ask(&user, "I need a new laptop").await;
    let reloads = desk.reloads();
    journey::assets::set_value(
        desk.assets(),
        "toolgroups/snow.yaml",
        "uri",
        &format!("{}/mcp", world.mcp_base("snow")),
    );
    desk.until_reloaded(reloads).await;
    let next = desk.ask(&user, "I need a new laptop").await;
    (failed, next)
}

/// Alice's laptop request, then her session's laptop chain replaced by
/// an id the server never gave, then her next question.
async fn a_bogus_chain(world: &'static World) -> (Exchange, Seen, String) {
    let user = employee("1001").email;
    let mut turn = world.turn(Script::laptop_refresh()).await;
    let desk = world.desk().open().await;
    let first = desk.ask(&user, "I need a new laptop").await;
    first.assert_completed();
    let bogus = match world.version {
        ServerVersion::V0_2_18 => "resp-00000000-0000-4000-8000-000000000000",
        _ => "resp_00000000-0000-4000-8000-000000000000",
    };
    desk.set_chain(first.session_id(), "laptop-refresh", bogus)
        .await;
    turn.mark();
    let next = desk.ask(&user, "When will it arrive?").await;
    let chains = desk.conversation_context(first.session_id()).await["responses"].clone();
    let laptop_chain = chains["laptop-refresh"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (next, turn.seen(), laptop_chain)
}

/// A session going on while the server restarts with fresh state: the
/// service reaches the world's server through a proxy; mid-way through
/// the second request's stream the proxy closes every connection, as a
/// stopping server does, and sends the next ones to a fresh server (the
/// knowledge base registered there too).
struct Restart {
    /// The request whose stream was cut.
    cut: Exchange,
    /// The next request of the session, on the fresh server.
    after: Exchange,
    /// What the fresh server's model was shown for it.
    after_seen: Vec<Vec<String>>,
    session: String,
}

async fn a_restart_mid_stream(world: &'static World) -> Restart {
    let version = world.version;
    let user = employee("1005").email;
    let turn = world.turn(Script::laptop_refresh()).await;
    let proxy = Proxy::to_url(world.llama.url());
    let desk = world.desk().llama_url(&proxy.url()).open().await;
    let first = desk.ask(&user, "I need a new laptop").await;
    first.assert_completed();
    let fresh = spare(version).await;
    world
        .register_on(fresh.url())
        .unwrap_or_else(|said| panic!("register-assets on the fresh server: {said}"));

    let stub = world.stub();
    let asked = stub.chat_requests().len();
    stub.set_token_delay(Duration::from_millis(300));
    let cut = {
        let ask = desk.ask(&user, "When will it arrive?");
        tokio::pin!(ask);
        let streaming = async {
            // the server called the model: the response's stream began
            while stub.chat_requests().len() == asked {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        };
        tokio::select! {
            exchange = &mut ask => panic!("answered before the restart: {:#}", exchange.answer),
            () = streaming => {}
        }
        proxy.restart_as(fresh.url());
        ask.await
    };
    drop(turn);
    let before = fresh.stub().chat_requests().len();
    let after = desk.ask(&user, "When will it arrive?").await;
    let seen = Seen {
        chats: fresh.stub().chats(),
        chat_requests: fresh.stub().chat_requests().split_off(before),
        employee_info: Vec::new(),
        snow: Vec::new(),
    };
    Restart {
        cut,
        after,
        after_seen: seen.conversations(),
        session: first.session_id().to_owned(),
    }
}

static SNOW_DOWN: PerServer<(Exchange, Exchange)> = per_server();
static BOGUS_CHAIN: PerServer<(Exchange, Seen, String)> = per_server();
static RESTART: PerServer<Restart> = per_server();

async fn snow_down(version: ServerVersion, test: &str) -> Option<&'static (Exchange, Exchange)> {
    let world = world(version, test).await?;
    Some(once(cell_of(&SNOW_DOWN, version), snow_down_then_back(world)).await)
}

async fn bogus_chain(
    version: ServerVersion,
    test: &str,
) -> Option<&'static (Exchange, Seen, String)> {
    let world = world(version, test).await?;
    Some(once(cell_of(&BOGUS_CHAIN, version), a_bogus_chain(world)).await)
}

async fn restart(version: ServerVersion, test: &str) -> Option<&'static Restart> {
    let world = world(version, test).await?;
    Some(once(cell_of(&RESTART, version), a_restart_mid_stream(world)).await)
}

on_every_server!(
    an_mcp_server_down_fails_the_request_naming_it,
    the_mcp_server_back_in_the_asset_directory_answers_the_next_request,
    a_model_the_server_does_not_list_fails_the_request_naming_it,
    a_vector_store_registered_again_is_found_again,
    a_vector_store_deleted_for_good_fails_the_request_naming_its_knowledge_base,
    a_chain_the_server_does_not_know_is_begun_anew_and_the_request_answered,
    a_server_restarted_mid_stream_fails_the_request_without_a_hang,
    after_a_restart_with_fresh_state_the_session_goes_on_in_a_new_chain,
);

async fn an_mcp_server_down_fails_the_request_naming_it(version: ServerVersion, test: &str) {
    let Some((failed, _)) = snow_down(version, test).await else {
        return;
    };
    assert_failed_saying(failed, &["MCP server", "snow", "'laptop-refresh'"]);
}

async fn the_mcp_server_back_in_the_asset_directory_answers_the_next_request(
    version: ServerVersion,
    test: &str,
) {
    let Some((_, next)) = snow_down(version, test).await else {
        return;
    };
    next.assert_completed();
    assert!(next.content().contains("REQ"), "{}", next.content());
}

async fn a_model_the_server_does_not_list_fails_the_request_naming_it(
    version: ServerVersion,
    test: &str,
) {
    let Some(world) = world(version, test).await else {
        return;
    };
    let _turn = world.turn(Script::laptop_refresh()).await;
    let desk = world
        .desk()
        .assets(|dir| {
            journey::assets::set_value(dir, "agents/routing-agent.yaml", "model", "no-such-model");
        })
        .open()
        .await;
    let exchange = desk
        .ask(&employee("1003").email, "I need a new laptop")
        .await;
    assert_failed_saying(
        &exchange,
        &[
            "'routing-agent'",
            "no-such-model",
            RealLlamaStack::LLM_MODEL,
        ],
    );
}

async fn a_vector_store_registered_again_is_found_again(version: ServerVersion, test: &str) {
    let Some(world) = world(version, test).await else {
        return;
    };
    let mut turn = world.turn(Script::laptop_refresh()).await;
    let desk = world
        .desk()
        .env("VECTOR_STORE_RECHECK_INTERVAL", "1")
        .open()
        .await;
    desk.ask(&employee("1004").email, "I need a new laptop")
        .await
        .assert_completed();
    assert_eq!(world.delete_vector_stores_of("laptop-refresh").await, 1);
    world.register_on(world.llama.url()).unwrap();
    // past the interval: the service lists the stores again
    tokio::time::sleep(Duration::from_millis(1500)).await;
    turn.mark();
    let exchange = desk
        .ask(&employee("1006").email, "I need a new laptop")
        .await;
    exchange.assert_completed();
    let seen = turn.seen();
    let found = seen.only_result_of(version.file_search_tool());
    assert!(found.text.contains("Laptop catalogue"), "{}", found.text);
}

async fn a_vector_store_deleted_for_good_fails_the_request_naming_its_knowledge_base(
    version: ServerVersion,
    test: &str,
) {
    let Some(world) = world(version, test).await else {
        return;
    };
    let _turn = world.turn(Script::laptop_refresh()).await;
    let desk = world
        .desk()
        .env("VECTOR_STORE_RECHECK_INTERVAL", "1")
        .open()
        .await;
    desk.ask(&employee("1004").email, "I need a new laptop")
        .await
        .assert_completed();
    assert_eq!(world.delete_vector_stores_of("laptop-refresh").await, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let exchange = desk
        .ask(&employee("1006").email, "I need a new laptop")
        .await;
    // the other tests find the knowledge base again
    world.register_on(world.llama.url()).unwrap();
    assert_failed_saying(
        &exchange,
        &["knowledge base 'laptop-refresh'", "register-assets"],
    );
}

async fn a_chain_the_server_does_not_know_is_begun_anew_and_the_request_answered(
    version: ServerVersion,
    test: &str,
) {
    let Some((next, seen, laptop_chain)) = bogus_chain(version, test).await else {
        return;
    };
    next.assert_completed();
    assert_eq!(next.answer["response"]["agent_id"], "laptop-refresh");
    assert!(!laptop_chain.contains("00000000-0000"), "{laptop_chain}");
    assert!(!laptop_chain.is_empty());
    let shown = seen.conversations();
    let shown = shown.first().unwrap_or_else(|| panic!("no completion"));
    assert!(
        shown.iter().any(|line| line.contains("began earlier")),
        "the new chain says where the conversation was: {shown:#?}"
    );
    assert!(
        !shown
            .iter()
            .any(|line| line.contains("I need a new laptop")),
        "{shown:#?}"
    );
}

async fn a_server_restarted_mid_stream_fails_the_request_without_a_hang(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = restart(version, test).await else {
        return;
    };
    assert_failed_saying(&run.cut, &["stream ended before response.completed"]);
}

async fn after_a_restart_with_fresh_state_the_session_goes_on_in_a_new_chain(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = restart(version, test).await else {
        return;
    };
    run.after.assert_completed();
    assert_eq!(run.after.session_id(), run.session);
    assert_eq!(run.after.answer["response"]["agent_id"], "laptop-refresh");
    let shown = run
        .after_seen
        .first()
        .unwrap_or_else(|| panic!("the fresh server's model was not called"));
    assert!(
        shown.iter().any(|line| line.contains("began earlier")),
        "{shown:#?}"
    );
}
