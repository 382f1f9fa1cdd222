//! The laptop refresh journey end to end on real parts (`journey/mod.rs`),
//! on each server version: the project's asset directory (its MCP servers
//! pointed at both MCP server binaries), its knowledge base registered by
//! `register-assets`, the service binary in front; only the model is
//! scripted (the OpenAI stub's `Script`). A demo employee asks for a new
//! laptop through `generic/sync`: the routing agent hands the request over
//! with a `transfer_to_laptop-refresh` call, the laptop agent calls the
//! MCP tools and searches the knowledge base, and the answer carries the
//! ticket number.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

mod common;
mod journey;

use journey::{
    Desk, Employee, Exchange, PROJECT_ON_EVERY_SERVER, PerServer, Seen, World, Worlds, cell_of,
    employee, once, per_server, project_assets, ticket_number,
};
use serde_json::{Value, json};
use test_support::llamastack::ServerVersion;
use test_support::openai_stub::Script;
use test_support::openai_stub::script::{
    GET_EMPLOYEE_LAPTOP_INFO, OPEN_LAPTOP_REFRESH_TICKET, TRANSFER_TO_LAPTOP_REFRESH,
    TRANSFER_TO_ROUTING_AGENT,
};

const GET_LAPTOP_REFRESH_TICKETS: &str = "get_laptop_refresh_tickets";

static WORLDS: Worlds = Worlds::new();

/// The world of `version` for this test binary, or `None` after a visible
/// skip.
async fn world(version: ServerVersion, test: &str) -> Option<&'static World> {
    World::get(&WORLDS, &PROJECT_ON_EVERY_SERVER, version, test).await
}

/// Alice asks for a new laptop; the model follows the journey.
fn alice() -> Employee {
    employee("1001")
}

/// A conversation of Alice's: a new laptop, a question about it, then
/// "that's all".
#[derive(Debug, Clone)]
struct Conversation {
    first: Exchange,
    first_seen: Seen,
    /// The session's response chains after the first request.
    chains_after_first: Value,
    second: Exchange,
    second_seen: Seen,
    chains_after_second: Value,
    last: Exchange,
    last_seen: Seen,
}

async fn alices_conversation(world: &'static World) -> Conversation {
    let user = alice().email;
    let mut turn = world.turn(Script::laptop_refresh()).await;
    let desk = world.desk().open().await;
    let first = desk.ask(&user, "I need a new laptop").await;
    let first_seen = turn.seen();
    let chains_after_first =
        desk.conversation_context(first.session_id()).await["responses"].clone();
    turn.mark();
    let second = desk.ask(&user, "When will it arrive?").await;
    let second_seen = turn.seen();
    let chains_after_second =
        desk.conversation_context(first.session_id()).await["responses"].clone();
    turn.mark();
    let last = desk.ask(&user, "Thanks, that's all").await;
    let last_seen = turn.seen();
    Conversation {
        first,
        first_seen,
        chains_after_first,
        second,
        second_seen,
        chains_after_second,
        last,
        last_seen,
    }
}

/// Carmen asks for a new laptop; the model was talked into acting for
/// employee 1002 (Bob).
async fn injected_request(world: &'static World) -> (Exchange, Seen) {
    let mut turn = world.turn(Script::laptop_refresh_for("1002")).await;
    let desk = world.desk().open().await;
    turn.mark();
    let exchange = desk
        .ask(&employee("1003").email, "I need a new laptop")
        .await;
    (exchange, turn.seen())
}

/// Every MCP request of `seen` carried `user` as the identity and the MCP
/// servers' token, each once; both servers were called.
fn assert_every_mcp_request_is_for(seen: &Seen, user: &str, token: &str) {
    assert!(
        !seen.employee_info.is_empty(),
        "employee-info was never called"
    );
    assert!(!seen.snow.is_empty(), "snow was never called");
    let bearer = format!("Bearer {token}");
    for (server, head) in seen.mcp_requests() {
        assert_eq!(
            head.values("authoritative_user_id"),
            [user],
            "{server}: {} {}: {:?}",
            head.method,
            head.path,
            head.headers
        );
        assert_eq!(
            head.values("authorization"),
            [bearer.as_str()],
            "{server}: {} {}",
            head.method,
            head.path
        );
    }
}

