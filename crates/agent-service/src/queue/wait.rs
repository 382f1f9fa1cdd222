//! A synchronous caller waiting for its request's outcome: told at once
//! when it runs on this replica, read from the database when another one
//! runs it.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;

use super::{Completed, Outcome};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

/// How often a caller waiting for a request run elsewhere looks at it.
const POLL: Duration = Duration::from_millis(250);

/// Waits for the outcome of a request this caller submitted: told at once
/// when it runs here, read from the database when another replica runs it.
/// `None` when `deadline` passes first.
pub async fn wait(
    state: &AppState,
    request_id: &str,
    mut told: oneshot::Receiver<Outcome>,
    deadline: Duration,
) -> Result<Option<Outcome>, ApiError> {
    let started = Instant::now();
    let outcome = loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            break None;
        }
        tokio::select! {
            outcome = &mut told => match outcome {
                Ok(outcome) => break Some(outcome),
                // dropped: only by unwatch; read the row from now on
                Err(_) => tokio::time::sleep(POLL.min(remaining)).await,
            },
            () = tokio::time::sleep(POLL.min(remaining)) => {}
        }
        if let Some(outcome) = stored_outcome(state, request_id).await? {
            break Some(outcome);
        }
    };
    state.workers.unwatch(request_id);
    Ok(outcome)
}

/// The outcome of a finished request, from its row.
async fn stored_outcome(state: &AppState, request_id: &str) -> Result<Option<Outcome>, ApiError> {
    let Some((log, _)) = store::get_request(&state.db, request_id).await? else {
        return Ok(None);
    };
    if log.completed_at.is_none() {
        return Ok(None);
    }
    let metadata = log.response_metadata.clone().unwrap_or(Value::Null);
    Ok(Some(match log.response_content {
        Some(content) => Outcome::Completed(Completed {
            request_id: log.request_id,
            session_id: log.session_id,
            content,
            agent: log.agent_id.unwrap_or_default(),
            metadata,
            processing_time_ms: log.processing_time_ms.unwrap_or_default(),
        }),
        None => {
            let reason = metadata
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("failed")
                .to_owned();
            Outcome::Failed {
                timed_out: reason.starts_with("no answer within"),
                agent: log.agent_id,
                reason,
            }
        }
    }))
}
