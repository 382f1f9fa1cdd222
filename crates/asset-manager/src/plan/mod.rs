//! From desired and actual state to a plan: one step per server object,
//! each `create`, `replace`, `unchanged` or `prune`, in the order they are
//! applied (toolgroups and knowledge bases before the agents that use them;
//! removals last, agents first), names sorted within each group.

use std::collections::BTreeSet;
use std::fmt;

use shared_clients::llamastack::{
    Agent, AgentConfig, CreateVectorStore, JsonObject, MCP_PROVIDER_ID, RagDocument,
    RegisterToolgroup, RegisterVectorDb,
};

use crate::actual::{Actual, is_managed, knowledge_base_of};
use crate::desired::{Desired, DesiredAgent, DesiredFile};

mod knowledge_base;
mod shown;

use knowledge_base::{plan_vector_db, plan_vector_store};

/// Key of a managed vector store's metadata recording its vector DB's digest.
pub(crate) const DIGEST_KEY: &str = "vector_db_digest";

/// A vector store as a step needs it: its id and its metadata.
pub(crate) type StoreRef = (String, JsonObject);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Toolgroup,
    VectorStore,
    VectorDb,
    Agent,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Toolgroup => "toolgroup",
            Kind::VectorStore => "vector-store",
            Kind::VectorDb => "vector-db",
            Kind::Agent => "agent",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Replace,
    Unchanged,
    Prune,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Unchanged => "unchanged",
            Action::Prune => "prune",
        })
    }
}

/// What reconciling will do, step by step.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// Why, in a few words (for the plan printed by `--dry-run`).
    pub reason: String,
    pub(crate) work: Work,
}

#[derive(Debug, Clone)]
pub(crate) enum Work {
    Nothing,
    Toolgroup {
        register: RegisterToolgroup,
        unregister_first: bool,
    },
    VectorStore {
        knowledge_base: String,
        /// The store kept, or `None` to create one.
        existing: Option<StoreRef>,
        create: CreateVectorStore,
        upload: Vec<DesiredFile>,
        /// Files detached from the kept store and deleted.
        remove: Vec<String>,
        /// Stores replaced by this one: deleted with their files afterwards.
        retire: Vec<(String, Vec<String>)>,
    },
    VectorDb {
        knowledge_base: String,
        register: RegisterVectorDb,
        documents: Vec<RagDocument>,
        digest: String,
        unregister_first: bool,
        /// The knowledge base's vector store as planned, where the digest is
        /// recorded (a store created by this run takes its place).
        store: Option<StoreRef>,
    },
    Agent {
        config: Box<AgentConfig>,
        /// Older agents of the same name, deleted once the new one exists.
        delete_after: Vec<String>,
    },
    DeleteAgent(String),
    DeleteToolgroup(String),
    DeleteVectorDb(String),
    DeleteVectorStore {
        id: String,
        files: Vec<String>,
    },
}

impl Plan {
    /// Whether applying would change anything.
    pub fn is_noop(&self) -> bool {
        self.steps
            .iter()
            .all(|step| step.action == Action::Unchanged)
    }

    pub fn count(&self, action: Action) -> usize {
        self.steps
            .iter()
            .filter(|step| step.action == action)
            .count()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(
                f,
                "{:<9} {:<12} {:<32} {}",
                step.action.to_string(),
                step.kind.to_string(),
                step.name,
                step.reason
            )?;
        }
        Ok(())
    }
}

/// Which removals are allowed beyond the duplicates and replaced files of
/// what this tool owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also remove agents, MCP toolgroups, vector DBs and managed vector
    /// stores that the directory does not describe.
    pub prune: bool,
}

pub fn plan(desired: &Desired, actual: &Actual, options: Options) -> Plan {
    let mut steps = Vec::new();
    let mut removals = Vec::new();
    for group in &desired.toolgroups {
        steps.push(plan_toolgroup(group, actual));
    }
    for base in &desired.knowledge_bases {
        let (store_step, store_removals, kept_store) = plan_vector_store(base, actual);
        steps.push(store_step);
        removals.extend(store_removals);
        steps.push(plan_vector_db(base, actual, kept_store));
    }
    for agent in &desired.agents {
        let (step, duplicates) = plan_agent(agent, actual);
        steps.push(step);
        removals.extend(duplicates);
    }
    if options.prune {
        removals.extend(plan_prune(desired, actual));
    }
    removals.sort_by(|a, b| {
        removal_rank(a.kind)
            .cmp(&removal_rank(b.kind))
            .then(a.name.cmp(&b.name))
    });
    steps.extend(removals);
    Plan { steps }
}

/// Agents go first: nothing may refer to a toolgroup or vector DB being removed.
fn removal_rank(kind: Kind) -> u8 {
    match kind {
        Kind::Agent => 0,
        Kind::Toolgroup => 1,
        Kind::VectorStore => 2,
        Kind::VectorDb => 3,
    }
}

fn step(kind: Kind, name: &str, action: Action, reason: impl Into<String>, work: Work) -> Step {
    Step {
        kind,
        name: name.to_owned(),
        action,
        reason: reason.into(),
        work,
    }
}