/// Each of `wanted` is in a line of `shown`, in this order.
fn assert_in_order(shown: &[String], wanted: &[&str]) {
    let mut from = 0;
    for part in wanted {
        let at = shown[from..]
            .iter()
            .position(|line| line.contains(part))
            .unwrap_or_else(|| panic!("{part:?} not shown to the model (in order): {shown:#?}"));
        from += at + 1;
    }
}

/// The prompt of the laptop agent, as the project writes it.
fn laptop_prompt() -> String {
    std::fs::read_to_string(project_assets().join("prompts/laptop-refresh.txt")).unwrap()
}

async fn a_changed_prompt(world: &'static World) -> (Seen, Seen, String) {
    let user = employee("1006").email;
    let marker = format!("Reloaded instructions {}.", std::process::id());
    let mut turn = world.turn(Script::laptop_refresh()).await;
    let desk: Desk = world.desk().open().await;
    turn.mark();
    desk.ask(&user, "I need a new laptop")
        .await
        .assert_completed();
    let before = turn.seen();
    let reloads = desk.reloads();
    journey::assets::append(
        desk.assets(),
        "prompts/laptop-refresh.txt",
        &format!("\n{marker}\n"),
    );
    desk.until_reloaded(reloads).await;
    turn.mark();
    desk.ask(&user, "When will it arrive?")
        .await
        .assert_completed();
    (before, turn.seen(), marker)
}

static CONVERSATIONS: PerServer<Conversation> = per_server();
static INJECTED: PerServer<(Exchange, Seen)> = per_server();

async fn conversation(version: ServerVersion, test: &str) -> Option<&'static Conversation> {
    let world = world(version, test).await?;
    Some(once(cell_of(&CONVERSATIONS, version), alices_conversation(world)).await)
}

async fn injected(
    version: ServerVersion,
    test: &str,
) -> Option<(&'static World, &'static (Exchange, Seen))> {
    let world = world(version, test).await?;
    let run = once(cell_of(&INJECTED, version), injected_request(world)).await;
    Some((world, run))
}

on_every_server!(
    a_laptop_request_is_handed_over_by_a_transfer_call,
    the_answer_quotes_the_ticket_the_snow_server_opened,
    the_laptop_agent_is_offered_both_mcp_servers_the_knowledge_base_and_the_way_back,
    the_knowledge_base_search_brings_the_catalogue_to_the_model,
    the_employee_info_server_answers_for_the_caller_when_the_model_names_no_one,
    the_snow_server_files_the_ticket_under_the_caller,
    every_mcp_request_carries_the_callers_identity_and_no_other,
    the_tool_calls_and_the_token_usage_are_stored_with_the_answer,
    a_second_request_continues_the_laptop_agents_chain,
    that_is_all_hands_the_user_back_to_the_routing_agent,
    an_employee_id_injected_into_the_tool_calls_is_refused_by_both_mcp_servers,
    no_ticket_is_opened_for_the_employee_an_injection_names,
    a_wrong_mcp_token_fails_the_request_which_is_stored_failed,
    a_changed_prompt_is_sent_from_the_next_turn_on,
);

async fn a_laptop_request_is_handed_over_by_a_transfer_call(version: ServerVersion, test: &str) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    run.first.assert_completed();
    assert_eq!(
        run.first.answer["response"]["metadata"]["agent_path"],
        json!(["routing-agent", "laptop-refresh"]),
        "{}",
        run.first.answer
    );
    assert_eq!(run.first.answer["response"]["agent_id"], "laptop-refresh");
    assert_eq!(
        run.first_seen.calls_of(TRANSFER_TO_LAPTOP_REFRESH).len(),
        1,
        "{:#?}",
        run.first_seen.chats
    );
}

async fn the_answer_quotes_the_ticket_the_snow_server_opened(version: ServerVersion, test: &str) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let ticket = run.first_seen.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text)
        .unwrap_or_else(|| panic!("no ticket number in the tool result: {}", ticket.text));
    assert!(number.starts_with("REQ"), "{number}");
    assert!(
        run.first.content().contains(number),
        "the answer does not quote {number}: {}",
        run.first.content()
    );
}

