//! One request's conversation with the agents: the session's current agent
//! (a new session starts with the routing agent) answers through the agent
//! runtime (`agent_runtime`), which hands the message on when an agent
//! transfers it. The session row keeps where each agent's response chain
//! stands (`conversation_context.responses`). Storing the outcome is the
//! queue's (`crate::queue`).

use std::time::Instant;

use agent_runtime::{Chains, Identity, ToolCallRecord, TurnError, TurnRequest};
use serde_json::{Value, json};
use shared_clients::llamastack::Usage;
use shared_db::entities::IntegrationType;

use crate::metrics;
use crate::state::AppState;
use crate::store::Session;

pub use agent_runtime::IDENTITY_HEADER;
/// A message to the agents, as the request API receives it.
#[derive(Debug, Clone)]
pub struct Message {
    pub user_id: String,
    pub integration: IntegrationType,
    pub request_type: String,
    pub content: String,
    /// Stored with the request; `reply_to` in it asks for the answer to be
    /// delivered into the conversation the message came from.
    pub metadata: Value,
    /// The inbound event it answers, deduplicated on `id`.
    pub event: Option<InboundEvent>,
}

/// An inbound event (a Slack `event_id`): a second one with the same id
/// queues nothing.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    pub id: String,
    pub kind: String,
    pub source: String,
}

/// A request a worker runs: its id, its content and its session as the
/// worker found it.
#[derive(Debug, Clone)]
pub struct Job {
    pub request_id: String,
    pub content: String,
    pub session: Session,
}

/// What the agents answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub content: String,
    pub agent: String,
    /// The agents that took part, in order (a hand-off adds one).
    pub path: Vec<String>,
    /// The response that answered.
    pub response_id: String,
    /// The response chains this request moved, by agent.
    pub chains: Chains,
    pub usage: Usage,
    /// Responses calls made.
    pub calls: u32,
    pub tool_calls: Vec<ToolCallRecord>,
}

/// Why the agents could not answer, and which agent failed.
#[derive(Debug)]
pub struct Failure {
    pub agent: String,
    pub reason: TurnError,
    /// The response chains moved before the failure (kept for the next request).
    pub chains: Chains,
    pub usage: Usage,
    pub calls: u32,
}

/// The session row's key for the response chains.
pub const CHAINS_KEY: &str = "responses";

/// Runs `job` through the agents.
pub async fn converse(state: &AppState, job: &Job) -> Result<Reply, Failure> {
    let session = &job.session;
    let context = session.conversation_context.as_ref();
    let chains: Chains = context
        .and_then(|context| context.get(CHAINS_KEY))
        .and_then(|chains| serde_json::from_value(chains.clone()).ok())
        .unwrap_or_default();
    // A session with an agent already had turns: when its agent has no
    // chain (lost, or begun before the Responses runtime), the new chain
    // says where the conversation was.
    let resumed = session.current_agent_id.is_some()
        || context.is_some_and(|context| context.get("llama_stack_sessions").is_some());
    let identity = Identity {
        user_id: session.user_id.clone(),
        email: session
            .user_context
            .as_ref()
            .and_then(|context| context.get("email"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let started = Instant::now();
    let outcome = state
        .runtime
        .turn(TurnRequest {
            identity: &identity,
            message: &job.content,
            agent: session.current_agent_id.as_deref(),
            chains: &chains,
            resumed,
            events: None,
        })
        .await;
    match outcome {
        Ok(outcome) => {
            metrics::record_turn(&outcome.agent, started.elapsed(), true);
            Ok(Reply {
                content: outcome.content,
                agent: outcome.agent,
                path: outcome.path,
                response_id: outcome.response_id,
                chains: outcome.chains,
                usage: outcome.usage,
                calls: outcome.calls,
                tool_calls: outcome.tool_calls,
            })
        }
        Err(failure) => {
            metrics::record_turn(&failure.agent, started.elapsed(), false);
            Err(Failure {
                agent: failure.agent,
                reason: failure.error,
                chains: failure.chains,
                usage: failure.usage,
                calls: failure.calls,
            })
        }
    }
}

/// `usage` of a stored answer: the Responses API's token counts summed
/// over the request's calls.
pub fn usage_json(usage: &Usage, calls: u32) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "calls": calls,
    })
}
