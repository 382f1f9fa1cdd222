//! One user message through the agents: into the user's ACTIVE session,
//! logged before any agent sees it, answered by the session's current agent
//! (a new session starts with the routing agent), following `ROUTE_TO:`
//! hand-offs, and stored completed or failed, never lost.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Value, json};
use shared_clients::llamastack::LlamaStackError;
use shared_db::entities::IntegrationType;

use crate::agents::ResolveError;
use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;
use crate::store::{self, Answer, NewRequest, Session};

/// A message to the agents, as the request API receives it.
#[derive(Debug, Clone)]
pub struct Message {
    pub user_id: String,
    pub integration: IntegrationType,
    pub request_type: String,
    pub content: String,
    pub metadata: Value,
}

/// The stored, answered request.
#[derive(Debug, Clone)]
pub struct Completed {
    pub request_id: String,
    pub session_id: String,
    pub content: String,
    pub agent: String,
    pub metadata: Value,
    pub processing_time_ms: i32,
}

/// Handles one message end to end. The work runs in a task of its own, so
/// a client that hangs up does not cancel it half-way: the request is
/// always stored as completed or failed.
pub async fn handle(state: AppState, message: Message) -> Result<Completed, ApiError> {
    tokio::spawn(async move { process(&state, message).await })
        .await
        .map_err(|error| {
            tracing::error!(%error, "request task ended abnormally");
            ApiError::Internal
        })?
}

async fn process(state: &AppState, message: Message) -> Result<Completed, ApiError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let request = NewRequest {
        request_id: &request_id,
        request_type: &message.request_type,
        content: &message.content,
        normalized: json!({
            "content": message.content,
            "integration_type": message.integration,
            "request_type": message.request_type,
            "metadata": message.metadata,
        }),
    };
    let logged =
        store::log_in_active_session(&state.db, &message.user_id, message.integration, &request)
            .await?;
    let session = match logged {
        Some(session) => session,
        None => {
            let session =
                store::active_session(&state.db, &message.user_id, message.integration).await?;
            store::log_request(&state.db, &session.session_id, &request).await?;
            session
        }
    };
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        state.config.request_timeout,
        converse(state, &session, &message.content),
    )
    .await;
    let elapsed_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match outcome {
        Ok(Ok(reply)) => {
            let metadata = json!({ "status": "completed", "agent_path": reply.path });
            store::complete_request(
                &state.db,
                Answer {
                    request_id: &request_id,
                    session_id: &session.session_id,
                    content: &reply.content,
                    agent: &reply.agent,
                    processing_time_ms: elapsed_ms,
                    metadata: metadata.clone(),
                    llama_stack_session_id: &reply.llama_session_id,
                    llama_stack_sessions: reply.used_sessions,
                },
            )
            .await?;
            Ok(Completed {
                request_id,
                session_id: session.session_id,
                content: reply.content,
                agent: reply.agent,
                metadata,
                processing_time_ms: elapsed_ms,
            })
        }
        Ok(Err(failure)) => {
            let reason = failure.reason.to_string();
            tracing::warn!(%request_id, agent = %failure.agent, %reason, "agent turn failed");
            let metadata = json!({ "status": "failed", "error": reason });
            store::fail_request(
                &state.db,
                &request_id,
                Some(&failure.agent),
                elapsed_ms,
                metadata,
            )
            .await?;
            Err(ApiError::AgentFailed {
                message: format!("the agent could not answer: {reason}"),
                request_id,
                session_id: session.session_id,
            })
        }
        Err(_) => {
            let reason = format!(
                "no answer within the request timeout of {}s",
                state.config.request_timeout.as_secs()
            );
            let metadata = json!({ "status": "failed", "error": reason });
            store::fail_request(&state.db, &request_id, None, elapsed_ms, metadata).await?;
            Err(ApiError::AgentTimeout {
                message: reason,
                request_id,
                session_id: session.session_id,
            })
        }
    }
}

struct Reply {
    content: String,
    agent: String,
    /// The agents that took part, in order (a hand-off adds one).
    path: Vec<String>,
    llama_session_id: String,
    /// `{agent name: {agent_id, session_id}}` of the agents used by this request.
    used_sessions: Value,
}

struct Failure {
    agent: String,
    reason: TurnError,
}

#[derive(Debug, thiserror::Error)]
enum TurnError {
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

async fn converse(state: &AppState, session: &Session, content: &str) -> Result<Reply, Failure> {
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
        let fail = |reason: TurnError| Failure {
            agent: agent.clone(),
            reason,
        };
        let (answer, agent_session) = turn(state, session, &agent, &mut known, content)
            .await
            .map_err(fail)?;
        used.insert(agent.clone(), json!(agent_session));
        known.insert(agent.clone(), agent_session.clone());
        let target = route_target(&answer).map(str::to_owned);
        let handoffs = u32::try_from(path.len() - 1).unwrap_or(u32::MAX);
        match target {
            Some(target) if target != agent && handoffs < state.config.max_agent_handoffs => {
                if state
                    .agents
                    .exists(&target)
                    .await
                    .map_err(|error| fail(error.into()))?
                {
                    tracing::info!(session_id = %session.session_id, from = %agent, to = %target, "hand-off");
                    agent = target;
                    continue;
                }
                tracing::warn!(session_id = %session.session_id, from = %agent, to = %target, "hand-off to an unknown agent");
                return Ok(Reply {
                    content: format!(
                        "Sorry, I cannot transfer you to '{target}': no such agent is available right now."
                    ),
                    agent,
                    path,
                    llama_session_id: agent_session.session_id,
                    used_sessions: Value::Object(used),
                });
            }
            _ => {
                return Ok(Reply {
                    content: answer,
                    agent,
                    path,
                    llama_session_id: agent_session.session_id,
                    used_sessions: Value::Object(used),
                });
            }
        }
    }
}

/// One turn on `agent`, in its LlamaStack session for this conversation
/// (opened on first use). A stale agent id (the agent was re-registered)
/// is resolved again once.
async fn turn(
    state: &AppState,
    session: &Session,
    agent: &str,
    known: &mut HashMap<String, AgentSession>,
    content: &str,
) -> Result<(String, AgentSession), TurnError> {
    let mut retried = false;
    loop {
        let agent_id = state.agents.resolve(agent).await?;
        let agent_session = match known.get(agent) {
            Some(existing) if existing.agent_id == agent_id => existing.clone(),
            _ => {
                let session_name = format!("{}/{agent}", session.session_id);
                match state.llama.create_session(&agent_id, &session_name).await {
                    Ok(session_id) => AgentSession {
                        agent_id: agent_id.clone(),
                        session_id,
                    },
                    Err(error) if is_stale(&error) && !retried => {
                        retried = true;
                        state.agents.forget(agent);
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        let started = Instant::now();
        let result = state
            .llama
            .run_turn(&agent_id, &agent_session.session_id, content)
            .await;
        metrics::record_turn(agent, started.elapsed(), result.is_ok());
        match result {
            Ok(answer) => return Ok((answer.content, agent_session)),
            Err(error) if is_stale(&error) && !retried => {
                retried = true;
                state.agents.forget(agent);
                known.remove(agent);
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// LlamaStack answers 400 (0.2.18) or 404 for an agent or session it does
/// not know.
fn is_stale(error: &LlamaStackError) -> bool {
    matches!(error.status(), Some(400 | 404))
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
