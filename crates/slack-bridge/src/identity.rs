//! Who a Slack user is: `users.info` with the bot token, the email of the
//! profile (`users:read.email`). Answers are kept for
//! `SLACK_USER_CACHE_TTL`; concurrent look-ups of one user share one call.
//! A failed call is not kept, so the next request asks again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::client::{SlackClient, SlackError};
use crate::inbox::Identity;

/// Entries beyond this are swept of expired ones; a full map of fresh
/// entries is emptied (the cache is a convenience, never the truth).
const MAX_ENTRIES: usize = 10_000;

/// The outcome of a look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Person(Identity),
    /// The user exists but their profile shows no email (a bot, a guest
    /// without one, or the app lacks `users:read.email`).
    NoEmail,
    /// `user_not_found`, or a deleted user.
    NotFound,
}

type Key = (Option<String>, String);

struct Slot {
    value: OnceCell<(Instant, Lookup)>,
}

/// The `users.info` cache.
pub struct UserDirectory {
    client: SlackClient,
    ttl: Duration,
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
    calls: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for UserDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDirectory")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl UserDirectory {
    pub fn new(client: SlackClient, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            slots: Mutex::default(),
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many `users.info` calls this directory has made.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The person behind `user` of workspace `team_id`.
    pub async fn resolve(&self, team_id: Option<&str>, user: &str) -> Result<Lookup, SlackError> {
        let key: Key = (team_id.map(str::to_owned), user.to_owned());
        // A slot found expired is replaced once; a fresh one then answers.
        for _ in 0..2 {
            let slot = self.slot(&key);
            let (fetched, lookup) = slot
                .value
                .get_or_try_init(|| async {
                    let lookup = self.fetch(team_id, user).await?;
                    Ok::<_, SlackError>((Instant::now(), lookup))
                })
                .await?;
            if fetched.elapsed() < self.ttl {
                return Ok(lookup.clone());
            }
            self.evict(&key, &slot);
        }
        self.fetch(team_id, user).await
    }

    fn slot(&self, key: &Key) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(key) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            slots.retain(|_, slot| {
                slot.value
                    .get()
                    .is_none_or(|(fetched, _)| fetched.elapsed() < ttl)
            });
            if slots.len() >= MAX_ENTRIES {
                slots.clear();
            }
        }
        let slot = Arc::new(Slot {
            value: OnceCell::new(),
        });
        slots.insert(key.clone(), Arc::clone(&slot));
        slot
    }

    fn evict(&self, key: &Key, expired: &Arc<Slot>) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots
            .get(key)
            .is_some_and(|slot| Arc::ptr_eq(slot, expired))
        {
            slots.remove(key);
        }
    }

    async fn fetch(&self, team_id: Option<&str>, user: &str) -> Result<Lookup, SlackError> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = match self.client.user_info(user).await {
            Ok(profile) => profile,
            Err(SlackError::Permanent { reason, .. }) if reason == "user_not_found" => {
                return Ok(Lookup::NotFound);
            }
            Err(error) => return Err(error),
        };
        if profile.deleted {
            return Ok(Lookup::NotFound);
        }
        let email = profile
            .profile
            .email
            .map(|email| email.trim().to_lowercase())
            .filter(|email| email.contains('@'));
        Ok(match email {
            Some(email) => Lookup::Person(Identity {
                email,
                slack_user_id: profile.id,
                team_id: team_id.map(str::to_owned).or(profile.team_id),
            }),
            None => Lookup::NoEmail,
        })
    }
}
