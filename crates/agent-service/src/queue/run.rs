//! Taking a request in, running it on a worker, storing its outcome, and
//! waiting for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::sql::{self, Finished, NewRequest};
use super::{Outcome, Workers};
use crate::conversation::{self, Failure, Job, Message, Reply};
use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;
use crate::store;

/// A stored, answered request.
#[derive(Debug, Clone)]
pub struct Completed {
    pub request_id: String,
    pub session_id: String,
    pub content: String,
    pub agent: String,
    pub metadata: Value,
    pub processing_time_ms: i32,
}

/// A request in the queue.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub request_id: String,
    pub session_id: String,
    /// Its event had been submitted before: nothing new was queued.
    pub duplicate: bool,
}

/// Stores `message` as request `request_id` in the user's active session
/// (opening one when there is none) and queues it there; starts a worker
/// on the session when this replica has one free and nobody runs it.
pub async fn submit(
    state: &AppState,
    request_id: String,
    message: Message,
) -> Result<Submitted, ApiError> {
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
        event: message.event.as_ref().map(|event| sql::Event {
            id: &event.id,
            kind: &event.kind,
            source: &event.source,
        }),
    };
    let workers = &state.workers;
    let permit = workers.try_permit();
    let claim_as = permit.as_ref().map(|_| workers.id());
    let _claiming = workers.claiming();
    let enqueued = enqueue(state, &message, &request, claim_as).await?;
    let session_id = enqueued.session.session_id.clone();
    if enqueued.duplicate {
        return Ok(Submitted {
            request_id,
            session_id,
            duplicate: true,
        });
    }
    metrics::record_accepted();
    match (enqueued.claimed, permit) {
        (Some(claimed), Some(permit)) => {
            let job = if claimed == request_id {
                Some(Job {
                    request_id: request_id.clone(),
                    content: message.content,
                    session: enqueued.session,
                })
            } else {
                load_job(state, &claimed).await
            };
            match job {
                Some(job) => spawn(state, permit, job),
                None => release_unloadable(state, &session_id, &claimed).await,
            }
        }
        (None, None) if !is_running(&enqueued.session) => workers.defer(&session_id),
        _ => {}
    }
    Ok(Submitted {
        request_id,
        session_id,
        duplicate: false,
    })
}

fn is_running(session: &store::Session) -> bool {
    session
        .conversation_context
        .as_ref()
        .and_then(|context| context.get("running"))
        .is_some_and(Value::is_object)
}

/// Queues the request in the user's active session; when there is none, one
/// is opened (under the per-(user, channel) lock) and the request queued
/// in it. Bounded: a session deactivated in between is retried once more.
async fn enqueue(
    state: &AppState,
    message: &Message,
    request: &NewRequest<'_>,
    claim_as: Option<&str>,
) -> Result<sql::Enqueued, ApiError> {
    for _ in 0..3 {
        let queued = sql::enqueue(
            &state.db,
            &message.user_id,
            message.integration,
            request,
            claim_as,
        )
        .await?;
        if let Some(queued) = queued {
            return Ok(queued);
        }
        store::active_session(&state.db, &message.user_id, message.integration).await?;
    }
    tracing::error!(request_id = %request.request_id, "no active session after three attempts");
    Err(ApiError::Internal)
}

/// The request `request_id` and its session, fresh from the database.
pub(super) async fn load_job(state: &AppState, request_id: &str) -> Option<Job> {
    match sql::load(&state.db, request_id).await {
        Ok(Some((log, session))) => Some(Job {
            request_id: log.request_id,
            content: log.request_content,
            session,
        }),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%request_id, %error, "could not read a queued request");
            None
        }
    }
}

/// A claimed request that cannot be read goes back to its queue.
pub(super) async fn release_unloadable(state: &AppState, session_id: &str, request_id: &str) {
    if let Err(error) = sql::release(&state.db, session_id, request_id, state.workers.id()).await {
        tracing::warn!(%request_id, %error, "could not hand back a request; its lease does when the process ends");
    }
}

/// Runs `job` (and the session's requests after it) on a worker of this
/// replica.
pub(super) fn spawn(state: &AppState, permit: OwnedSemaphorePermit, job: Job) {
    let (start, started) = oneshot::channel();
    let task_state = state.clone();
    let request_id = job.request_id.clone();
    let session_id = job.session.session_id.clone();
    let task = tokio::spawn(async move {
        let Ok(abort) = started.await else { return };
        run_session(task_state, permit, job, abort).await;
    });
    let abort = task.abort_handle();
    if let Ok(mut running) = state.workers.running.lock() {
        running.insert(request_id, (session_id, abort.clone()));
    }
    let _ = start.send(abort);
}

async fn run_session(
    state: AppState,
    permit: OwnedSemaphorePermit,
    mut job: Job,
    abort: tokio::task::AbortHandle,
) {
    let workers = state.workers.clone();
    loop {
        let next = run_one(&state, &job).await;
        if let Ok(mut running) = workers.running.lock() {
            running.remove(&job.request_id);
        }
        let Some((next, _claiming)) = next else { break };
        match load_job(&state, &next).await {
            Some(loaded) => {
                if let Ok(mut running) = workers.running.lock() {
                    running.insert(
                        loaded.request_id.clone(),
                        (loaded.session.session_id.clone(), abort.clone()),
                    );
                }
                job = loaded;
            }
            None => {
                release_unloadable(&state, &job.session.session_id, &next).await;
                break;
            }
        }
    }
    drop(permit);
    workers.wake.notify_one();
}

