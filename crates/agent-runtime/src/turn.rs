//! One user message through the agents: the current agent answers in one
//! streamed Responses call; a hand-off runs the same message on the next
//! agent. Failures the server reports about its own state (a lost response
//! chain, a replaced vector store, a model list that changed) are repaired
//! once; everything else ends the turn with a [`TurnError`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use asset_manager::AgentAsset;
use secrecy::SecretString;
use shared_clients::llamastack::{
    CreateResponse, InputItem, LlamaStackClient, LlamaStackError, OutputItem, ResponseObject,
    ResponsesFailure, Role, SamplingStrategy, StreamEvent, Usage,
};

use crate::catalog::Catalog;
use crate::chain::Chains;
use crate::error::TurnError;
use crate::server::ServerCache;
use crate::tools;

/// What the runtime needs besides the agents.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Hand-offs one message may take (`MAX_AGENT_HANDOFFS`).
    pub max_handoffs: u32,
    /// The MCP servers' bearer token (`MCP_AUTH_TOKEN`), sent in every MCP
    /// tool's `headers`.
    pub mcp_auth_token: Option<SecretString>,
    /// How long the knowledge bases' vector stores, once listed, are used
    /// before they are listed again.
    pub vector_store_recheck: Duration,
}

impl RuntimeSettings {
    /// The defaults of the service's settings.
    pub const DEFAULT_VECTOR_STORE_RECHECK: Duration = Duration::from_secs(10);
}

/// The agents, and the client that runs them. Shared by every worker.
pub struct Runtime {
    client: LlamaStackClient,
    catalog: RwLock<Arc<Catalog>>,
    settings: RuntimeSettings,
    server: ServerCache,
}

/// Who is asking: the authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub email: Option<String>,
}

/// Something a turn did, as it happens (for streaming answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// Text of the answer.
    Delta(String),
    /// The conversation moved to another agent.
    Handoff { from: String, to: String },
    /// A tool ran (its name only: arguments may hold personal data).
    ToolCall {
        server: Option<String>,
        name: String,
    },
}

/// A message for the agents.
pub struct TurnRequest<'a> {
    pub identity: &'a Identity,
    pub message: &'a str,
    /// The session's current agent (`None`, or one no longer in the
    /// directory: the routing agent).
    pub agent: Option<&'a str>,
    /// Where the session's chains stand.
    pub chains: &'a Chains,
    /// The session had turns before: a new chain says so.
    pub resumed: bool,
    /// Told of every [`TurnEvent`].
    pub events: Option<&'a (dyn Fn(TurnEvent) + Send + Sync)>,
}

/// A tool the agents called during the turn.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCallRecord {
    pub agent: String,
    /// The MCP server's label; `None` for `file_search` and functions.
    pub server: Option<String>,
    pub name: String,
}

/// The answer to a message.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    pub content: String,
    /// The agent that answered (the session's agent from now on).
    pub agent: String,
    /// The agents that took part, in order.
    pub path: Vec<String>,
    /// The chains this turn moved (merge them into the stored ones).
    pub chains: Chains,
    /// The id of the response that answered.
    pub response_id: String,
    /// Tokens of every Responses call of the turn (zeros where the server
    /// reports none).
    pub usage: Usage,
    /// Responses calls made.
    pub calls: u32,
    pub tool_calls: Vec<ToolCallRecord>,
}

/// Why the message got no answer, with what the turn did before.
#[derive(Debug)]
pub struct TurnFailure {
    /// The agent that failed.
    pub agent: String,
    pub error: TurnError,
    /// The chains moved before the failure (keep them).
    pub chains: Chains,
    pub usage: Usage,
    pub calls: u32,
}

/// What one turn accumulates across calls.
struct Progress {
    chains: Chains,
    changed: Chains,
    usage: Usage,
    calls: u32,
    tool_calls: Vec<ToolCallRecord>,
}

impl Progress {
    fn record(&mut self, agent: &str, response: &ResponseObject) {
        self.chains.advance(agent, &response.id);
        self.changed.advance(agent, &response.id);
        self.calls += 1;
        if let Some(usage) = &response.usage {
            self.usage.input_tokens += usage.input_tokens;
            self.usage.output_tokens += usage.output_tokens;
            self.usage.total_tokens += usage.total_tokens;
        }
        for call in response.tool_calls() {
            self.tool_calls.push(ToolCallRecord {
                agent: agent.to_owned(),
                server: call.server_label,
                name: call.name,
            });
        }
    }

