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

use std::time::Duration;

use journey::proxy::Proxy;
use journey::{Exchange, PROJECT_ON_EVERY_SERVER, Seen, World, Worlds, employee, once};
use test_support::llamastack::{RealLlamaStack, ServerVersion};
use test_support::openai_stub::Script;

static WORLDS: Worlds = Worlds::new();

/// The world of `version` for this test binary, or `None` after a visible
/// skip.
async fn world(version: ServerVersion, test: &str) -> Option<&'static World> {
    World::get(&WORLDS, &PROJECT_ON_EVERY_SERVER, version, test).await
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
    let fresh = tokio::task::spawn_blocking(move || RealLlamaStack::start(version));
    let user = employee("1005").email;
    let turn = world.turn(Script::laptop_refresh()).await;
    let proxy = Proxy::to_url(world.llama.url());
    let desk = world.desk().llama_url(&proxy.url()).open().await;
    let first = desk.ask(&user, "I need a new laptop").await;
    first.assert_completed();
    let fresh = fresh
        .await
        .unwrap()
        .unwrap_or_else(|error| panic!("{error:#}"));
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

on_every_server! {
    use tokio::sync::OnceCell;

    static SNOW_DOWN: OnceCell<Result<(Exchange, Exchange), String>> = OnceCell::const_new();
    static BOGUS_CHAIN: OnceCell<Result<(Exchange, Seen, String), String>> = OnceCell::const_new();
    static RESTART: OnceCell<Result<Restart, String>> = OnceCell::const_new();

    async fn snow_down(test: &str) -> Option<&'static (Exchange, Exchange)> {
        let world = world(VERSION, test).await?;
        Some(once(&SNOW_DOWN, snow_down_then_back(world)).await)
    }

    async fn bogus_chain(test: &str) -> Option<&'static (Exchange, Seen, String)> {
        let world = world(VERSION, test).await?;
        Some(once(&BOGUS_CHAIN, a_bogus_chain(world)).await)
    }

    async fn restart(test: &str) -> Option<&'static Restart> {
        let world = world(VERSION, test).await?;
        Some(once(&RESTART, a_restart_mid_stream(world)).await)
    }

    #[tokio::test]
    async fn an_mcp_server_down_fails_the_request_naming_it() {
        let Some((failed, _)) = snow_down("an_mcp_server_down_fails_the_request_naming_it").await else {
            return;
        };
        assert_failed_saying(failed, &["MCP server", "snow", "'laptop-refresh'"]);
    }

    #[tokio::test]
    async fn the_mcp_server_back_in_the_asset_directory_answers_the_next_request() {
        let Some((_, next)) = snow_down(
            "the_mcp_server_back_in_the_asset_directory_answers_the_next_request",
        )
        .await
        else {
            return;
        };
        next.assert_completed();
        assert!(next.content().contains("REQ"), "{}", next.content());
    }

    #[tokio::test]
    async fn a_model_the_server_does_not_list_fails_the_request_naming_it() {
        let Some(world) = world(VERSION, "a_model_the_server_does_not_list_fails_the_request_naming_it").await else {
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
        let exchange = desk.ask(&employee("1003").email, "I need a new laptop").await;
        assert_failed_saying(
            &exchange,
            &["'routing-agent'", "no-such-model", RealLlamaStack::LLM_MODEL],
        );
    }

    #[tokio::test]
    async fn a_vector_store_registered_again_is_found_again() {
        let Some(world) = world(VERSION, "a_vector_store_registered_again_is_found_again").await else {
            return;
        };
        let mut turn = world.turn(Script::laptop_refresh()).await;
        let desk = world.desk().env("VECTOR_STORE_RECHECK_INTERVAL", "1").open().await;
        desk.ask(&employee("1004").email, "I need a new laptop").await.assert_completed();
        assert_eq!(world.delete_vector_stores_of("laptop-refresh").await, 1);
        world.register_on(world.llama.url()).unwrap();
        // past the interval: the service lists the stores again
        tokio::time::sleep(Duration::from_millis(1500)).await;
        turn.mark();
        let exchange = desk.ask(&employee("1006").email, "I need a new laptop").await;
        exchange.assert_completed();
        let found = turn.seen();
        let found = found.only_result_of(VERSION.file_search_tool());
        assert!(found.text.contains("Laptop catalogue"), "{}", found.text);
    }

    #[tokio::test]
    async fn a_vector_store_deleted_for_good_fails_the_request_naming_its_knowledge_base() {
        let Some(world) = world(
            VERSION,
            "a_vector_store_deleted_for_good_fails_the_request_naming_its_knowledge_base",
        )
        .await
        else {
            return;
        };
        let _turn = world.turn(Script::laptop_refresh()).await;
        let desk = world.desk().env("VECTOR_STORE_RECHECK_INTERVAL", "1").open().await;
        desk.ask(&employee("1004").email, "I need a new laptop").await.assert_completed();
        assert_eq!(world.delete_vector_stores_of("laptop-refresh").await, 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let exchange = desk.ask(&employee("1006").email, "I need a new laptop").await;
        // the other tests find the knowledge base again
        world.register_on(world.llama.url()).unwrap();
        assert_failed_saying(
            &exchange,
            &["knowledge base 'laptop-refresh'", "register-assets"],
        );
    }

    #[tokio::test]
    async fn a_chain_the_server_does_not_know_is_begun_anew_and_the_request_answered() {
        let Some((next, seen, laptop_chain)) = bogus_chain(
            "a_chain_the_server_does_not_know_is_begun_anew_and_the_request_answered",
        )
        .await
        else {
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
            !shown.iter().any(|line| line.contains("I need a new laptop")),
            "{shown:#?}"
        );
    }

    #[tokio::test]
    async fn a_server_restarted_mid_stream_fails_the_request_without_a_hang() {
        let Some(run) = restart("a_server_restarted_mid_stream_fails_the_request_without_a_hang").await else {
            return;
        };
        assert_failed_saying(&run.cut, &["stream ended before response.completed"]);
    }

    #[tokio::test]
    async fn after_a_restart_with_fresh_state_the_session_goes_on_in_a_new_chain() {
        let Some(run) = restart(
            "after_a_restart_with_fresh_state_the_session_goes_on_in_a_new_chain",
        )
        .await
        else {
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
}