fn plan_toolgroup(group: &RegisterToolgroup, actual: &Actual) -> Step {
    let id = &group.toolgroup_id;
    let existing = actual.toolgroups.iter().find(|g| &g.identifier == id);
    let (action, reason) = match existing {
        None => (
            Action::Create,
            format!("mcp endpoint {}", shown::shown_uri(uri(group))),
        ),
        Some(found)
            if found.provider_id == group.provider_id
                && found.mcp_endpoint.as_ref().map(|e| e.uri.as_str()) == Some(uri(group)) =>
        {
            (Action::Unchanged, String::new())
        }
        Some(_) => (
            Action::Replace,
            format!("mcp endpoint now {}", shown::shown_uri(uri(group))),
        ),
    };
    let work = match action {
        Action::Unchanged => Work::Nothing,
        _ => Work::Toolgroup {
            register: group.clone(),
            unregister_first: existing.is_some(),
        },
    };
    step(Kind::Toolgroup, id, action, reason, work)
}

fn uri(group: &RegisterToolgroup) -> &str {
    group
        .mcp_endpoint
        .as_ref()
        .map(|e| e.uri.as_str())
        .unwrap_or_default()
}

fn plan_agent(agent: &DesiredAgent, actual: &Actual) -> (Step, Vec<Step>) {
    let mut named: Vec<&Agent> = actual
        .agents
        .iter()
        .filter(|existing| existing.name() == Some(agent.name.as_str()))
        .collect();
    // Newest first: the one the service resolves the name to.
    named.sort_by(|a, b| (b.created(), &b.agent_id).cmp(&(a.created(), &a.agent_id)));
    let current = named
        .iter()
        .find(|existing| existing.agent_config.same_agent_as(&agent.config));
    match current {
        Some(current) => {
            let duplicates = named
                .iter()
                .filter(|other| other.agent_id != current.agent_id)
                .map(|other| {
                    step(
                        Kind::Agent,
                        &agent.name,
                        Action::Prune,
                        format!(
                            "duplicate {} (keeping {})",
                            other.agent_id, current.agent_id
                        ),
                        Work::DeleteAgent(other.agent_id.clone()),
                    )
                })
                .collect();
            let reason = current.agent_id.clone();
            (
                step(
                    Kind::Agent,
                    &agent.name,
                    Action::Unchanged,
                    reason,
                    Work::Nothing,
                ),
                duplicates,
            )
        }
        None => {
            let (action, reason) = if named.is_empty() {
                (
                    Action::Create,
                    format!("prompt from {}", agent.prompt_source),
                )
            } else {
                (
                    Action::Replace,
                    format!("configuration or prompt ({}) changed", agent.prompt_source),
                )
            };
            let work = Work::Agent {
                config: Box::new(agent.config.clone()),
                delete_after: named.iter().map(|other| other.agent_id.clone()).collect(),
            };
            (
                step(Kind::Agent, &agent.name, action, reason, work),
                Vec::new(),
            )
        }
    }
}

fn plan_prune(desired: &Desired, actual: &Actual) -> Vec<Step> {
    let agent_names: BTreeSet<&str> = desired.agents.iter().map(|a| a.name.as_str()).collect();
    let group_ids: BTreeSet<&str> = desired
        .toolgroups
        .iter()
        .map(|g| g.toolgroup_id.as_str())
        .collect();
    let bases: BTreeSet<&str> = desired
        .knowledge_bases
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    let store_ids: BTreeSet<&str> = actual.vector_stores.iter().map(|s| s.id.as_str()).collect();
    let mut steps = Vec::new();
    for agent in &actual.agents {
        if !agent.name().is_some_and(|name| agent_names.contains(name)) {
            let name = agent.name().unwrap_or(&agent.agent_id);
            steps.push(step(
                Kind::Agent,
                name,
                Action::Prune,
                format!("{} not in the asset directory", agent.agent_id),
                Work::DeleteAgent(agent.agent_id.clone()),
            ));
        }
    }
    for group in &actual.toolgroups {
        if group.provider_id == MCP_PROVIDER_ID && !group_ids.contains(group.identifier.as_str()) {
            steps.push(step(
                Kind::Toolgroup,
                &group.identifier,
                Action::Prune,
                "not in the asset directory",
                Work::DeleteToolgroup(group.identifier.clone()),
            ));
        }
    }
    for store in &actual.vector_stores {
        if is_managed(store) && !knowledge_base_of(store).is_some_and(|kb| bases.contains(kb)) {
            let files = actual
                .store_files
                .get(&store.id)
                .map(|files| files.iter().map(|f| f.id.clone()).collect())
                .unwrap_or_default();
            steps.push(step(
                Kind::VectorStore,
                &store.id,
                Action::Prune,
                "knowledge base no longer in the asset directory",
                Work::DeleteVectorStore {
                    id: store.id.clone(),
                    files,
                },
            ));
        }
    }
    for db in &actual.vector_dbs {
        if !bases.contains(db.identifier.as_str()) && !store_ids.contains(db.identifier.as_str()) {
            steps.push(step(
                Kind::VectorDb,
                &db.identifier,
                Action::Prune,
                "not in the asset directory",
                Work::DeleteVectorDb(db.identifier.clone()),
            ));
        }
    }
    steps
}