    fn forget(&mut self, agent: &str) {
        self.chains.forget(agent);
        self.changed.forget(agent);
    }
}

/// A function call of a response that the next request must answer.
struct PendingCall {
    call_id: String,
    output: String,
}

impl Runtime {
    pub fn new(client: LlamaStackClient, catalog: Catalog, settings: RuntimeSettings) -> Self {
        Self {
            client,
            catalog: RwLock::new(Arc::new(catalog)),
            server: ServerCache::new(settings.vector_store_recheck),
            settings,
        }
    }

    /// The agents in force (a turn keeps the ones it started with).
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(catalog) => catalog.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the agents: turns that start from now on use `catalog`.
    pub fn replace_catalog(&self, catalog: Catalog) {
        let catalog = Arc::new(catalog);
        match self.catalog.write() {
            Ok(mut slot) => *slot = catalog,
            Err(poisoned) => *poisoned.into_inner() = catalog,
        }
    }

    pub fn client(&self) -> &LlamaStackClient {
        &self.client
    }

    /// Answers `request.message`.
    pub async fn turn(&self, request: TurnRequest<'_>) -> Result<TurnOutcome, TurnFailure> {
        let catalog = self.catalog();
        let mut progress = Progress {
            chains: request.chains.clone(),
            changed: Chains::default(),
            usage: Usage::default(),
            calls: 0,
            tool_calls: Vec::new(),
        };
        let mut agent_name = match request.agent {
            Some(name) if catalog.agent(name).is_some() => name.to_owned(),
            Some(name) => {
                tracing::info!(agent = %name, "the session's agent left the asset directory; the routing agent takes over");
                catalog.routing_agent().to_owned()
            }
            None => catalog.routing_agent().to_owned(),
        };
        let mut path = Vec::new();
        let mut pending: Option<PendingCall> = None;
        let mut answering = tokio::task::JoinSet::new();
        // Hand-offs and answered stray calls together: every step makes a
        // model call, so this bounds the turn.
        let mut steps = 0u32;
        let outcome = loop {
            let Some(agent) = catalog.agent(&agent_name) else {
                break Err(TurnError::UnknownAgent(agent_name.clone()));
            };
            if path.last() != Some(&agent_name) {
                path.push(agent_name.clone());
            }
            let input = match pending.take() {
                Some(call) => vec![InputItem::FunctionCallOutput {
                    call_id: call.call_id,
                    output: call.output,
                }],
                None => Vec::new(),
            };
            let response = match self
                .respond(&catalog, agent, &request, &mut progress, input)
                .await
            {
                Ok(response) => response,
                Err(error) => break Err(error),
            };
            let call = response.output.iter().find_map(|item| match item {
                OutputItem::FunctionCall(call) => Some((&call.call_id, &call.name)),
                _ => None,
            });
            let text = response.output_text();
            let handoffs = u32::try_from(path.len() - 1).unwrap_or(u32::MAX);
            let may_hand_off = handoffs < self.settings.max_handoffs;
            steps += 1;
            if let Some((call_id, function)) = call {
                let target = catalog.handoff_target(agent, function);
                match target {
                    Some(target) if may_hand_off && target != agent_name => {
                        self.answer_handoff(
                            &catalog,
                            agent,
                            (&response.id, call_id),
                            target,
                            &mut answering,
                        )
                        .await;
                        self.tell(
                            &request,
                            TurnEvent::Handoff {
                                from: agent_name.clone(),
                                to: target.to_owned(),
                            },
                        );
                        tracing::info!(from = %agent_name, to = %target, "hand-off");
                        agent_name = target.to_owned();
                        continue;
                    }
                    _ if steps <= self.settings.max_handoffs + 2 => {
                        // Not a hand-off this agent may make now: the model
                        // is told, and answers the user itself.
                        let output = match target {
                            Some(_) => {
                                "The transfer is not possible right now: answer the user yourself."
                                    .to_owned()
                            }
                            None => format!(
                                "There is no tool named '{function}'. Answer the user with the tools you have."
                            ),
                        };
                        tracing::warn!(agent = %agent_name, %function, "a function call the agent may not make now");
                        pending = Some(PendingCall {
                            call_id: call_id.clone(),
                            output,
                        });
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some(target) = route_target(&text).map(str::to_owned)
                && target != agent_name
                && may_hand_off
            {
                if catalog.agent(&target).is_some() {
                    self.tell(
                        &request,
                        TurnEvent::Handoff {
                            from: agent_name.clone(),
                            to: target.clone(),
                        },
                    );
                    tracing::info!(from = %agent_name, to = %target, "hand-off (ROUTE_TO)");
                    agent_name = target;
                    continue;
                }
                tracing::warn!(from = %agent_name, to = %target, "hand-off to an unknown agent");
                break Ok((
                    format!(
                        "Sorry, I cannot transfer you to '{target}': no such agent is available right now."
                    ),
                    response.id,
                ));
            }
            break Ok((text, response.id));
        };
        // The answers to hand-off calls: their responses end the old
        // agents' chains; one that failed leaves its chain to start anew.
        while let Some(joined) = answering.join_next().await {
            match joined {
                Ok((agent, Ok(response))) => progress.record(&agent, &response),
                Ok((agent, Err(error))) => {
                    tracing::warn!(%agent, %error, "could not answer the hand-off call; the agent's next turn starts a new chain");
                    progress.forget(&agent);
                }
                Err(error) => tracing::warn!(%error, "the hand-off answer task failed"),
            }
        }
        match outcome {
            Ok((content, response_id)) => Ok(TurnOutcome {
                content,
                agent: agent_name,
                path,
                chains: progress.changed,
                response_id,
                usage: progress.usage,
                calls: progress.calls,
                tool_calls: progress.tool_calls,
            }),
            Err(error) => Err(TurnFailure {
                agent: agent_name,
                error,
                chains: progress.changed,
                usage: progress.usage,
                calls: progress.calls,
            }),
        }
    }

    fn tell(&self, request: &TurnRequest<'_>, event: TurnEvent) {
        if let Some(events) = request.events {
            events(event);
        }
    }

    /// One Responses call on `agent`, continuing its chain. `input` holds
    /// the answer to the agent's last function call, if any; the user's
    /// message follows unless it does. Repairs, once each: a chain the
    /// server lost (a new chain, told who is asking), a vector store or a
    /// model it no longer knows (looked up again).
    async fn respond(
        &self,
        catalog: &Catalog,
        agent: &AgentAsset,
        request: &TurnRequest<'_>,
        progress: &mut Progress,
        answer: Vec<InputItem>,
    ) -> Result<ResponseObject, TurnError> {
        let mut repaired_chain = false;
        let mut repaired_stores = false;
        let mut repaired_model = false;
        loop {
            let wanted = agent.model.as_deref().unwrap_or_default();
            let model = self
                .server
                .model_id(&self.client, &agent.name, wanted)
                .await?;
            let stores = self
                .server
                .vector_store_ids(&self.client, &agent.knowledge_bases)
                .await?;
            let previous = progress.chains.last(&agent.name).map(str::to_owned);
            let mut input = answer.clone();
            if answer.is_empty() {
                if previous.is_none() {
                    input.push(user(who_is_asking(
                        request.identity,
                        request.resumed || repaired_chain,
                        request.agent,
                    )));
                }
                input.push(user(request.message.to_owned()));
            }
            let access = tools::mcp_access(
                &request.identity.user_id,
                self.settings.mcp_auth_token.as_ref(),
                self.client.api_base().await?.is_legacy_0_2(),
            );
            let sampling = Sampling::of(agent);
            let body = CreateResponse {
                model: model.clone(),
                instructions: Some(catalog.instructions(agent, &model)),
                input,
                previous_response_id: previous.clone(),
                tools: tools::tools(catalog, agent, &access, stores),
                temperature: sampling.temperature,
                top_p: sampling.top_p,
                max_output_tokens: sampling.max_output_tokens,
                max_infer_iters: agent.max_infer_iters,
                tool_choice: None,
                stream: true,
                store: true,
            };
            let agent_name = agent.name.as_str();
            let result = self
                .client
                .create_response(&body, |event| match event {
                    StreamEvent::TextDelta(text) => self.tell(request, TurnEvent::Delta(text)),
                    StreamEvent::ToolCall { server_label, name } => self.tell(
                        request,
                        TurnEvent::ToolCall {
                            server: server_label,
                            name,
                        },
                    ),
                    _ => {}
                })
                .await;
            let error = match result {
                Ok(response) => {
                    progress.record(agent_name, &response);
                    return Ok(response);
                }
                Err(error) => error,
            };
            match error.responses_failure() {
                ResponsesFailure::UnknownPreviousResponse
                    if previous.is_some() && !repaired_chain =>
                {
                    tracing::warn!(agent = %agent_name, "the model server lost the agent's response chain; starting a new one");
                    repaired_chain = true;
                    progress.forget(agent_name);
                    if !answer.is_empty() {
                        // The call being answered went with the chain.
                        return Err(TurnError::Server(error));
                    }
                }
                ResponsesFailure::Other
                    if previous.is_some()
                        && !repaired_chain
                        && answer.is_empty()
                        && error.status() == Some(500)
                        && self.is_legacy_server().await =>
                {
                    // LlamaStack 0.2.18 answers 500 to a response chained
                    // after one that listed or called MCP tools or searched
                    // files (docs/llamastack.md): the chain cannot go on.
                    tracing::warn!(agent = %agent_name, "LlamaStack 0.2.18 cannot continue this agent's chain after its tool calls; starting a new one");
                    repaired_chain = true;
                    progress.forget(agent_name);
                }
                ResponsesFailure::UnknownVectorStore if !repaired_stores => {
                    tracing::warn!(agent = %agent_name, "a vector store is unknown to the model server; looking the knowledge bases up again");
                    repaired_stores = true;
                    self.server.forget_stores();
                }
                ResponsesFailure::UnknownModel if !repaired_model => {
                    repaired_model = true;
                    self.server.forget_models();
                }
                failure => return Err(self.classify(catalog, agent, failure, error)),
            }
        }
    }

    /// Whether the server is LlamaStack 0.2.18 (its OpenAI-compatible API
    /// under `/v1/openai/v1`).
    async fn is_legacy_server(&self) -> bool {
        self.client
            .api_base()
            .await
            .is_ok_and(|base| base.is_legacy_0_2())
    }

    /// Names the MCP server behind a failure where the server says which.
    fn classify(
        &self,
        catalog: &Catalog,
        agent: &AgentAsset,
        failure: ResponsesFailure,
        error: LlamaStackError,
    ) -> TurnError {
        match failure {
            ResponsesFailure::McpUnreachable { server_url } => {
                let servers: Vec<&str> = agent
                    .mcp_servers
                    .iter()
                    .filter_map(|name| catalog.mcp_server(name))
                    .filter(|server| {
                        server_url.as_deref().is_none_or(|url| {
                            url.trim_end_matches('/') == server.uri.trim_end_matches('/')
                        })
                    })
                    .map(|server| server.name.as_str())
                    .collect();
                match (server_url.is_some(), servers.as_slice()) {
                    (true, [server]) | (false, [server]) => TurnError::McpUnreachable {
                        agent: agent.name.clone(),
                        server: (*server).to_owned(),
                    },
                    (_, []) => TurnError::Server(error),
                    (_, servers) => TurnError::McpOrServer {
                        agent: agent.name.clone(),
                        servers: servers.join(", "),
                    },
                }
            }
            ResponsesFailure::UnknownModel => TurnError::Model {
                agent: agent.name.clone(),
                message: format!(
                    "the model server does not serve model '{}'",
                    agent.model.as_deref().unwrap_or("(its first LLM)")
                ),
            },
            _ => TurnError::Server(error),
        }
    }

    /// Answers `from`'s `transfer_to_<target>` call in the background, so
    /// its chain stays valid (a chain ending in an unanswered call is
    /// refused by some servers); the new agent's turn does not wait.
    async fn answer_handoff(
        &self,
        catalog: &Catalog,
        from: &AgentAsset,
        call: (&str, &str),
        target: &str,
        answering: &mut Answering,
    ) {
        let (response_id, call_id) = call;
        let agent = from.name.clone();
        let wanted = from.model.as_deref().unwrap_or_default();
        let model = match self.server.model_id(&self.client, &agent, wanted).await {
            Ok(model) => model,
            Err(error) => {
                answering.spawn(async move { (agent, Err(error.to_string())) });
                return;
            }
        };
        let body = CreateResponse {
            instructions: Some(catalog.instructions(from, &model)),
            model,
            input: vec![InputItem::FunctionCallOutput {
                call_id: call_id.to_owned(),
                output: format!("Transferred to the {target} agent, which now answers the user."),
            }],
            previous_response_id: Some(response_id.to_owned()),
            // The function it answers; no MCP server is contacted for this.
            tools: tools::handoff_tools(catalog, from),
            temperature: None,
            top_p: None,
            max_output_tokens: None,
            max_infer_iters: Some(1),
            tool_choice: None,
            stream: true,
            store: true,
        };
        let client = self.client.clone();
        answering.spawn(async move {
            let result = client
                .create_response(&body, |_| {})
                .await
                .map_err(|error| error.to_string());
            (agent, result)
        });
    }
}

/// The background answers to hand-off calls: (agent, its response).
type Answering = tokio::task::JoinSet<(String, Result<ResponseObject, String>)>;

/// An agent's `sampling_params` as Responses fields: greedy is
/// temperature 0; top-k has no Responses equivalent (the server's default).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Sampling {
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_output_tokens: Option<u32>,
}

impl Sampling {
    fn of(agent: &AgentAsset) -> Self {
        let Some(params) = &agent.sampling_params else {
            return Self::default();
        };
        let (temperature, top_p) = match &params.strategy {
            SamplingStrategy::Greedy => (Some(0.0), None),
            SamplingStrategy::TopP { temperature, top_p } => (*temperature, *top_p),
            SamplingStrategy::TopK { .. } => (None, None),
        };
        Self {
            temperature,
            top_p,
            max_output_tokens: params
                .max_tokens
                .and_then(|tokens| u32::try_from(tokens).ok()),
        }
    }
}

fn user(content: String) -> InputItem {
    InputItem::Message {
        role: Role::User,
        content,
    }
}

/// The first message of a new chain: who the user is, from the
/// authenticated identity, so the agent never asks for it; on a session
/// that had turns before (its chain lost, or begun before the Responses
/// runtime), where the conversation was.
fn who_is_asking(identity: &Identity, resumed: bool, agent: Option<&str>) -> String {
    let email = identity.email.as_deref().or_else(|| {
        identity
            .user_id
            .contains('@')
            .then_some(identity.user_id.as_str())
    });
    let mut text = format!(
        "[Context from the self-service system, not typed by the user] The user is \
         authenticated as '{}'",
        identity.user_id
    );
    if let Some(email) = email {
        text.push_str(&format!(", email {email}"));
    }
    text.push_str(
        ". Tools act for this user automatically: do not ask for an employee id or email; \
         never act for anyone else.",
    );
    if resumed {
        match agent {
            Some(agent) => text.push_str(&format!(
                " This conversation began earlier and was last with the {agent} agent; its \
                 earlier messages are not available here."
            )),
            None => text.push_str(
                " This conversation began earlier; its earlier messages are not available here.",
            ),
        }
    }
    text
}

/// The agent named by a `ROUTE_TO: <agent>` line, brackets and quotes
/// removed (prompts written for models without tool calling).
pub fn route_target(reply: &str) -> Option<&str> {
    let start = reply.find("ROUTE_TO:")? + "ROUTE_TO:".len();
    let token = reply[start..].split_whitespace().next()?;
    let token = token.trim_matches(|c: char| "[]\"'`*.,;:()".contains(c));
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_new_chain_says_who_is_asking_and_where_a_resumed_one_was() {
        let identity = Identity {
            user_id: "alice@example.com".into(),
            email: None,
        };
        let fresh = who_is_asking(&identity, false, None);
        assert!(fresh.contains("authenticated as 'alice@example.com', email alice@example.com"));
        assert!(!fresh.contains("began earlier"));
        let resumed = who_is_asking(&identity, true, Some("laptop-refresh"));
        assert!(resumed.contains("was last with the laptop-refresh agent"));
    }

    #[test]
    fn the_context_never_invents_an_email() {
        let identity = Identity {
            user_id: "emp-42".into(),
            email: None,
        };
        let text = who_is_asking(&identity, false, None);
        assert!(text.contains("authenticated as 'emp-42'."));
        assert!(!text.contains(", email "), "{text}");
    }
}
