//! The request queue and its workers, on PostgreSQL alone.
//!
//! Every request, synchronous or not, is stored first and appended to its
//! session's queue (`sql::enqueue`); a worker then runs the session's
//! requests one at a time, in order. Any replica may run any session: a
//! worker marks what it runs with its lease id (`shared_db::Lease`), and a
//! replica that finds a session run by a dead lease takes it over. So:
//!
//! - one request of a session runs at a time, on one worker, in order;
//! - a replica killed mid-turn loses nothing: its lease ends with its
//!   connection, and the next sweep of another replica (every
//!   `WORKER_POLL_INTERVAL`) takes its sessions over and runs their heads
//!   again from the start;
//! - a request's outcome is written together with its session's queue, and
//!   only if the request is still the writer's, so none completes twice;
//! - on SIGTERM a replica stops taking work, gives what runs the drain
//!   deadline, then hands the rest back to the queue.
//!
//! The worker that stores a request takes its session's next one, so a
//! busy conversation stays on one replica without polling.

mod run;
pub mod sql;
mod sweep;
mod wait;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared_db::Lease;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::AbortHandle;

pub use run::Completed;

/// How a request ended, for whoever waits for it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed(Completed),
    Failed {
        agent: Option<String>,
        reason: String,
        timed_out: bool,
    },
    /// This replica stopped before finishing; the request is back in its
    /// session's queue and another replica runs it.
    Released,
}

/// A replica's workers: its lease, its capacity, what it runs and who
/// waits for what.
pub struct Workers {
    lease: Arc<Lease>,
    permits: Arc<Semaphore>,
    /// Requests run here: request id → (session id, task).
    running: Mutex<HashMap<String, (String, AbortHandle)>>,
    /// Callers waiting for a request's outcome (the synchronous routes).
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Sessions that got a request here while no worker was free.
    pending: Mutex<VecDeque<String>>,
    /// Set on shutdown: nothing new is taken.
    draining: AtomicBool,
    /// Wakes the sweep (a worker became free, a session is pending).
    wake: Notify,
    /// Row id below which no request is unfinished (the sweep's start).
    low_water: AtomicI32,
    /// Claims written but not yet registered in `running`: while any is,
    /// the sweep does not take a request of ours that it cannot find
    /// running for a lost one.
    claiming: AtomicUsize,
    poll_interval: Duration,
}

impl Workers {
    pub fn new(lease: Lease, concurrency: usize, poll_interval: Duration) -> Self {
        Self {
            lease: Arc::new(lease),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            running: Mutex::new(HashMap::new()),
            waiters: Mutex::new(HashMap::new()),
            pending: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            wake: Notify::new(),
            low_water: AtomicI32::new(0),
            claiming: AtomicUsize::new(0),
            poll_interval,
        }
    }

    /// This replica's lease id, written into what it runs.
    pub fn id(&self) -> &str {
        self.lease.id()
    }

    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }

    /// A free worker, unless all are busy or the replica is stopping.
    pub(crate) fn try_permit(&self) -> Option<OwnedSemaphorePermit> {
        if self.draining.load(Ordering::Acquire) {
            return None;
        }
        self.permits.clone().try_acquire_owned().ok()
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Registers interest in `request_id`'s outcome (before it is queued,
    /// so a fast worker cannot finish first).
    pub(crate) fn watch(&self, request_id: &str) -> oneshot::Receiver<Outcome> {
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(request_id.to_owned(), sender);
        }
        receiver
    }

    pub(crate) fn unwatch(&self, request_id: &str) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(request_id);
        }
    }

    fn tell(&self, request_id: &str, outcome: Outcome) {
        let waiter = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut waiters| waiters.remove(request_id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
        }
    }

    /// A session got a request here but no worker was free for it.
    pub(crate) fn defer(&self, session_id: &str) {
        if let Ok(mut pending) = self.pending.lock()
            && !pending.iter().any(|known| known == session_id)
        {
            pending.push_back(session_id.to_owned());
        }
        self.wake.notify_one();
    }

    fn next_deferred(&self) -> Option<String> {
        self.pending.lock().ok()?.pop_front()
    }

    /// Held from before a claim is written until its job is registered.
    fn claiming(self: &Arc<Self>) -> ClaimGuard {
        self.claiming.fetch_add(1, Ordering::AcqRel);
        ClaimGuard(self.clone())
    }

    fn claims_in_flight(&self) -> bool {
        self.claiming.load(Ordering::Acquire) > 0
    }

    fn is_running(&self, request_id: &str) -> bool {
        self.running
            .lock()
            .is_ok_and(|running| running.contains_key(request_id))
    }

    /// How many requests run here now.
    pub fn busy(&self) -> usize {
        self.running
            .lock()
            .map(|running| running.len())
            .unwrap_or(0)
    }

    /// Stops taking work, lets what runs finish within `grace`, then hands
    /// the rest back to the queue, within [`HAND_BACK_TIME`] in all, and
    /// tells their waiters. What cannot be handed back in that time (the
    /// database is gone, say) is left to the lease, which ends with the
    /// process: the drain never outlasts its deadline.
    pub async fn drain(&self, db: &sea_orm::DatabaseConnection, grace: Duration) {
        self.draining.store(true, Ordering::Release);
        self.wake.notify_waiters();
        let started = Instant::now();
        while self.busy() > 0 && started.elapsed() < grace {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left: Vec<(String, String, AbortHandle)> = self
            .running
            .lock()
            .map(|running| {
                running
                    .iter()
                    .map(|(request, (session, task))| {
                        (request.clone(), session.clone(), task.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + HAND_BACK_TIME;
        for (request_id, session_id, task) in left {
            let handed = tokio::time::timeout_at(
                deadline,
                sql::release(db, &session_id, &request_id, self.id()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(sea_orm::DbErr::Custom(format!(
                    "no answer from the database within {HAND_BACK_TIME:?}"
                )))
            });
            match handed {
                Ok(true) => {
                    task.abort();
                    if let Ok(mut running) = self.running.lock() {
                        running.remove(&request_id);
                    }
                    tracing::warn!(%request_id, "drain deadline: handed back to the queue");
                    self.tell(&request_id, Outcome::Released);
                }
                // Finished meanwhile, or no longer ours.
                Ok(false) => {}
                Err(error) => {
                    // The lease ends with the process: another replica
                    // takes the request over all the same.
                    tracing::warn!(%request_id, %error, "could not hand the request back; its lease ends with this process");
                    task.abort();
                    self.tell(&request_id, Outcome::Released);
                }
            }
        }
    }
}

/// How long a draining replica spends handing its requests back, in all
/// (the time the drain deadline leaves after the workers' grace).
pub const HAND_BACK_TIME: Duration = Duration::from_secs(2);

struct ClaimGuard(Arc<Workers>);

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        self.0.claiming.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("id", &self.id())
            .field("busy", &self.busy())
            .finish_non_exhaustive()
    }
}

pub use run::{Submitted, start_background, submit};
pub use wait::wait;
