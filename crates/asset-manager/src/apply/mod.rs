//! Carries out a [`Plan`] step by step. A failed step is reported and the
//! run goes on: no step depends on another.

use std::fmt;

use shared_clients::llamastack::{LlamaStackClient, LlamaStackError};

use crate::error::StepsFailed;
use crate::plan::{Action, Kind, Plan, Step, Work};

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

pub async fn apply(client: &LlamaStackClient, plan: &Plan) -> Report {
    let mut report = Report::default();
    for step in &plan.steps {
        let result = run(client, step).await;
        if let Err(error) = &result {
            tracing::error!(kind = %step.kind, name = %step.name, action = %step.action, %error, "step failed");
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

async fn run(client: &LlamaStackClient, step: &Step) -> Result<(), String> {
    let text = |error: LlamaStackError| error.to_string();
    match &step.work {
        Work::Nothing => Ok(()),
        Work::VectorStore {
            knowledge_base,
            existing,
            create,
            upload,
            remove,
            retire,
        } => {
            let id = match existing {
                Some(kept) => kept.clone(),
                None => client.create_vector_store(create).await.map_err(text)?.id,
            };
            knowledge_base::sync_files(client, &id, knowledge_base, upload, remove, retire).await
        }
        Work::DeleteVectorStore { id, files } => knowledge_base::delete_store(client, id, files)
            .await
            .map_err(text),
        Work::DeleteAgent(id) => ignore_missing(client.delete_agent(id).await).map_err(text),
        Work::DeleteToolgroup(id) => {
            ignore_missing(client.unregister_toolgroup(id).await).map_err(text)
        }
        Work::DeleteVectorDb(id) => {
            ignore_missing(client.unregister_vector_db(id).await).map_err(text)
        }
    }
}

/// A removal that finds nothing to remove has done its job (LlamaStack
/// answers 404 for most objects, 400 "not found" for some).
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
