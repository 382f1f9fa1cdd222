//! `POST <base>/responses`: the request body.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A request of the Responses API. `None` fields and empty `tools` are left
/// out of the body; the client always streams (`stream: true` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateResponse {
    /// A listed model id (`vllm/x`): 0.7.3 and OGX accept nothing else
    /// ([`resolve_model`](super::super::resolve_model)).
    pub model: String,
    /// Sent as a system message; servers do not carry it into a chained
    /// turn, so it is sent on every turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// This turn's items (a bare string reads as one user message).
    #[serde(deserialize_with = "input_items")]
    pub input: Vec<InputItem>,
    /// The response this one continues: the server replays that chain's
    /// input and output to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// LlamaStack's bound on model/tool rounds within one response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_infer_iters: Option<u32>,
    /// `auto`, `required`, `none` (0.2.18 ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default = "stored_by_default")]
    pub store: bool,
}

fn stored_by_default() -> bool {
    true
}

impl CreateResponse {
    /// A stored request for `model` with `input` and nothing else.
    pub fn new(model: impl Into<String>, input: Vec<InputItem>) -> Self {
        Self {
            model: model.into(),
            instructions: None,
            input,
            previous_response_id: None,
            tools: Vec::new(),
            temperature: None,
            top_p: None,
            max_output_tokens: None,
            max_infer_iters: None,
            tool_choice: None,
            stream: false,
            store: true,
        }
    }

    /// The MCP tools, in request order.
    pub fn mcp_tools(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tools.iter().filter_map(|tool| match tool {
            Tool::Mcp {
                server_label,
                server_url,
                ..
            } => Some((server_label.as_str(), server_url.as_str())),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// One input item, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    Message {
        role: Role,
        /// Text; a list of `input_text`/`output_text` parts reads as their text.
        #[serde(deserialize_with = "text_of")]
        content: String,
    },
    /// The result of a `function_call` the previous response asked for.
    FunctionCallOutput { call_id: String, output: String },
}

impl InputItem {
    pub fn user(text: impl Into<String>) -> Self {
        InputItem::Message {
            role: Role::User,
            content: text.into(),
        }
    }

    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        InputItem::FunctionCallOutput {
            call_id: call_id.into(),
            output: output.into(),
        }
    }
}

/// A tool offered to the model, tagged by `type`. The `headers` and the
/// `authorization` of an MCP tool (identity, tokens) never show in `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tool {
    /// Tools of an MCP server the LlamaStack server calls itself, with
    /// `headers` on every HTTP request it makes to it.
    Mcp {
        server_label: String,
        server_url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// The MCP server's access token, without `Bearer `: 0.7.3 and OGX
        /// send it as `Authorization: Bearer <token>` and refuse an
        /// `Authorization` in `headers` (400); 0.2.18 ignores this field and
        /// knows only `headers`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorization: Option<String>,
        #[serde(default = "never")]
        require_approval: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allowed_tools: Option<Vec<String>>,
    },
    /// Search of vector stores (`knowledge_search` on 0.2.18).
    FileSearch { vector_store_ids: Vec<String> },
    /// A tool the caller runs: the response ends with a `function_call`.
    /// 0.2.18 refuses one without `description` (always sent).
    Function {
        name: String,
        #[serde(default)]
        description: String,
        parameters: Value,
    },
}

fn never() -> String {
    "never".to_owned()
}

impl Tool {
    /// An MCP tool that never asks for approval.
    pub fn mcp(
        server_label: impl Into<String>,
        server_url: impl Into<String>,
        headers: BTreeMap<String, String>,
    ) -> Self {
        Tool::Mcp {
            server_label: server_label.into(),
            server_url: server_url.into(),
            headers,
            authorization: None,
            require_approval: never(),
            allowed_tools: None,
        }
    }

    pub fn file_search(vector_store_ids: Vec<String>) -> Self {
        Tool::FileSearch { vector_store_ids }
    }

    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool::Function {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tool::Mcp {
                server_label,
                server_url,
                headers,
                authorization,
                require_approval,
                allowed_tools,
            } => {
                let redacted: BTreeMap<&str, &str> = headers
                    .keys()
                    .map(|name| (name.as_str(), "<redacted>"))
                    .collect();
                f.debug_struct("Mcp")
                    .field("server_label", server_label)
                    .field("server_url", &redacted_url(server_url))
                    .field("headers", &redacted)
                    .field(
                        "authorization",
                        &authorization.as_ref().map(|_| "<redacted>"),
                    )
                    .field("require_approval", require_approval)
                    .field("allowed_tools", allowed_tools)
                    .finish()
            }
            Tool::FileSearch { vector_store_ids } => f
                .debug_struct("FileSearch")
                .field("vector_store_ids", vector_store_ids)
                .finish(),
            Tool::Function {
                name,
                description,
                parameters,
            } => f
                .debug_struct("Function")
                .field("name", name)
                .field("description", description)
                .field("parameters", parameters)
                .finish(),
        }
    }
}

