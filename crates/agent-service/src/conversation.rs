//! One request's conversation with the agents: the session's current agent
//! (a new session starts with the routing agent) answers in its LlamaStack
//! session for this conversation, and a `ROUTE_TO: <agent>` reply hands the
//! same message on. Every turn carries the caller's identity to the agent's
//! MCP servers, and a new LlamaStack session starts by telling the agent
//! who the user is. Storing the outcome is the queue's (`crate::queue`).

use std::collections::HashMap;
use std::time::Instant;

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use shared_clients::llamastack::LlamaStackError;
use shared_db::entities::IntegrationType;

use crate::agents::{ResolveError, ResolvedAgent};
use crate::metrics;
use crate::queue::sql;
use crate::state::AppState;
use crate::store::Session;

/// The header MCP servers read the authenticated user from (the name the
/// newer Python MCP servers read, so mixed deployments work).
pub const IDENTITY_HEADER: &str = "AUTHORITATIVE_USER_ID";

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
    pub llama_session_id: String,
    /// `{agent name: {agent_id, session_id}}` of the agents used.
    pub used_sessions: Value,
}

/// Why the agents could not answer, and which agent failed.
#[derive(Debug)]
pub struct Failure {
    pub agent: String,
    pub reason: TurnError,
    /// LlamaStack sessions opened before the failure (kept for the next request).
    pub used_sessions: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    LlamaStack(#[from] LlamaStackError),
}

/// A LlamaStack session of one agent, remembered in the session row's
/// `conversation_context.llama_stack_sessions`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AgentSession {
    agent_id: String,
    session_id: String,
}

/// Runs `job` through the agents.
pub async fn converse(state: &AppState, job: &Job) -> Result<Reply, Failure> {
    let session = &job.session;
    let mut known: HashMap<String, AgentSession> = session
        .conversation_context
        .as_ref()
        .and_then(|context| context.get("llama_stack_sessions"))
        .and_then(|sessions| serde_json::from_value(sessions.clone()).ok())
        .unwrap_or_default();
    let mut used = serde_json::Map::new();
    let mut agent = session
        .current_agent_id
        .clone()
        .unwrap_or_else(|| state.config.routing_agent.clone());
    let mut path = Vec::new();
    loop {
        path.push(agent.clone());
        let fail = |reason: TurnError, used: &serde_json::Map<String, Value>| Failure {
            agent: agent.clone(),
            reason,
            used_sessions: Value::Object(used.clone()),
        };
        let (answer, agent_session) = turn(state, job, &agent, &mut known, &mut used)
            .await
            .map_err(|reason| fail(reason, &used))?;
        let target = route_target(&answer).map(str::to_owned);
        let handoffs = u32::try_from(path.len() - 1).unwrap_or(u32::MAX);
        let reply = |content: String, agent: String, path: Vec<String>| Reply {
            content,
            agent,
            path,
            llama_session_id: agent_session.session_id.clone(),
            used_sessions: Value::Object(used.clone()),
        };
        match target {
            Some(target) if target != agent && handoffs < state.config.max_agent_handoffs => {
                if state
                    .agents
                    .exists(&target)
                    .await
                    .map_err(|error| fail(error.into(), &used))?
                {
                    tracing::info!(session_id = %session.session_id, from = %agent, to = %target, "hand-off");
                    agent = target;
                    continue;
                }
                tracing::warn!(session_id = %session.session_id, from = %agent, to = %target, "hand-off to an unknown agent");
                let content = format!(
                    "Sorry, I cannot transfer you to '{target}': no such agent is available right now."
                );
                return Ok(reply(content, agent, path));
            }
            _ => return Ok(reply(answer, agent, path)),
        }
    }
}