async fn the_laptop_agent_is_offered_both_mcp_servers_the_knowledge_base_and_the_way_back(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let mut expected = vec![
        GET_EMPLOYEE_LAPTOP_INFO,
        GET_LAPTOP_REFRESH_TICKETS,
        OPEN_LAPTOP_REFRESH_TICKET,
        TRANSFER_TO_ROUTING_AGENT,
        version.file_search_tool(),
    ];
    expected.sort();
    assert_eq!(
        run.first_seen.offered_with(OPEN_LAPTOP_REFRESH_TICKET),
        expected
    );
    assert_eq!(
        run.first_seen.offered_with(TRANSFER_TO_LAPTOP_REFRESH),
        [TRANSFER_TO_LAPTOP_REFRESH],
        "the routing agent has the hand-off only"
    );
}

async fn the_knowledge_base_search_brings_the_catalogue_to_the_model(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let found = run.first_seen.only_result_of(version.file_search_tool());
    assert!(found.text.contains("Laptop catalogue"), "{}", found.text);
}

async fn the_employee_info_server_answers_for_the_caller_when_the_model_names_no_one(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let info = run.first_seen.only_result_of(GET_EMPLOYEE_LAPTOP_INFO);
    assert_eq!(info.arguments["employee_id"], "", "{info:?}");
    assert!(
        info.text
            .contains(&format!("Employee Email: {}", alice().email)),
        "{}",
        info.text
    );
}

async fn the_snow_server_files_the_ticket_under_the_caller(version: ServerVersion, test: &str) {
    let Some(python) = test_support::mcp::python_or_skip(test) else {
        return;
    };
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let world = world(version, test).await.unwrap();
    let ticket = run.first_seen.only_result_of(OPEN_LAPTOP_REFRESH_TICKET);
    let number = ticket_number(&ticket.text).unwrap_or_else(|| panic!("{}", ticket.text));
    let listed = tokio::task::spawn_blocking(move || world.open_tickets(&python, &alice().email))
        .await
        .unwrap();
    assert!(
        listed.contains(number) && listed.contains(&alice().name),
        "{listed}"
    );
}

async fn every_mcp_request_carries_the_callers_identity_and_no_other(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let world = world(version, test).await.unwrap();
    assert_every_mcp_request_is_for(&run.first_seen, &alice().email, &world.token);
}

async fn the_tool_calls_and_the_token_usage_are_stored_with_the_answer(
    version: ServerVersion,
    test: &str,
) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    let metadata = &run.first.stored["response"]["metadata"];
    let calls = metadata["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{:#}", run.first.stored));
    for (server, name) in [
        (json!("employee-info"), GET_EMPLOYEE_LAPTOP_INFO),
        (json!("snow"), OPEN_LAPTOP_REFRESH_TICKET),
        (Value::Null, "file_search"),
    ] {
        assert!(
            calls.contains(&json!({"agent": "laptop-refresh", "server": server, "name": name})),
            "{name}: {calls:#?}"
        );
    }
    let usage = &metadata["usage"];
    assert!(usage["calls"].as_u64().unwrap_or(0) >= 2, "{usage}");
    if version == ServerVersion::V0_2_18 {
        // 0.2.18 reports no usage (docs/llamastack.md)
        assert_eq!(usage["total_tokens"], 0, "{usage}");
    } else {
        assert!(usage["input_tokens"].as_u64().unwrap_or(0) > 0, "{usage}");
        assert!(usage["output_tokens"].as_u64().unwrap_or(0) > 0, "{usage}");
    }
}

async fn a_second_request_continues_the_laptop_agents_chain(version: ServerVersion, test: &str) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    run.second.assert_completed();
    assert_eq!(run.second.session_id(), run.first.session_id());
    assert_eq!(run.second.answer["response"]["agent_id"], "laptop-refresh");
    assert_eq!(
        run.second.answer["response"]["metadata"]["agent_path"],
        json!(["laptop-refresh"])
    );
    let conversations = run.second_seen.conversations();
    let shown = conversations
        .first()
        .unwrap_or_else(|| panic!("no completion"));
    if version == ServerVersion::V0_2_18 {
        // 0.2.18 cannot chain after a response with MCP output
        // (docs/llamastack.md): a new chain, told where the conversation was
        assert!(
            shown
                .iter()
                .any(|line| line.contains("was last with the laptop-refresh agent")),
            "{shown:#?}"
        );
        assert!(
            !shown
                .iter()
                .any(|line| line.contains("I need a new laptop")),
            "{shown:#?}"
        );
    } else {
        // the model was shown the first request's turn before the question
        assert_in_order(
            shown,
            &[
                "user: I need a new laptop",
                run.first.content(),
                "user: When will it arrive?",
            ],
        );
    }
    // the laptop agent's chain moved on; the routing agent's stayed
    let (before, after) = (&run.chains_after_first, &run.chains_after_second);
    assert!(before["laptop-refresh"].is_string(), "{before}");
    assert_ne!(before["laptop-refresh"], after["laptop-refresh"], "{after}");
    assert_eq!(before["routing-agent"], after["routing-agent"], "{after}");
}

