//! Agents, their sessions, and turns streamed as server-sent events.

use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::agent_config::{Agent, AgentConfig, newest_named};
use super::client::{ApiPath, LlamaStackClient, describe};
use super::error::{LlamaStackError, snippet};
use super::types::{AgentIdAnswer, DataList, SessionIdAnswer, TurnAnswer};

/// The header carrying LlamaStack's per-request provider data.
pub const PROVIDER_DATA_HEADER: &str = "x-llamastack-provider-data";

impl LlamaStackClient {
    /// `GET /v1/agents`: every agent with its stored configuration.
    pub async fn list_agents(&self) -> Result<Vec<Agent>, LlamaStackError> {
        Ok(self.get::<DataList<Agent>>("/v1/agents").await?.into_data())
    }

    /// The id of the newest agent named `name` (several may exist), if any.
    pub async fn find_agent_id(&self, name: &str) -> Result<Option<String>, LlamaStackError> {
        let agents = self.list_agents().await?;
        Ok(newest_named(&agents, name).map(|agent| agent.agent_id.clone()))
    }

    /// `GET /v1/agents/{id}`.
    pub async fn get_agent(&self, agent_id: &str) -> Result<Agent, LlamaStackError> {
        self.get(ApiPath::new("/v1/agents").id(agent_id)).await
    }

    /// `POST /v1/agents` `{"agent_config": ...}` → the new agent's id.
    pub async fn create_agent(&self, config: &AgentConfig) -> Result<String, LlamaStackError> {
        let answer: AgentIdAnswer = self
            .post("/v1/agents", &json!({ "agent_config": config }))
            .await?;
        Ok(answer.agent_id)
    }

    /// `DELETE /v1/agents/{id}` (its sessions go with it).
    pub async fn delete_agent(&self, agent_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/agents").id(agent_id)).await
    }

    /// `POST /v1/agents/{id}/session` → the new session's id.
    pub async fn create_session(
        &self,
        agent_id: &str,
        session_name: &str,
    ) -> Result<String, LlamaStackError> {
        let answer: SessionIdAnswer = self
            .post(
                ApiPath::new("/v1/agents").id(agent_id).then("session"),
                &json!({ "session_name": session_name }),
            )
            .await?;
        Ok(answer.session_id)
    }

    /// Runs one turn with a user message and returns the agent's final
    /// answer. LlamaStack 0.2.18 only streams turns: the events are read
    /// until `turn_complete`; an in-stream `{"error": ...}` (sent with HTTP
    /// 200) and a stream that ends early are errors.
    pub async fn run_turn(
        &self,
        agent_id: &str,
        session_id: &str,
        user_message: &str,
    ) -> Result<TurnAnswer, LlamaStackError> {
        self.run_turn_with(agent_id, session_id, &[user_message], None)
            .await
    }

    /// [`run_turn`](Self::run_turn) with several user messages (context
    /// first, say) and LlamaStack's per-request provider data, sent as the
    /// `X-LlamaStack-Provider-Data` header (e.g. `{"mcp_headers": {"<MCP
    /// uri>": {"<header>": "<value>"}}}`: headers for the MCP servers the
    /// turn calls). The provider data may hold secrets: it is never logged.
    pub async fn run_turn_with(
        &self,
        agent_id: &str,
        session_id: &str,
        user_messages: &[&str],
        provider_data: Option<&Value>,
    ) -> Result<TurnAnswer, LlamaStackError> {
        let path = ApiPath::new("/v1/agents")
            .id(agent_id)
            .then("session")
            .id(session_id)
            .then("turn");
        let messages: Vec<Value> = user_messages
            .iter()
            .map(|content| json!({"role": "user", "content": content}))
            .collect();
        let body = json!({"messages": messages, "stream": true});
        let headers =
            match provider_data {
                Some(data) => {
                    let mut value = reqwest::header::HeaderValue::from_str(&data.to_string())
                        .map_err(|_| LlamaStackError::Decode {
                            method: "POST".into(),
                            path: path.to_string(),
                            reason: "provider data is not a valid header value".into(),
                        })?;
                    value.set_sensitive(true);
                    vec![(PROVIDER_DATA_HEADER, value)]
                }
                None => Vec::new(),
            };
        let response = self.post_raw_with(&path, &body, &headers).await?;
        let mut events = response.bytes_stream().eventsource();
        let incomplete = |reason: String| LlamaStackError::TurnIncomplete {
            agent_id: agent_id.to_owned(),
            reason,
        };
        while let Some(event) = events.next().await {
            let event = event.map_err(|error| incomplete(describe(&error)))?;
            let data = event.data.trim();
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            let value: Value =
                serde_json::from_str(data).map_err(|error| LlamaStackError::Decode {
                    method: "POST".into(),
                    path: path.to_string(),
                    reason: format!("event is not JSON ({error}): {}", snippet(data)),
                })?;
            match interpret(&value) {
                Event::Progress => {}
                Event::Error(message) => {
                    return Err(LlamaStackError::TurnFailed {
                        agent_id: agent_id.to_owned(),
                        message: snippet(&message),
                    });
                }
                Event::AwaitingInput => {
                    return Err(incomplete(
                        "the agent waits for client tool results (turn_awaiting_input)".into(),
                    ));
                }
                Event::Complete(answer) => return Ok(answer),
            }
        }
        Err(incomplete(
            "the event stream ended before turn_complete".into(),
        ))
    }
}

enum Event {
    Progress,
    Error(String),
    AwaitingInput,
    Complete(TurnAnswer),
}

fn interpret(value: &Value) -> Event {
    if let Some(error) = value.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| snippet(&error.to_string()));
        return Event::Error(message);
    }
    let payload = &value["event"]["payload"];
    match payload["event_type"].as_str() {
        Some("turn_complete") => {
            let turn = &payload["turn"];
            let message = &turn["output_message"];
            Event::Complete(TurnAnswer {
                turn_id: turn["turn_id"].as_str().map(str::to_owned),
                content: content_text(&message["content"]),
                stop_reason: message["stop_reason"].as_str().map(str::to_owned),
            })
        }
        Some("turn_awaiting_input") => Event::AwaitingInput,
        _ => Event::Progress,
    }
}

/// The text of a message's content, in LlamaStack and OpenAI messages alike:
/// a string, a `{type: "text", text}` item, or a list of items.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(content_text).collect::<Vec<_>>().join(""),
        Value::Object(item) => item
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_text_comes_from_turn_complete() {
        let event = json!({"event": {"payload": {
            "event_type": "turn_complete",
            "turn": {"turn_id": "t1", "output_message": {"role": "assistant", "content": "ROUTE_TO: laptop-refresh", "stop_reason": "end_of_turn"}}
        }}});
        let Event::Complete(answer) = interpret(&event) else {
            panic!("turn_complete is the end");
        };
        assert_eq!(answer.content, "ROUTE_TO: laptop-refresh");
        assert_eq!(answer.turn_id.as_deref(), Some("t1"));
    }

    #[test]
    fn content_items_are_joined() {
        let content =
            json!([{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]);
        assert_eq!(content_text(&content), "Hello, world");
    }

    #[test]
    fn an_error_event_carries_its_message() {
        let event = json!({"error": {"message": "model overloaded", "status_code": 500}});
        assert!(
            matches!(interpret(&event), Event::Error(message) if message == "model overloaded")
        );
    }
}
