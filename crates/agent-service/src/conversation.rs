//! One request's conversation with the agents: the session's current agent
//! (a new session starts with the routing agent) answers through the agent
//! runtime (`agent_runtime`), which hands the message on when an agent
//! transfers it. The session row keeps where each agent's response chain
//! stands (`conversation_context.responses`). Storing the outcome is the
//! queue's (`crate::queue`).
//!
//! Two messages are commands, answered without a model, as in the Python
//! system: `reset` ends the session, `**tokens**` tells the session's token
//! usage (`docs/request-api.md`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use agent_runtime::{Chains, Identity, ToolCallRecord, TurnError, TurnEvent, TurnRequest};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use serde_json::{Value, json};
use shared_clients::llamastack::Usage;
use shared_db::entities::{IntegrationType, SessionStatus};

use crate::metrics;
use crate::state::AppState;
use crate::store::{self, Session, SessionChanges};

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
    /// The response that answered (none for a command).
    pub response_id: Option<String>,
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
    pub reason: FailureReason,
    /// The response chains moved before the failure (kept for the next request).
    pub chains: Chains,
    pub usage: Usage,
    pub calls: u32,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum FailureReason {
    #[error(transparent)]
    Turn(#[from] TurnError),
    /// A command could not read or write the session (the details are
    /// logged, not stored).
    #[error("the '{0}' command could not be completed: the database did not answer")]
    Command(&'static str),
}

/// A message the service answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `reset` (any case, alone on the line): ends the session.
    Reset,
    /// `**tokens**`: the session's token usage.
    Tokens,
}

impl Command {
    pub fn parse(content: &str) -> Option<Self> {
        let line = content.trim();
        if line.eq_ignore_ascii_case("reset") {
            Some(Command::Reset)
        } else if line.eq_ignore_ascii_case("**tokens**") {
            Some(Command::Tokens)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::Reset => "reset",
            Command::Tokens => "**tokens**",
        }
    }
}

/// The answer to `reset`.
pub const RESET_ANSWER: &str =
    "Your conversation has been reset. Your next message starts a new conversation.";

/// Callers streaming the answer of a request run on this replica, by
/// request id: the worker tells them each event of its turn. A request run
/// by another replica streams only its final answer.
#[derive(Debug, Default)]
pub struct Listeners {
    by_request: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<TurnEvent>>>,
}

impl Listeners {
    /// Listens to `request_id`'s turn (before it is queued, so no event is
    /// missed). The events end when the turn does or [`Self::forget`] is
    /// called. Unbounded: a turn's events are bounded by its answer.
    pub fn listen(&self, request_id: &str) -> tokio::sync::mpsc::UnboundedReceiver<TurnEvent> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut listeners) = self.by_request.lock() {
            listeners.insert(request_id.to_owned(), sender);
        }
        receiver
    }

    pub fn forget(&self, request_id: &str) {
        if let Ok(mut listeners) = self.by_request.lock() {
            listeners.remove(request_id);
        }
    }

    fn sender(&self, request_id: &str) -> Option<tokio::sync::mpsc::UnboundedSender<TurnEvent>> {
        self.by_request.lock().ok()?.get(request_id).cloned()
    }
}

/// The session row's key for the response chains.
pub const CHAINS_KEY: &str = "responses";

