//! The process and HTTP contract of the binary: the bearer token, JSON-RPC
//! errors for bodies that are not JSON-RPC, bad settings, SIGTERM.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::mcp::{ServerProcess, call, python_or_skip, run_client};

const BINARY: &str = env!("CARGO_BIN_EXE_mcp-employee-info");
const TOKEN: &str = "tok-3f9a7c21e8d4b6";

fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;

#[test]
fn with_a_token_calls_need_it_and_health_stays_open() {
    let server =
        ServerProcess::start(BINARY.as_ref(), &[("MCP_AUTH_TOKEN", TOKEN)]).expect("starts");
    let url = format!("{}/mcp", server.base());
    let (status, body) = post(&url, &[], INITIALIZE);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized", "{body}");
    let (status, _) = post(
        &url,
        &[("authorization", "Bearer not-the-token")],
        INITIALIZE,
    );
    assert_eq!(status, 401);
    let (status, body) = post(
        &url,
        &[("authorization", &format!("Bearer {TOKEN}"))],
        INITIALIZE,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["serverInfo"]["name"], "mcp-employee-info",
        "{body}"
    );
    let health = reqwest::blocking::get(format!("{}/health", server.base())).expect("health");
    assert_eq!(health.status().as_u16(), 200);
}

#[test]
fn the_token_never_appears_in_the_log_even_at_trace() {
    let Some(python) = python_or_skip("the_token_never_appears_in_the_log_even_at_trace") else {
        return;
    };
    let server = ServerProcess::start(
        BINARY.as_ref(),
        &[("MCP_AUTH_TOKEN", TOKEN), ("RUST_LOG", "trace")],
    )
    .expect("starts");
    let url = format!("{}/sse", server.base());
    let bearer = format!("Bearer {TOKEN}");
    let entries = run_client(
        &python,
        &url,
        &[
            ("Authorization", &bearer),
            ("AUTHORITATIVE_USER_ID", "1001"),
        ],
        &[call("get_employee_laptop_info", json!({}))],
    )
    .expect("the client connects with the token");
    assert_eq!(entries[0]["isError"], false, "{}", entries[0]);
    let refused = run_client(&python, &url, &[("Authorization", "Bearer wrong")], &[]);
    assert!(
        refused.unwrap_err().contains("401"),
        "a wrong token is refused"
    );
    let log = server.log();
    assert!(log.lines().count() > 20, "trace logging is on:\n{log}");
    assert!(!log.contains(TOKEN), "the token is in the log");
}

#[test]
fn bodies_that_are_not_json_rpc_get_json_rpc_errors() {
    let server = ServerProcess::start(BINARY.as_ref(), &[]).expect("starts");
    let url = format!("{}/mcp", server.base());
    let table: [(&str, u16, i64); 5] = [
        ("{not json", 400, -32700),
        ("", 400, -32700),
        (r#"{"hello": "world"}"#, 400, -32600),
        (r#"{"jsonrpc": "2.0", "id": 7, "method": 42}"#, 400, -32600),
        (
            // rmcp reads params it cannot type as an unknown method
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"get_employee_laptop_info","arguments":"1001"}}"#,
            200,
            -32601,
        ),
    ];
    for (body, status, code) in table {
        let (got, answer) = post(&url, &[], body);
        assert_eq!(got, status, "{body:?}: {answer}");
        assert_eq!(answer["jsonrpc"], "2.0", "{body:?}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body:?}: {answer}");
    }
    let wrong_type = reqwest::blocking::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .body(INITIALIZE)
        .send()
        .expect("answer");
    assert!(wrong_type.status().is_client_error());
    let answer: Value = wrong_type.json().expect("a JSON body");
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
}

#[test]
fn bad_settings_exit_78_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("LISTEN_ADDR", "everywhere"),
        ("MCP_ALLOW_ANY_EMPLOYEE", "perhaps"),
        ("EMPLOYEE_DATA_FILE", "/nonexistent/employees.json"),
        ("SERVICENOW_INSTANCE_URL", "https://dev.example.com"),
    ] {
        let output = Command::new(BINARY)
            .env(var, value)
            .env_remove("RUST_LOG")
            .env_remove("LOG_FORMAT")
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(78), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("mcp-employee-info: error:") && last.contains(var),
            "{var}: {stderr}"
        );
    }
}

#[test]
fn sigterm_ends_the_server_with_exit_0() {
    let mut server = ServerProcess::start(BINARY.as_ref(), &[]).expect("starts");
    let status = server.terminate(Duration::from_secs(10)).expect("ends");
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(server.log().contains("shutting down"), "{}", server.log());
}

#[test]
fn an_unknown_path_is_a_json_404() {
    let server = ServerProcess::start(BINARY.as_ref(), &[]).expect("starts");
    let response = reqwest::blocking::get(format!("{}/nope", server.base())).expect("answer");
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().expect("JSON");
    assert!(
        body["detail"].as_str().unwrap_or_default().contains("/mcp"),
        "{body}"
    );
}

#[test]
fn allowed_hosts_refuse_other_host_headers_in_json() {
    let server = ServerProcess::start(
        BINARY.as_ref(),
        &[("MCP_ALLOWED_HOSTS", "employee-info.agents.svc")],
    )
    .expect("starts");
    let url = format!("{}/mcp", server.base());
    let (status, body) = post(&url, &[], INITIALIZE);
    assert!((400..500).contains(&status), "{status}: {body}");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    let (status, body) = post(&url, &[("host", "employee-info.agents.svc")], INITIALIZE);
    assert_eq!(status, 200, "{body}");
}
