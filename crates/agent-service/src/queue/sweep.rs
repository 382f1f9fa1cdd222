//! The sweep: each replica, every `WORKER_POLL_INTERVAL` (and at once when
//! a worker becomes free), looks for queued work nobody runs and takes it
//! while it has free workers:
//!
//! - sessions that got a request here while every worker was busy;
//! - sessions whose head nobody runs (their replica stopped, or was busy);
//! - sessions run by a lease that no longer lives (a replica killed):
//!   taken over, their head run again from the start;
//! - requests in no queue at all, older than the longest a request may
//!   take (left by a crash of an earlier version): ended as failed, so no
//!   request stays "processing" forever.
//!
//! It also reports the queue's depth and age.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::run::{load_job, release_unloadable, spawn};
use super::sql;
use crate::metrics;
use crate::state::AppState;

/// Unfinished requests looked at per sweep.
const BATCH: i64 = 1000;
/// Row ids below the highest one that may still be committing (a serial
/// id is taken before its row commits): the low-water mark stays this far
/// behind.
const SLACK: i32 = 10_000;

pub(super) async fn run(state: AppState) {
    let workers = state.workers.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(workers.poll_interval) => {}
            () = workers.wake.notified() => {}
        }
        if workers.is_draining() {
            return;
        }
        if let Err(error) = sweep(&state).await {
            tracing::debug!(%error, "sweep failed; trying again");
        }
    }
}

async fn sweep(state: &AppState) -> Result<(), sea_orm::DbErr> {
    let workers = &state.workers;
    while let Some(session_id) = workers.next_deferred() {
        let Some(permit) = workers.try_permit() else {
            workers.defer(&session_id);
            break;
        };
        take(state, permit, &session_id, None).await?;
    }
    let from = workers.low_water.load(std::sync::atomic::Ordering::Acquire);
    let pending = sql::pending(&state.db, from, BATCH).await?;
    let next_from = match pending.first() {
        Some(first) => first.id,
        None => sql::last_id(&state.db).await?.saturating_add(1),
    };
    workers.low_water.store(
        next_from.saturating_sub(SLACK).max(0),
        std::sync::atomic::Ordering::Release,
    );
    report(&pending);
    let orphan_age =
        chrono::Duration::from_std(state.config.request_timeout * 2 + Duration::from_secs(60))
            .unwrap_or(chrono::Duration::hours(1));
    let now = chrono::Utc::now();
    let mut seen = HashSet::new();
    let mut alive: HashMap<String, bool> = HashMap::new();
    for request in &pending {
        if !request.queued {
            if now.signed_duration_since(request.created_at) > orphan_age
                && sql::fail_unqueued(
                    &state.db,
                    &request.request_id,
                    "interrupted: the request was in no queue (left by a crash or an earlier version)",
                )
                .await?
            {
                tracing::warn!(request_id = %request.request_id, "ended an orphaned request as failed");
            }
            continue;
        }
        // One decision per session, on its oldest unfinished request.
        if !seen.insert(request.session_id.clone()) {
            continue;
        }
        match (&request.running, &request.worker) {
            (Some(running), Some(worker)) if worker == workers.id() => {
                if !workers.is_running(running) && !workers.claims_in_flight() {
                    // Ours, but no task of ours runs it (its outcome could
                    // not be stored): back to the queue.
                    sql::release(&state.db, &request.session_id, running, worker).await?;
                    workers.wake.notify_one();
                }
            }
            (Some(_), Some(worker)) => {
                let lives = match alive.get(worker) {
                    Some(lives) => *lives,
                    None => {
                        let lives = workers.lease().is_alive(worker).await.unwrap_or(true);
                        alive.insert(worker.clone(), lives);
                        lives
                    }
                };
                if !lives {
                    let Some(permit) = workers.try_permit() else {
                        break;
                    };
                    tracing::warn!(session_id = %request.session_id, dead = %worker, "taking over the session of a replica that is gone");
                    take(state, permit, &request.session_id, Some(worker)).await?;
                }
            }
            _ => {
                let Some(permit) = workers.try_permit() else {
                    break;
                };
                take(state, permit, &request.session_id, None).await?;
            }
        }
    }
    Ok(())
}

/// Claims the session's head (from `replacing`, a dead lease, if given) and
/// runs it here.
async fn take(
    state: &AppState,
    permit: tokio::sync::OwnedSemaphorePermit,
    session_id: &str,
    replacing: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let _claiming = state.workers.claiming();
    let Some(request_id) =
        sql::claim_head(&state.db, session_id, state.workers.id(), replacing).await?
    else {
        return Ok(());
    };
    match load_job(state, &request_id).await {
        Some(job) => spawn(state, permit, job),
        None => release_unloadable(state, session_id, &request_id).await,
    }
    Ok(())
}

fn report(pending: &[sql::Pending]) {
    let waiting: Vec<&sql::Pending> = pending
        .iter()
        .filter(|request| request.queued && request.running.as_deref() != Some(&request.request_id))
        .collect();
    let oldest = waiting
        .iter()
        .map(|request| request.created_at)
        .min()
        .map(|created| {
            chrono::Utc::now()
                .signed_duration_since(created)
                .to_std()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    metrics::record_queue(waiting.len(), pending.len() - waiting.len(), oldest);
}
