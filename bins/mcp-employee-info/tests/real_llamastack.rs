//! The real LlamaStack 0.2.18 with this server as a toolgroup: it lists the
//! tool with parameter types its `ToolParameter` accepts (uri ending in
//! `/sse`, as the Python system's assets have it, and in `/mcp`), and
//! `POST /v1/tool-runtime/invoke` passes the `mcp_headers` of
//! `X-LlamaStack-Provider-Data` on to the server (the
//! `AUTHORITATIVE_USER_ID` it names is the one the tool acts for).

use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::mcp::ServerProcess;

const TOOL: &str = "get_employee_laptop_info";

struct Api {
    http: reqwest::blocking::Client,
    base: String,
}

impl Api {
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let response = request.send().expect("LlamaStack answers");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn register(&self, toolgroup: &str, uri: &str) {
        let (status, body) = self.send(
            self.http
                .post(format!("{}/v1/toolgroups", self.base))
                .json(&json!({
                    "toolgroup_id": toolgroup, "provider_id": "model-context-protocol",
                    "mcp_endpoint": {"uri": uri}, "args": {},
                })),
        );
        assert_eq!(status, 200, "{body}");
    }

    fn tools(&self, toolgroup: &str) -> Value {
        let (status, body) = self.send(
            self.http
                .get(format!("{}/v1/tools?toolgroup_id={toolgroup}", self.base)),
        );
        assert_eq!(status, 200, "{body}");
        body
    }

    fn invoke(&self, uri: &str, user: Option<&str>, kwargs: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/v1/tool-runtime/invoke", self.base))
            .json(&json!({"tool_name": TOOL, "kwargs": kwargs}));
        if let Some(user) = user {
            let provider_data = json!({"mcp_headers": {uri: {"AUTHORITATIVE_USER_ID": user}}});
            request = request.header("X-LlamaStack-Provider-Data", provider_data.to_string());
        }
        let (status, body) = self.send(request);
        assert_eq!(status, 200, "{body}");
        body
    }

    fn unregister(&self, toolgroup: &str) {
        let (status, body) = self.send(
            self.http
                .delete(format!("{}/v1/toolgroups/{toolgroup}", self.base)),
        );
        assert!(status < 300, "{status}: {body}");
    }
}

fn text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn llamastack_lists_the_tool_and_invokes_it_for_the_user_in_mcp_headers() {
    if !RealLlamaStack::available_or_skip(
        "llamastack_lists_the_tool_and_invokes_it_for_the_user_in_mcp_headers",
    ) {
        return;
    }
    let stack = RealLlamaStack::shared().expect("real LlamaStack starts");
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_mcp-employee-info").as_ref(), &[])
        .expect("starts");
    let api = Api {
        http: reqwest::blocking::Client::new(),
        base: stack.url().to_owned(),
    };
    let run = std::process::id();
    for path in ["/sse", "/mcp"] {
        let toolgroup = format!("mcp::employee-info-{}-{run}", path.trim_start_matches('/'));
        let uri = format!("{}{path}", server.base());
        api.register(&toolgroup, &uri);
        let tools = api.tools(&toolgroup);
        let tool = &tools["data"][0];
        assert_eq!(tool["identifier"], TOOL, "{path}: {tools}");
        assert_eq!(tool["parameters"][0]["name"], "employee_id", "{tools}");
        assert_eq!(tool["parameters"][0]["parameter_type"], "string", "{tools}");
        assert!(
            tool["parameters"][0]["description"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Optional"),
            "{tools}"
        );

        let answer = api.invoke(&uri, Some("1001"), json!({}));
        assert_eq!(answer["error_code"], 0, "{path}: {answer}");
        assert!(
            text(&answer).contains("Employee Name: Alice Johnson"),
            "{path}: {answer}"
        );

        let refused = api.invoke(&uri, Some("1001"), json!({"employee_id": "1002"}));
        assert_eq!(refused["error_code"], 1, "{path}: {refused}");
        assert!(
            text(&refused).contains("authenticated user"),
            "{path}: {refused}"
        );

        let anonymous = api.invoke(&uri, None, json!({"employee_id": "1003"}));
        assert!(
            text(&anonymous).contains("Carmen Ruiz"),
            "{path}: {anonymous}"
        );
        api.unregister(&toolgroup);
    }
    let log = server.log();
    let warnings = log
        .lines()
        .filter(|line| line.contains("identity not authoritative"))
        .count();
    assert_eq!(
        warnings, 2,
        "only the calls without mcp_headers lacked the header:\n{log}"
    );
}