async fn that_is_all_hands_the_user_back_to_the_routing_agent(version: ServerVersion, test: &str) {
    let Some(run) = conversation(version, test).await else {
        return;
    };
    run.last.assert_completed();
    assert_eq!(
        run.last.answer["response"]["metadata"]["agent_path"],
        json!(["laptop-refresh", "routing-agent"]),
        "{}",
        run.last.answer
    );
    assert_eq!(run.last_seen.calls_of(TRANSFER_TO_ROUTING_AGENT).len(), 1);
    // the routing agent went on with its own chain of the first request
    let conversations = run.last_seen.conversations();
    let routing = conversations
        .iter()
        .rfind(|shown| {
            shown
                .iter()
                .any(|line| line.starts_with("system:") && line.contains("routing agent"))
        })
        .unwrap_or_else(|| panic!("the routing agent was not asked: {conversations:#?}"));
    assert_in_order(
        routing,
        &["user: I need a new laptop", "user: Thanks, that's all"],
    );
}

async fn an_employee_id_injected_into_the_tool_calls_is_refused_by_both_mcp_servers(
    version: ServerVersion,
    test: &str,
) {
    let Some((_, (_, seen))) = injected(version, test).await else {
        return;
    };
    for tool in [GET_EMPLOYEE_LAPTOP_INFO, OPEN_LAPTOP_REFRESH_TICKET] {
        let result = seen.only_result_of(tool);
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

async fn no_ticket_is_opened_for_the_employee_an_injection_names(
    version: ServerVersion,
    test: &str,
) {
    let Some(python) = test_support::mcp::python_or_skip(test) else {
        return;
    };
    let Some((world, (_, seen))) = injected(version, test).await else {
        return;
    };
    assert_eq!(
        seen.calls_of(OPEN_LAPTOP_REFRESH_TICKET).len(),
        1,
        "the model tried to open a ticket for 1002: {:#?}",
        seen.chats
    );
    let listed =
        tokio::task::spawn_blocking(move || world.open_tickets(&python, &employee("1002").email))
            .await
            .unwrap();
    assert!(
        listed.contains("has no open laptop refresh tickets"),
        "{listed}"
    );
}

async fn a_wrong_mcp_token_fails_the_request_which_is_stored_failed(
    version: ServerVersion,
    test: &str,
) {
    let Some(world) = world(version, test).await else {
        return;
    };
    let _turn = world.turn(Script::laptop_refresh()).await;
    let desk = world.desk().token("not-the-mcp-token").open().await;
    let exchange = desk
        .ask(&employee("1004").email, "I need a new laptop")
        .await;
    let reason = exchange.assert_failed();
    // the laptop agent failed at its MCP servers, not somewhere else
    assert!(
        reason.contains("MCP server") && reason.contains("'laptop-refresh'"),
        "{reason}"
    );
    assert!(
        !reason.contains("not-the-mcp-token"),
        "the token is never quoted: {reason}"
    );
}

async fn a_changed_prompt_is_sent_from_the_next_turn_on(version: ServerVersion, test: &str) {
    let Some(world) = world(version, test).await else {
        return;
    };
    let (before, after, marker) = a_changed_prompt(world).await;
    let prompt = laptop_prompt();
    let prompt_start = prompt.lines().next().unwrap();
    let laptop_prompts = |seen: &Seen| -> Vec<String> {
        seen.system_messages()
            .into_iter()
            .filter(|system| system.contains(prompt_start))
            .collect()
    };
    let old = laptop_prompts(&before);
    assert!(!old.is_empty(), "{:#?}", before.conversations());
    assert!(old.iter().all(|system| !system.contains(&marker)));
    let new = laptop_prompts(&after);
    assert!(!new.is_empty(), "{:#?}", after.conversations());
    assert!(
        new.iter().all(|system| system.contains(&marker)),
        "{new:#?}"
    );
}