/// Runs `job` through the agents, or answers it when it is a [`Command`].
pub async fn converse(state: &AppState, job: &Job) -> Result<Reply, Failure> {
    if let Some(command) = Command::parse(&job.content) {
        return answer_command(state, job, command).await;
    }
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
    let listener = state.listeners.sender(&job.request_id);
    let tell = |event: TurnEvent| {
        if let Some(listener) = &listener {
            // A caller that went away no longer listens; the turn goes on.
            let _ = listener.send(event);
        }
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
            events: listener
                .is_some()
                .then_some(&tell as &(dyn Fn(TurnEvent) + Send + Sync)),
        })
        .await;
    match outcome {
        Ok(outcome) => {
            metrics::record_turn(&outcome.agent, started.elapsed(), true);
            Ok(Reply {
                content: outcome.content,
                agent: outcome.agent,
                path: outcome.path,
                response_id: Some(outcome.response_id),
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
                reason: failure.error.into(),
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

/// Answers a command. The answering agent stays the session's (the routing
/// agent for a session without one), so the next message goes where the
/// conversation was.
async fn answer_command(state: &AppState, job: &Job, command: Command) -> Result<Reply, Failure> {
    let session = &job.session;
    let agent = session
        .current_agent_id
        .clone()
        .unwrap_or_else(|| state.runtime.catalog().routing_agent().to_owned());
    let answered = match command {
        Command::Reset => end_session(state, session).await,
        Command::Tokens => session_usage(&state.db, &session.session_id)
            .await
            .map(|usage| usage.answer()),
    };
    match answered {
        Ok(content) => Ok(Reply {
            content,
            agent: agent.clone(),
            path: vec![agent],
            response_id: None,
            chains: Chains::default(),
            usage: Usage::default(),
            calls: 0,
            tool_calls: Vec::new(),
        }),
        Err(error) => {
            tracing::warn!(request_id = %job.request_id, command = command.name(), %error, "command failed");
            Err(Failure {
                agent,
                reason: FailureReason::Command(command.name()),
                chains: Chains::default(),
                usage: Usage::default(),
                calls: 0,
            })
        }
    }
}

/// `reset`: the session becomes INACTIVE; the user's next message opens a
/// new one.
async fn end_session(state: &AppState, session: &Session) -> Result<String, DbErr> {
    let changes = SessionChanges {
        status: Some(SessionStatus::Inactive),
        ..SessionChanges::default()
    };
    store::update_session(&state.db, session, changes).await?;
    Ok(RESET_ANSWER.to_owned())
}

/// A session's token usage: the sums of its requests' recorded `usage`
/// (`response_metadata.usage`), and the largest single request's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct SessionUsage {
    pub input: i64,
    pub output: i64,
    pub total: i64,
    pub calls: i64,
    pub max_input: i64,
    pub max_output: i64,
    pub max_total: i64,
}

impl SessionUsage {
    /// The line the Python CLI client parses, then a sentence for people.
    pub fn answer(&self) -> String {
        let line = format!(
            "TOKEN_SUMMARY:INPUT:{}:OUTPUT:{}:TOTAL:{}:CALLS:{}:MAX_SINGLE_INPUT:{}:MAX_SINGLE_OUTPUT:{}:MAX_SINGLE_TOTAL:{}",
            self.input,
            self.output,
            self.total,
            self.calls,
            self.max_input,
            self.max_output,
            self.max_total
        );
        let sentence = if self.calls > 0 && self.total == 0 {
            format!(
                "This conversation made {} model calls, but the model server reported no token usage (LlamaStack 0.2.18 reports none), so its tokens count as 0.",
                self.calls
            )
        } else {
            format!(
                "This conversation used {} tokens ({} input, {} output) over {} model calls; its largest request used {}.",
                self.total, self.input, self.output, self.calls, self.max_total
            )
        };
        format!("{line}\n{sentence}")
    }
}

/// Sums the recorded usage of the session's requests. A count that is not
/// a whole number counts as 0.
pub async fn session_usage<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<SessionUsage, DbErr> {
    const FIELDS: [(&str, &str); 4] = [
        ("input", "input_tokens"),
        ("output", "output_tokens"),
        ("total", "total_tokens"),
        ("calls", "calls"),
    ];
    let count = |field: &str| {
        format!(
            "CASE WHEN jsonb_typeof(usage -> '{field}') = 'number' \
               AND (usage ->> '{field}') ~ '^[0-9]{{1,15}}$' \
             THEN (usage ->> '{field}')::bigint ELSE 0 END"
        )
    };
    let mut columns = Vec::new();
    for (name, field) in FIELDS {
        columns.push(format!(
            "COALESCE(SUM({}), 0)::bigint AS {name}",
            count(field)
        ));
        if name != "calls" {
            columns.push(format!(
                "COALESCE(MAX({}), 0)::bigint AS max_{name}",
                count(field)
            ));
        }
    }
    let sql = format!(
        "SELECT {} FROM (SELECT response_metadata::jsonb -> 'usage' AS usage \
           FROM request_logs WHERE session_id = $1 AND response_metadata IS NOT NULL) AS recorded",
        columns.join(", ")
    );
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, [session_id.into()]);
    Ok(SessionUsage::find_by_statement(statement)
        .one(db)
        .await?
        .unwrap_or_default())
}
