//! The statements of the request queue. The queue of a session lives in its
//! row, in `conversation_context` (a `json` column of the alembic schema):
//!
//! - `queue`: the ids of its requests not yet finished, oldest first;
//! - `running`: `{request_id, worker, since}` of the one being processed,
//!   absent when none is.
//!
//! Every change of a session's queue is one statement on its row, and each
//! statement that changes a request also changes the queue, so the two
//! cannot disagree. A worker's writes name its lease id: a request taken
//! over by another worker cannot be finished by the first.

mod heads;
mod intake;

pub use heads::{Pending, claim_head, fail_unqueued, last_id, load, pending, release};
pub use intake::{
    Enqueued, Event, Finished, NewRequest, Outcome, enqueue, finish, hot_path_statements,
};

/// The session row's context as jsonb (the column is `json`).
pub(super) const CTX: &str = "COALESCE(request_sessions.conversation_context::jsonb, '{}'::jsonb)";