/// Runs one request and stores its outcome; the session's next request
/// when this worker took it (with the guard of that claim).
async fn run_one(state: &AppState, job: &Job) -> Option<(String, super::ClaimGuard)> {
    let started = Instant::now();
    let timeout = state.config.request_timeout;
    let result = tokio::time::timeout(timeout, conversation::converse(state, job)).await;
    let elapsed_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (stored, outcome) = outcome_of(job, result, elapsed_ms, timeout);
    let workers: &Arc<Workers> = &state.workers;
    let take_next = !workers.is_draining();
    let outcome_row = stored.as_outcome(job);
    let store = || {
        sql::finish(
            &state.db,
            &outcome_row,
            workers.id(),
            take_next,
            state.config.delivery_ttl,
        )
    };
    // An outcome that cannot be stored is retried while the database is
    // away, for at most another request timeout.
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .without_max_times()
        .with_total_delay(Some(timeout));
    let claiming = workers.claiming();
    let finished = store
        .retry(backoff)
        .when(shared_db::is_unavailable)
        .notify(|error, pause| {
            tracing::warn!(request_id = %job.request_id, %error, retry_in_ms = pause.as_millis() as u64, "could not store the outcome; retrying");
        })
        .await;
    match finished {
        Ok(Finished::Stored { next, deliveries }) => {
            metrics::record_finished(&outcome, started.elapsed());
            if deliveries > 0 {
                state.announce_deliveries().await;
            }
            workers.tell(&job.request_id, outcome);
            next.map(|next| (next, claiming))
        }
        Ok(Finished::NotOurs) => {
            tracing::warn!(request_id = %job.request_id, "the request was taken over by another worker; this outcome is dropped");
            None
        }
        Err(error) => {
            tracing::error!(request_id = %job.request_id, %error, "the outcome could not be stored; the request goes back to the queue when the database returns");
            None
        }
    }
}

/// What is stored, and what the waiter is told.
struct Stored {
    content: Option<String>,
    agent: Option<String>,
    metadata: Value,
    processing_time_ms: i32,
    /// The response that answered.
    response_id: Option<String>,
    /// The response chains moved, by agent.
    chains: Value,
}

impl Stored {
    fn as_outcome<'a>(&'a self, job: &'a Job) -> sql::Outcome<'a> {
        sql::Outcome {
            request_id: &job.request_id,
            session_id: &job.session.session_id,
            content: self.content.as_deref(),
            agent: self.agent.as_deref(),
            processing_time_ms: self.processing_time_ms,
            metadata: self.metadata.clone(),
            response_id: self.response_id.as_deref(),
            chains: self.chains.clone(),
        }
    }
}

fn outcome_of(
    job: &Job,
    result: Result<Result<Reply, Failure>, tokio::time::error::Elapsed>,
    elapsed_ms: i32,
    timeout: Duration,
) -> (Stored, Outcome) {
    match result {
        Ok(Ok(reply)) => {
            let metadata = json!({
                "status": "completed",
                "agent_path": reply.path,
                "usage": conversation::usage_json(&reply.usage, reply.calls),
                "tool_calls": reply.tool_calls,
            });
            let completed = Completed {
                request_id: job.request_id.clone(),
                session_id: job.session.session_id.clone(),
                content: reply.content.clone(),
                agent: reply.agent.clone(),
                metadata: metadata.clone(),
                processing_time_ms: elapsed_ms,
            };
            (
                Stored {
                    content: Some(reply.content),
                    agent: Some(reply.agent),
                    metadata,
                    processing_time_ms: elapsed_ms,
                    response_id: reply.response_id,
                    chains: json!(reply.chains),
                },
                Outcome::Completed(completed),
            )
        }
        Ok(Err(failure)) => {
            let reason = failure.reason.to_string();
            tracing::warn!(request_id = %job.request_id, agent = %failure.agent, %reason, "agent turn failed");
            (
                Stored {
                    content: None,
                    agent: Some(failure.agent.clone()),
                    metadata: json!({
                        "status": "failed",
                        "error": reason,
                        "usage": conversation::usage_json(&failure.usage, failure.calls),
                    }),
                    processing_time_ms: elapsed_ms,
                    response_id: None,
                    chains: json!(failure.chains),
                },
                Outcome::Failed {
                    agent: Some(failure.agent),
                    reason,
                    timed_out: false,
                },
            )
        }
        Err(_) => {
            let reason = format!(
                "no answer within the request timeout of {}s",
                timeout.as_secs_f64()
            );
            tracing::warn!(request_id = %job.request_id, %reason, "agent turn timed out");
            (
                Stored {
                    content: None,
                    agent: None,
                    metadata: json!({ "status": "failed", "error": reason }),
                    processing_time_ms: elapsed_ms,
                    response_id: None,
                    chains: json!({}),
                },
                Outcome::Failed {
                    agent: None,
                    reason,
                    timed_out: true,
                },
            )
        }
    }
}

/// Starts the replica's background work: holding its lease, and the sweep
/// that takes over work no one runs.
pub fn start_background(state: &AppState) {
    state.workers.lease().keep(Duration::from_secs(5));
    let sweeping = state.clone();
    tokio::spawn(async move { super::sweep::run(sweeping).await });
}
