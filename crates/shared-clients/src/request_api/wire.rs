//! The request API's answers, as they cross the wire: the service
//! serialises these types and the clients deserialise the same ones, so a
//! change on one side that the other does not follow fails to compile.
//! The contract is described in `docs/request-api.md`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Stored, waiting for a worker (asynchronous requests).
    Accepted,
    /// An agent is working on it.
    Processing,
    /// Answered.
    Completed,
    /// Ended without an answer; the reason is in `error`.
    Failed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Accepted => "accepted",
            RequestState::Processing => "processing",
            RequestState::Completed => "completed",
            RequestState::Failed => "failed",
        }
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer of `POST /api/v1/requests/{generic,cli,web}` (and of their
/// `/sync` aliases): the request with the agents' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub request_id: String,
    pub session_id: String,
    pub status: RequestState,
    pub response: AgentResponse,
}

/// The answer of `POST /api/v1/requests/{generic,cli,web}` with `Prefer:
/// respond-async`: the request is stored and queued; its outcome is read with `GET /api/v1/requests/{id}`
/// (and delivered to the user's channels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedResponse {
    pub request_id: String,
    pub session_id: String,
    pub status: RequestState,
}

/// What the answering agent said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResponse {
    pub content: String,
    /// The answering agent's name.
    pub agent_id: String,
    #[serde(default)]
    pub metadata: Value,
    #[serde(default)]
    pub processing_time_ms: i64,
    /// Whether the agent waits for the user (the Python system's field;
    /// this service's agents never set it).
    #[serde(default)]
    pub requires_followup: bool,
    /// What the user may do next (the Python system's field; empty here).
    #[serde(default)]
    pub followup_actions: Vec<String>,
}

impl AgentResponse {
    /// An answer without follow-up fields, as this service's agents give it.
    pub fn new(
        content: String,
        agent_id: String,
        metadata: Value,
        processing_time_ms: i64,
    ) -> Self {
        Self {
            content,
            agent_id,
            metadata,
            processing_time_ms,
            requires_followup: false,
            followup_actions: Vec::new(),
        }
    }
}

/// The answer of `GET /api/v1/requests/{request_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub request_id: String,
    pub session_id: String,
    pub status: RequestState,
    pub request_type: String,
    pub created_at: DateTime<FixedOffset>,
    pub completed_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<AgentResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `GET /api/v1/conversations`: one page of sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationsPage {
    pub sessions: Vec<Conversation>,
    /// Sessions on this page.
    pub count: usize,
    /// Sessions matching the filters, on every page.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// One session and, when asked for, its messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub session_id: String,
    pub user_id: String,
    /// The user's email, when the session knows it (`user_context.email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// The channel the session began on.
    pub integration_type: String,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub last_request_at: Option<DateTime<FixedOffset>>,
    pub total_requests: i64,
    pub current_agent_id: Option<String>,
    /// The response that answered last (the Responses API's chain).
    pub current_thread_id: Option<String>,
    /// The channels its messages came by (the session's own without messages).
    pub integration_types: Vec<String>,
    /// Its messages, oldest first (with `include_messages`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Vec<ConversationMessage>>,
}

/// One request of a conversation and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMessage {
    pub request_id: String,
    pub timestamp: DateTime<FixedOffset>,
    pub integration_type: String,
    pub user_message: String,
    pub agent_response: Option<String>,
    pub agent_id: Option<String>,
    pub thread_id: Option<String>,
    /// Where `thread_id` comes from: `session`, or `none`.
    pub thread_id_source: String,
    pub processing_time_ms: Option<i64>,
    pub completed_at: Option<DateTime<FixedOffset>>,
}

/// The events of a streamed answer (`Accept: text/event-stream` on the
/// synchronous routes), by SSE event name. Each carries JSON: `delta`
/// [`StreamDelta`], `handoff` [`StreamHandoff`], `tool_call`
/// [`StreamToolCall`], then one `done` with exactly the non-streamed
/// answer ([`SyncResponse`]) or one `error` with the error's JSON body.
pub mod stream_event {
    pub const DELTA: &str = "delta";
    pub const HANDOFF: &str = "handoff";
    pub const TOOL_CALL: &str = "tool_call";
    pub const DONE: &str = "done";
    pub const ERROR: &str = "error";
}

/// Text of the answer, as the model writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamDelta {
    pub text: String,
}

/// The conversation moved to another agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamHandoff {
    pub from: String,
    pub to: String,
}

/// A tool ran: its name only (its arguments may hold personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamToolCall {
    /// The MCP server's label; `None` for `file_search`.
    pub server: Option<String>,
    pub name: String,
}
