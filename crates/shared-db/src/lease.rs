//! A process's lease on its work: a PostgreSQL session-level advisory lock
//! on a connection of its own, held for as long as the process lives.
//!
//! Work a process takes (a request, a delivery) is marked with its lease
//! id. Whether that process still lives is then a question the database
//! answers for everyone: the lock is held exactly while its connection is
//! open. A process killed with SIGKILL loses its connection, and with it
//! the lock, at once; a process on a node that vanished, once the server's
//! TCP keepalive gives up on it (about 25 s, set on the connection). Nobody
//! has to heartbeat, and no clock has to agree with another.

use std::time::Duration;

use sea_orm::sqlx::{self, Connection as _, PgConnection};
use tokio::sync::Mutex;

use crate::config::DbConfig;

/// Keepalive of the lease connection, on the server's side: probe after
/// 10 s of silence, every 5 s, give up after 3 probes.
const KEEPALIVE: &str = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                         SET tcp_keepalives_count = 3";

// The advisory-lock key of a lease id is computed by the server:
// hashtextextended('ssa-lease/' || id, 0).
const LOCK: &str = "SELECT pg_advisory_lock(hashtextextended('ssa-lease/' || $1, 0))";
const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtextextended('ssa-lease/' || $1, 0))";
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended('ssa-lease/' || $1, 0))";

/// One process's lease. Its connection is opened, and the lock taken, by
/// [`Lease::ensure`]; if the connection breaks, the next `ensure` takes
/// the lock again (work taken over meanwhile is then someone else's: every
/// write of leased work checks the lease id it carries).
pub struct Lease {
    id: String,
    config: DbConfig,
    connection: Mutex<Option<PgConnection>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("id", &self.id).finish()
    }
}

impl Lease {
    /// A lease named `id` (unique per process: a host name and a random part).
    pub fn new(config: &DbConfig, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            config: config.clone(),
            connection: Mutex::new(None),
        }
    }

    /// `<HOSTNAME>-<8 random hex digits>`: readable in a row, unique per start.
    pub fn fresh_id() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "ssa".to_owned());
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("{host}-{}", &random[..8])
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Holds the lease: checks the connection, or opens one and takes the
    /// lock. Cheap when held (one round trip).
    pub async fn ensure(&self) -> Result<(), sqlx::Error> {
        let mut connection = self.connection.lock().await;
        if let Some(open) = connection.as_mut() {
            match open.ping().await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(lease = %self.id, %error, "lease connection lost; taking the lease again");
                    *connection = None;
                }
            }
        }
        let mut open = PgConnection::connect_with(&self.config.connect_options()).await?;
        sqlx::raw_sql(KEEPALIVE).execute(&mut open).await?;
        sqlx::query(LOCK).bind(&self.id).execute(&mut open).await?;
        *connection = Some(open);
        tracing::debug!(lease = %self.id, "lease held");
        Ok(())
    }

    /// Whether the process holding lease `other` still lives (its lock is
    /// held). Never asked of one's own id.
    pub async fn is_alive(&self, other: &str) -> Result<bool, sqlx::Error> {
        if other == self.id {
            return Ok(true);
        }
        self.ensure().await?;
        let mut guard = self.connection.lock().await;
        let Some(connection) = guard.as_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let (taken,): (bool,) = sqlx::query_as(TRY_LOCK)
            .bind(other)
            .fetch_one(&mut *connection)
            .await?;
        if taken {
            sqlx::query(UNLOCK)
                .bind(other)
                .execute(&mut *connection)
                .await?;
        }
        Ok(!taken)
    }

    /// Keeps the lease held: checks it every `interval`, takes it again
    /// after the connection broke. Ends with the process.
    pub fn keep(self: &std::sync::Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let lease = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = lease.ensure().await {
                    tracing::warn!(lease = %lease.id, %error, "lease not held; retrying");
                }
                tokio::time::sleep(interval).await;
            }
        })
    }

    /// Gives the lease up (closing its connection releases the lock).
    pub async fn release(&self) {
        if let Some(connection) = self.connection.lock().await.take() {
            let _ = connection.close().await;
        }
    }
}
