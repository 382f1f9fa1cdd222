//! An inbox that records every call, keeps the contract of
//! `SlackInbox` (an event id is recorded atomically with its message),
//! and can be made slow or failing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use slack_bridge::{Identity, InboxError, SessionSummary, SlackInbox, SlackMessage, Submitted};

#[derive(Debug, Default)]
pub struct Record {
    pub calls: Vec<String>,
    pub submitted: Vec<SlackMessage>,
    pub events: HashSet<String>,
    pub resets: Vec<Identity>,
    /// Sessions by id, with the email of their owner.
    pub sessions: HashMap<String, (String, SessionSummary)>,
    pub fail_submits: usize,
    pub submit_delay: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct RecordingInbox {
    record: Arc<Mutex<Record>>,
}

impl RecordingInbox {
    pub fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call made, as `method(argument)`.
    pub fn calls(&self) -> Vec<String> {
        self.record().calls.clone()
    }

    pub fn submitted(&self) -> Vec<SlackMessage> {
        self.record().submitted.clone()
    }

    pub fn resets(&self) -> Vec<Identity> {
        self.record().resets.clone()
    }

    /// The next `times` submits fail (nothing is recorded).
    pub fn fail_next_submits(&self, times: usize) {
        self.record().fail_submits = times;
    }

    /// Submits take `delay` before they return.
    pub fn delay_submits(&self, delay: Duration) {
        self.record().submit_delay = delay;
    }

    pub fn add_session(&self, owner_email: &str, summary: SessionSummary) {
        self.record().sessions.insert(
            summary.session_id.clone(),
            (owner_email.to_owned(), summary),
        );
    }

    fn log(&self, call: String) {
        self.record().calls.push(call);
    }
}

impl SlackInbox for RecordingInbox {
    async fn seen_event(&self, event_id: &str) -> Result<bool, InboxError> {
        self.log(format!("seen_event({event_id})"));
        Ok(self.record().events.contains(event_id))
    }

    async fn submit(&self, message: SlackMessage) -> Result<Submitted, InboxError> {
        self.log(format!("submit({})", message.text));
        let delay = self.record().submit_delay;
        tokio::time::sleep(delay).await;
        let mut record = self.record();
        if record.fail_submits > 0 {
            record.fail_submits -= 1;
            return Err(InboxError::new("the queue is down (test)"));
        }
        if let Some(event_id) = &message.event_id
            && !record.events.insert(event_id.clone())
        {
            return Ok(Submitted::Duplicate);
        }
        record.submitted.push(message);
        Ok(Submitted::Accepted)
    }

    async fn reset(&self, identity: &Identity) -> Result<(), InboxError> {
        self.log(format!("reset({})", identity.email));
        self.record().resets.push(identity.clone());
        Ok(())
    }

    async fn describe_session(
        &self,
        identity: &Identity,
        session_id: &str,
    ) -> Result<Option<SessionSummary>, InboxError> {
        self.log(format!(
            "describe_session({}, {session_id})",
            identity.email
        ));
        Ok(self
            .record()
            .sessions
            .get(session_id)
            .filter(|(owner, _)| *owner == identity.email)
            .map(|(_, summary)| summary.clone()))
    }
}