/// One turn on `agent`, in its LlamaStack session for this conversation
/// (opened on first use, and remembered at once). A stale agent id (the
/// agent was re-registered) is resolved again once.
async fn turn(
    state: &AppState,
    job: &Job,
    agent: &str,
    known: &mut HashMap<String, AgentSession>,
    used: &mut serde_json::Map<String, Value>,
) -> Result<(String, AgentSession), TurnError> {
    let session = &job.session;
    let mut retried = false;
    loop {
        let resolved = state.agents.resolve(agent).await?;
        let (agent_session, opened) = match known.get(agent) {
            Some(existing) if existing.agent_id == resolved.id => (existing.clone(), false),
            _ => {
                let session_name = format!("{}/{agent}", session.session_id);
                match state
                    .llama
                    .create_session(&resolved.id, &session_name)
                    .await
                {
                    Ok(session_id) => {
                        let opened = AgentSession {
                            agent_id: resolved.id.clone(),
                            session_id,
                        };
                        remember(state, job, agent, &opened).await;
                        (opened, true)
                    }
                    Err(error) if is_stale(&error) && !retried => {
                        retried = true;
                        state.agents.forget(agent);
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        known.insert(agent.to_owned(), agent_session.clone());
        used.insert(agent.to_owned(), json!(agent_session));
        let context = opened.then(|| who_is_asking(session));
        let messages: Vec<&str> = context
            .as_deref()
            .into_iter()
            .chain(std::iter::once(job.content.as_str()))
            .collect();
        let provider_data = provider_data(state, session, &resolved);
        let started = Instant::now();
        let result = state
            .llama
            .run_turn_with(
                &resolved.id,
                &agent_session.session_id,
                &messages,
                provider_data.as_ref(),
            )
            .await;
        metrics::record_turn(agent, started.elapsed(), result.is_ok());
        match result {
            Ok(answer) => return Ok((answer.content, agent_session)),
            Err(error) if is_stale(&error) && !retried => {
                retried = true;
                state.agents.forget(agent);
                known.remove(agent);
                used.remove(agent);
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Records a newly opened LlamaStack session in the session row, so that
/// the conversation keeps it even if this request dies mid-turn. A failure
/// here costs only a second LlamaStack session later.
async fn remember(state: &AppState, job: &Job, agent: &str, opened: &AgentSession) {
    let sessions = json!({ agent: opened });
    if let Err(error) = sql::remember_llama_session(
        &state.db,
        &job.session.session_id,
        &job.request_id,
        state.workers.id(),
        sessions,
    )
    .await
    {
        tracing::warn!(request_id = %job.request_id, %error, "could not record the new LlamaStack session yet");
    }
}

/// The first message of a new LlamaStack session: who the user is, from
/// the authenticated identity, so the agent never asks for it.
fn who_is_asking(session: &Session) -> String {
    let email = session
        .user_context
        .as_ref()
        .and_then(|context| context.get("email"))
        .and_then(Value::as_str)
        .or_else(|| {
            session
                .user_id
                .contains('@')
                .then_some(session.user_id.as_str())
        });
    let mut text = format!(
        "[Context from the self-service system, not typed by the user] The user is \
         authenticated as '{}'",
        session.user_id
    );
    if let Some(email) = email {
        text.push_str(&format!(", email {email}"));
    }
    text.push_str(
        ". Tools act for this user automatically: do not ask for an employee id or email; \
         never act for anyone else.",
    );
    text
}

/// `{"mcp_headers": {<uri>: {AUTHORITATIVE_USER_ID, Authorization?}}}` for
/// each MCP toolgroup of the agent.
fn provider_data(state: &AppState, session: &Session, agent: &ResolvedAgent) -> Option<Value> {
    if agent.mcp_uris.is_empty() {
        return None;
    }
    let mut headers = json!({ IDENTITY_HEADER: session.user_id });
    if let Some(token) = &state.config.mcp_auth_token {
        headers["Authorization"] = json!(format!("Bearer {}", token.expose_secret()));
    }
    let mcp_headers: serde_json::Map<String, Value> = agent
        .mcp_uris
        .iter()
        .map(|uri| (uri.clone(), headers.clone()))
        .collect();
    Some(json!({ "mcp_headers": mcp_headers }))
}

/// LlamaStack answers 400 (0.2.18) or 404 for an agent or session it does
/// not know; for a turn, in the error event of a stream that answered 200
/// (an agent replaced by `register-assets` while the service ran).
fn is_stale(error: &LlamaStackError) -> bool {
    matches!(error.reported_status(), Some(400 | 404))
}

/// The agent named by a `ROUTE_TO: <agent>` line, brackets and quotes removed.
pub fn route_target(reply: &str) -> Option<&str> {
    let start = reply.find("ROUTE_TO:")? + "ROUTE_TO:".len();
    let token = reply[start..].split_whitespace().next()?;
    let token = token.trim_matches(|c: char| "[]\"'`*.,;:()".contains(c));
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::route_target;

    #[test]
    fn a_route_line_names_its_target() {
        assert_eq!(
            route_target("ROUTE_TO: laptop-refresh"),
            Some("laptop-refresh")
        );
        assert_eq!(
            route_target("Sure!\nROUTE_TO: [laptop-refresh]."),
            Some("laptop-refresh")
        );
        assert_eq!(
            route_target("ROUTE_TO:`EMAIL_CHANGE_AGENT`"),
            Some("EMAIL_CHANGE_AGENT")
        );
    }

    #[test]
    fn a_reply_without_a_route_line_stays_with_the_agent() {
        assert_eq!(route_target("Hello, I am the routing agent."), None);
        assert_eq!(route_target("ROUTE_TO:   "), None);
    }
}
