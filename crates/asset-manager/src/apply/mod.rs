//! Carries out a [`Plan`] step by step. A failed step is reported and the
//! run goes on, except that an agent whose toolgroup or knowledge base
//! failed is not touched (it would refer to something broken).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use shared_clients::llamastack::{AgentToolgroup, LlamaStackClient, LlamaStackError};

use crate::error::StepsFailed;
use crate::plan::{Action, Kind, Plan, Step, StoreRef, Work};

mod knowledge_base;

/// Counts of a run, printed as its one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub failed: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "created={} replaced={} unchanged={} pruned={} failed={}",
            self.created, self.replaced, self.unchanged, self.pruned, self.failed
        )
    }
}

impl Summary {
    /// What a plan would count if every step succeeded (`--dry-run`).
    pub fn of_plan(plan: &Plan) -> Self {
        let mut summary = Summary::default();
        for step in &plan.steps {
            summary.add(step.action);
        }
        summary
    }

    fn add(&mut self, action: Action) {
        match action {
            Action::Create => self.created += 1,
            Action::Replace => self.replaced += 1,
            Action::Unchanged => self.unchanged += 1,
            Action::Prune => self.pruned += 1,
        }
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub summary: Summary,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.action, self.kind, self.name)?;
        match &self.error {
            Some(error) => write!(f, ": {error}"),
            None => Ok(()),
        }
    }
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.error.is_some())
    }

    /// `Ok` when every step succeeded; else how many failed and the first.
    pub fn check(&self) -> Result<(), StepsFailed> {
        let mut failures = self.failures();
        let Some(first) = failures.next() else {
            return Ok(());
        };
        Err(StepsFailed {
            failed: 1 + failures.count(),
            steps: self.outcomes.len(),
            first: first.to_string(),
        })
    }
}

#[derive(Default)]
struct Context {
    /// Knowledge base → its vector store, as this run left it.
    stores: BTreeMap<String, StoreRef>,
    failed_toolgroups: BTreeSet<String>,
    failed_knowledge_bases: BTreeSet<String>,
}

pub async fn apply(client: &LlamaStackClient, plan: &Plan) -> Report {
    let mut context = Context::default();
    let mut report = Report::default();
    for step in &plan.steps {
        let result = run(client, step, &mut context).await;
        if let Err(error) = &result {
            tracing::error!(kind = %step.kind, name = %step.name, action = %step.action, %error, "step failed");
            match step.kind {
                Kind::Toolgroup => {
                    context.failed_toolgroups.insert(step.name.clone());
                }
                Kind::VectorStore | Kind::VectorDb => {
                    context.failed_knowledge_bases.insert(step.name.clone());
                }
                Kind::Agent => {}
            }
            report.summary.failed += 1;
        } else {
            if step.action != Action::Unchanged {
                tracing::info!(kind = %step.kind, name = %step.name, action = %step.action, "{}", step.reason);
            }
            report.summary.add(step.action);
        }
        report.outcomes.push(Outcome {
            kind: step.kind,
            name: step.name.clone(),
            action: step.action,
            error: result.err(),
        });
    }
    report
}

async fn run(client: &LlamaStackClient, step: &Step, context: &mut Context) -> Result<(), String> {
    let text = |error: LlamaStackError| error.to_string();
    match &step.work {
        Work::Nothing => Ok(()),
        Work::Toolgroup {
            register,
            unregister_first,
        } => {
            if *unregister_first {
                ignore_missing(client.unregister_toolgroup(&register.toolgroup_id).await)
                    .map_err(text)?;
            }
            client.register_toolgroup(register).await.map_err(text)
        }
        Work::VectorStore {
            knowledge_base,
            existing,
            create,
            upload,
            remove,
            retire,
        } => {
            let store = match existing {
                Some(kept) => kept.clone(),
                None => {
                    let store = client.create_vector_store(create).await.map_err(text)?;
                    (store.id, store.metadata)
                }
            };
            let id = store.0.clone();
            context.stores.insert(knowledge_base.clone(), store);
            knowledge_base::sync_files(client, &id, knowledge_base, upload, remove, retire).await
        }
        Work::VectorDb {
            knowledge_base,
            register,
            documents,
            digest,
            unregister_first,
            store,
        } => {
            // A store created by this run, else the one the plan found.
            let Some(store) = context
                .stores
                .get(knowledge_base)
                .or(store.as_ref())
                .cloned()
            else {
                return Err("not touched: its vector store could not be created".into());
            };
            let rebuild = knowledge_base::Rebuild {
                register,
                documents,
                digest,
                unregister_first: *unregister_first,
            };
            let store = knowledge_base::rebuild_vector_db(client, store, &rebuild).await?;
            context.stores.insert(knowledge_base.clone(), store);
            Ok(())
        }
        Work::Agent {
            config,
            delete_after,
        } => {
            if let Some(broken) = broken_dependency(config, context) {
                return Err(format!("not touched: {broken} failed"));
            }
            let id = client.create_agent(config).await.map_err(text)?;
            tracing::debug!(agent = %step.name, %id, "agent created");
            for old in delete_after {
                ignore_missing(client.delete_agent(old).await).map_err(|error| {
                    format!("created {id}, but deleting the old {old}: {error}")
                })?;
            }
            Ok(())
        }
        Work::DeleteAgent(id) => ignore_missing(client.delete_agent(id).await).map_err(text),
        Work::DeleteToolgroup(id) => {
            ignore_missing(client.unregister_toolgroup(id).await).map_err(text)
        }
        Work::DeleteVectorDb(id) => {
            ignore_missing(client.unregister_vector_db(id).await).map_err(text)
        }
        Work::DeleteVectorStore { id, files } => knowledge_base::delete_store(client, id, files)
            .await
            .map_err(text),
    }
}

fn broken_dependency(
    config: &shared_clients::llamastack::AgentConfig,
    context: &Context,
) -> Option<String> {
    for group in &config.toolgroups {
        match group {
            AgentToolgroup::Name(name) if context.failed_toolgroups.contains(name) => {
                return Some(format!("toolgroup {name}"));
            }
            AgentToolgroup::WithArgs { args, .. } => {
                let ids = args.get("vector_db_ids").and_then(|v| v.as_array());
                for id in ids.into_iter().flatten().filter_map(|v| v.as_str()) {
                    if context.failed_knowledge_bases.contains(id) {
                        return Some(format!("knowledge base {id}"));
                    }
                }
            }
            AgentToolgroup::Name(_) => {}
        }
    }
    None
}

/// A removal that finds nothing to remove has done its job (LlamaStack
/// answers 404 for vector DBs and toolgroups, 400 for agents and files).
pub(crate) fn ignore_missing(result: Result<(), LlamaStackError>) -> Result<(), LlamaStackError> {
    match result {
        Err(error) if matches!(error.status(), Some(404)) => Ok(()),
        Err(LlamaStackError::Status {
            status: 400,
            ref body,
            ..
        }) if body.contains("not found") || body.contains("Could not find") => Ok(()),
        other => other,
    }
}