/// `url` without user information, query or fragment (where credentials
/// hide); `None` when it is not a URL.
pub(crate) fn redacted_url(url: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(url).ok()?;
    // An http(s) URL takes both; others are left without them below.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// A string, or a list of content parts (`{type: input_text, text}`), as text.
fn text_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(super::content_text(&Value::deserialize(deserializer)?))
}

/// A list of items, or a bare string as one user message.
fn input_items<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<InputItem>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Input {
        Text(String),
        Items(Vec<InputItem>),
    }
    Ok(match Input::deserialize(deserializer)? {
        Input::Text(text) => vec![InputItem::user(text)],
        Input::Items(items) => items,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_leaves_out_what_it_does_not_set() {
        let request = CreateResponse::new("vllm/llm", vec![InputItem::user("hi")]);
        assert_eq!(
            serde_json::to_value(&request).expect("serializable"),
            json!({"model": "vllm/llm", "input": [{"type": "message", "role": "user", "content": "hi"}],
                   "stream": false, "store": true})
        );
    }

    #[test]
    fn tools_serialize_as_the_servers_read_them() {
        let headers = BTreeMap::from([(
            "AUTHORITATIVE_USER_ID".to_owned(),
            "alice@example.com".to_owned(),
        )]);
        let mut info = Tool::mcp("info", "http://info:8000/mcp", BTreeMap::new());
        if let Tool::Mcp { authorization, .. } = &mut info {
            *authorization = Some("t0ken".into());
        }
        let tools = vec![
            Tool::mcp("snow", "http://snow:8000/mcp", headers),
            info,
            Tool::file_search(vec!["vs_1".into()]),
            Tool::function(
                "transfer_to_laptop-refresh",
                "Hand over",
                json!({"type": "object", "properties": {}}),
            ),
        ];
        assert_eq!(
            serde_json::to_value(&tools).expect("serializable"),
            json!([
                {"type": "mcp", "server_label": "snow", "server_url": "http://snow:8000/mcp",
                 "headers": {"AUTHORITATIVE_USER_ID": "alice@example.com"}, "require_approval": "never"},
                {"type": "mcp", "server_label": "info", "server_url": "http://info:8000/mcp",
                 "authorization": "t0ken", "require_approval": "never"},
                {"type": "file_search", "vector_store_ids": ["vs_1"]},
                {"type": "function", "name": "transfer_to_laptop-refresh", "description": "Hand over",
                 "parameters": {"type": "object", "properties": {}}}
            ])
        );
    }

    #[test]
    fn header_values_and_url_credentials_never_show_in_debug() {
        let headers = BTreeMap::from([("X-Token".to_owned(), "s3cr3t-token".to_owned())]);
        let mut request = CreateResponse::new("m", vec![InputItem::user("hi")]);
        let mut tool = Tool::mcp("snow", "http://user:pw@snow:8000/mcp?key=k1", headers);
        if let Tool::Mcp { authorization, .. } = &mut tool {
            *authorization = Some("access-t0ken".into());
        }
        request.tools = vec![tool];
        let debug = format!("{request:?}");
        assert!(debug.contains("X-Token"), "{debug}");
        for secret in ["s3cr3t-token", "pw@", "key=k1", "access-t0ken"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn the_real_servers_input_shapes_read_back() {
        let request: CreateResponse = serde_json::from_value(json!({
            "model": "stub-llm", "input": "ping"
        }))
        .expect("string input");
        assert_eq!(request.input, vec![InputItem::user("ping")]);
        assert!(request.store && !request.stream);
        let items: Vec<InputItem> = serde_json::from_value(json!([
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a", "annotations": []}]},
            {"type": "function_call_output", "call_id": "call_1", "output": "{}"}
        ]))
        .expect("items");
        assert_eq!(
            items,
            vec![
                InputItem::Message {
                    role: Role::Assistant,
                    content: "a".into()
                },
                InputItem::function_call_output("call_1", "{}"),
            ]
        );
    }
}
