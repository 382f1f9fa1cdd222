//! This server as an `mcp` tool of a real Responses call, on each server
//! version (LlamaStack 0.2.18, 0.7.3, OGX 1.5.0), at both endpoints
//! (`/sse`, as the Python system's assets have it, and `/mcp`): the
//! server lists the tool with its `employee_id` parameter, and the
//! tool acts for the user the request's `headers` name
//! (`AUTHORITATIVE_USER_ID`), whatever the model puts in its arguments.
//! The model is the OpenAI stub calling every tool it is offered
//! (`Script::CallTools`, which fills required parameters with the user's
//! message: 0.2.18 presents every MCP parameter as required, so there the
//! model names an employee too).

use std::sync::{Mutex, OnceLock, PoisonError};

use serde_json::{Value, json};
use test_support::llamastack::{RealLlamaStack, ServerVersion};
use test_support::mcp::ServerProcess;
use test_support::openai_stub::Script;

const TOOL: &str = "get_employee_laptop_info";

/// The server binary, shared by the tests (each test checks its own
/// requests in the log by the user it names).
fn server() -> &'static ServerProcess {
    static SERVER: OnceLock<ServerProcess> = OnceLock::new();
    SERVER.get_or_init(|| {
        ServerProcess::start(env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(), &[])
            .expect("mcp-employee-info starts")
    })
}

/// The real server of `version`, started with the others on first use;
/// `None` after a visible skip.
fn stack(version: ServerVersion, test: &str) -> Option<&'static RealLlamaStack> {
    if !RealLlamaStack::available_or_skip(version, &format!("{test} on {version}")) {
        return None;
    }
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let versions: Vec<ServerVersion> = ServerVersion::ALL
            .into_iter()
            .filter(|version| RealLlamaStack::available(*version))
            .collect();
        // side by side; each test reads its own below
        drop(RealLlamaStack::shared_all(&versions));
    });
    Some(RealLlamaStack::shared(version).expect("the real server starts"))
}

/// One non-streamed response of `version` with this server (at `path`)
/// as its only tool, `headers` in it, and `message` from the user.
fn respond(stack: &RealLlamaStack, path: &str, headers: Value, message: &str) -> Value {
    let mut tool = json!({
        "type": "mcp", "server_label": "employee-info",
        "server_url": server().url(path), "require_approval": "never",
    });
    if !headers.is_null() {
        tool["headers"] = headers;
    }
    let body = json!({
        "model": RealLlamaStack::LLM_MODEL,
        "input": [{"type": "message", "role": "user", "content": message}],
        "tools": [tool],
        "stream": false,
    });
    // the stub's script is one for every caller of this server
    static TURNS: Mutex<()> = Mutex::new(());
    let _turn = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    stack.stub().set_script(Script::CallTools);
    let response = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("client")
        .post(format!("{}/responses", stack.api_url()))
        .json(&body)
        .send()
        .expect("the server answers");
    stack.stub().set_script(Script::default());
    let status = response.status();
    let text = response.text().unwrap_or_default();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The output items of `response` of `kind`.
fn items<'a>(response: &'a Value, kind: &str) -> Vec<&'a Value> {
    response["output"]
        .as_array()
        .map(|output| output.iter().filter(|item| item["type"] == kind).collect())
        .unwrap_or_default()
}

/// Every check, for one server version.
fn the_tool_acts_for_the_user_in_the_headers(version: ServerVersion) {
    let test = "the_tool_acts_for_the_user_in_the_headers";
    let Some(stack) = stack(version, test) else {
        return;
    };
    for path in ["/sse", "/mcp"] {
        let alice = json!({"AUTHORITATIVE_USER_ID": "1001"});
        let answer = respond(stack, path, alice.clone(), "1001");
        let listed = items(&answer, "mcp_list_tools");
        assert_eq!(listed.len(), 1, "{path}: {answer:#}");
        let tool = &listed[0]["tools"][0];
        assert_eq!(tool["name"], TOOL, "{path}: {answer:#}");
        assert_eq!(
            tool["input_schema"]["properties"]["employee_id"]["type"], "string",
            "{path}: {tool:#}"
        );
        let calls = items(&answer, "mcp_call");
        assert_eq!(calls.len(), 1, "{path}: {answer:#}");
        let output = calls[0]["output"].as_str().unwrap_or_default();
        assert!(
            output.contains("Employee Name: Alice Johnson"),
            "{version} {path}: {answer:#}"
        );

        // the model names Bob: the tool still acts for Alice, or refuses
        let steered = respond(stack, path, alice, "1002");
        let calls = items(&steered, "mcp_call");
        assert_eq!(calls.len(), 1, "{path}: {steered:#}");
        // what the call answered, as the item or as the model was told it
        let said = steered.to_string();
        assert!(
            !said.contains("Bob Martinez"),
            "{version} {path}: {steered:#}"
        );
        assert!(
            said.contains("Alice Johnson") || said.contains("names someone other than"),
            "{version} {path}: {steered:#}"
        );
    }
    let log = server().log();
    assert!(
        !log.contains("identity not authoritative"),
        "every call carried the header:\n{log}"
    );
}

#[test]
fn the_tool_acts_for_the_user_in_the_headers_on_llamastack_0_2_18() {
    the_tool_acts_for_the_user_in_the_headers(ServerVersion::V0_2_18);
}

#[test]
fn the_tool_acts_for_the_user_in_the_headers_on_llamastack_0_7_3() {
    the_tool_acts_for_the_user_in_the_headers(ServerVersion::V0_7_3);
}

#[test]
fn the_tool_acts_for_the_user_in_the_headers_on_ogx_1_5() {
    the_tool_acts_for_the_user_in_the_headers(ServerVersion::Ogx1_5);
}
