//! From desired and actual state to a plan: one step per server object,
//! each `create`, `replace`, `unchanged` or `prune`, in the order they are
//! applied (the knowledge bases' vector stores, then the removals), names
//! sorted within each group. What an earlier release left through the
//! Agents API is listed as left-overs, and becomes `prune` steps with
//! [`Options::prune`].

use std::fmt;

use shared_clients::llamastack::CreateVectorStore;

use crate::actual::{Actual, Legacy, is_managed, knowledge_base_of};
use crate::desired::{Desired, DesiredFile};

mod knowledge_base;

use knowledge_base::plan_vector_store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A knowledge base's vector store.
    VectorStore,
    /// An agent of an earlier release (LlamaStack 0.2.18's Agents API).
    Agent,
    /// An MCP toolgroup of an earlier release.
    Toolgroup,
    /// A vector DB of an earlier release (not one behind a vector store).
    VectorDb,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::VectorStore => "vector-store",
            Kind::Agent => "agent",
            Kind::Toolgroup => "toolgroup",
            Kind::VectorDb => "vector-db",
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
    /// Objects an earlier release registered through the Agents API that
    /// nothing uses any more; without `--prune` they are only listed.
    pub leftovers: Vec<Leftover>,
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

/// An object of an earlier release left on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: Kind,
    pub name: String,
    pub id: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Work {
    Nothing,
    VectorStore {
        knowledge_base: String,
        /// The store kept, or `None` to create one.
        existing: Option<String>,
        create: CreateVectorStore,
        upload: Vec<DesiredFile>,
        /// Files detached from the kept store and deleted.
        remove: Vec<String>,
        /// Stores replaced by this one: deleted with their files afterwards.
        retire: Vec<(String, Vec<String>)>,
    },
    DeleteVectorStore {
        id: String,
        files: Vec<String>,
    },
    DeleteAgent(String),
    DeleteToolgroup(String),
    DeleteVectorDb(String),
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
        for leftover in &self.leftovers {
            writeln!(f, "{leftover}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<9} {:<12} {:<32} {}: left by an earlier release; --prune removes it",
            "left-over",
            self.kind.to_string(),
            self.name,
            self.id
        )
    }
}

/// Which removals are allowed beyond the duplicates and replaced files of
/// what this tool owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also remove the managed vector stores of knowledge bases the
    /// directory no longer has, and the left-overs of an earlier release.
    pub prune: bool,
}

pub fn plan(desired: &Desired, actual: &Actual, options: Options) -> Plan {
    let mut steps = Vec::new();
    let mut removals = Vec::new();
    for base in &desired.knowledge_bases {
        let (store_step, duplicates) = plan_vector_store(base, actual);
        steps.push(store_step);
        removals.extend(duplicates);
    }
    let leftovers = leftovers(&actual.legacy, actual);
    let leftovers = if options.prune {
        removals.extend(plan_gone_knowledge_bases(desired, actual));
        removals.extend(leftovers.into_iter().map(|(leftover, work)| {
            step(
                leftover.kind,
                &leftover.name,
                Action::Prune,
                format!("{}: left by an earlier release", leftover.id),
                work,
            )
        }));
        Vec::new()
    } else {
        leftovers
            .into_iter()
            .map(|(leftover, _)| leftover)
            .collect()
    };
    removals.sort_by(|a, b| {
        removal_rank(a.kind)
            .cmp(&removal_rank(b.kind))
            .then(a.name.cmp(&b.name))
    });
    steps.extend(removals);
    Plan { steps, leftovers }
}

/// Agents first: nothing may refer to a toolgroup or vector DB being removed.
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

/// The files the plan read of the managed store `id`.
fn files_of(actual: &Actual, id: &str) -> Vec<String> {
    actual
        .store_files
        .get(id)
        .map(|files| files.iter().map(|file| file.id.clone()).collect())
        .unwrap_or_default()
}

/// Managed vector stores whose knowledge base left the directory.
fn plan_gone_knowledge_bases(desired: &Desired, actual: &Actual) -> Vec<Step> {
    actual
        .vector_stores
        .iter()
        .filter(|store| is_managed(store))
        .filter(|store| {
            !knowledge_base_of(store)
                .is_some_and(|kb| desired.knowledge_bases.iter().any(|base| base.name == kb))
        })
        .map(|store| {
            step(
                Kind::VectorStore,
                &store.id,
                Action::Prune,
                format!(
                    "knowledge base {} no longer in the asset directory",
                    knowledge_base_of(store).unwrap_or("?")
                ),
                Work::DeleteVectorStore {
                    id: store.id.clone(),
                    files: files_of(actual, &store.id),
                },
            )
        })
        .collect()
}

/// Everything of the Agents API an earlier release may have registered, and
/// how to remove it: all agents and MCP toolgroups (the service runs the
/// agents now), and the vector DBs that do not back a vector store
/// (LlamaStack 0.2.18 lists a vector DB of the same id behind every store).
fn leftovers(legacy: &Legacy, actual: &Actual) -> Vec<(Leftover, Work)> {
    let leftover = |kind, name: &str, id: &str| Leftover {
        kind,
        name: name.to_owned(),
        id: id.to_owned(),
    };
    let agents = legacy.agents.iter().map(|agent| {
        (
            leftover(Kind::Agent, &agent.name, &agent.id),
            Work::DeleteAgent(agent.id.clone()),
        )
    });
    let toolgroups = legacy.toolgroups.iter().map(|group| {
        (
            leftover(Kind::Toolgroup, &group.name, &group.id),
            Work::DeleteToolgroup(group.id.clone()),
        )
    });
    let vector_dbs = legacy
        .vector_dbs
        .iter()
        .filter(|db| !actual.vector_stores.iter().any(|store| store.id == db.id))
        .map(|db| {
            (
                leftover(Kind::VectorDb, &db.id, &db.id),
                Work::DeleteVectorDb(db.id.clone()),
            )
        });
    let mut all: Vec<(Leftover, Work)> = agents.chain(toolgroups).chain(vector_dbs).collect();
    all.sort_by(|(a, _), (b, _)| {
        removal_rank(a.kind)
            .cmp(&removal_rank(b.kind))
            .then(a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    all
}
