//! Database settings, read from the same environment variables and with the
//! same defaults as the Python system, so one Kubernetes Secret serves both.
//! `DATABASE_URL`, when set, replaces the `POSTGRES_*` connection settings.
//! The password is kept in a [`SecretString`] and never formatted.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use app_support::{ConfigError, Seconds, from_env};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::{ConnectOptions as _, Connection as _, Pool, Postgres};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A pooled connection idle this long is checked before use.
const STALE_AFTER: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
#[serde(default)]
struct RawDbConfig {
    database_url: Option<SecretString>,
    postgres_host: String,
    postgres_port: u16,
    postgres_db: String,
    postgres_user: String,
    postgres_password: Option<SecretString>,
    db_pool_size: u32,
    db_max_overflow: u32,
    db_pool_timeout: Seconds,
    db_pool_recycle: Seconds,
    sql_debug: bool,
}

impl Default for RawDbConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            postgres_host: "pgvector".into(),
            postgres_port: 5432,
            postgres_db: "llama_agents".into(),
            postgres_user: "pgvector".into(),
            postgres_password: None,
            db_pool_size: 5,
            db_max_overflow: 10,
            db_pool_timeout: Seconds::new(30),
            db_pool_recycle: Seconds::new(3600),
            sql_debug: false,
        }
    }
}

/// Where the database is and how to pool connections to it.
#[derive(Clone)]
pub struct DbConfig {
    connect: PgConnectOptions,
    /// `SQLAlchemy`'s `pool_size + max_overflow`: the most connections open at once.
    pub max_connections: u32,
    /// How long a caller waits for a free connection (`DB_POOL_TIMEOUT`).
    pub acquire_timeout: Duration,
    /// Connections older than this are closed and replaced (`DB_POOL_RECYCLE`).
    pub max_lifetime: Duration,
    /// Log every statement at `info` (`SQL_DEBUG`): its text, rows and
    /// time, never the values bound to it.
    pub sql_debug: bool,
}

impl DbConfig {
    /// Reads and validates the settings; every bad variable is named.
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw: RawDbConfig = from_env()?;
        Self::from_raw(raw)
    }

    /// Settings for a full connection URL (tests, tools), with default pooling.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        Self::from_raw(RawDbConfig {
            database_url: Some(SecretString::from(url)),
            ..RawDbConfig::default()
        })
    }

    fn from_raw(raw: RawDbConfig) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        if raw.db_pool_size == 0 {
            problems.push("DB_POOL_SIZE: must be at least 1".to_owned());
        }
        if raw.db_pool_timeout.is_zero() {
            problems.push("DB_POOL_TIMEOUT: must be at least 1 second".to_owned());
        }
        let connect = match &raw.database_url {
            // The URL holds the password: report what is wrong, never the URL.
            Some(url) => database_url_options(url).map_err(|why| {
                problems.push(format!("DATABASE_URL: {why}"));
            }),
            None => {
                if raw.postgres_host.trim().is_empty() {
                    problems.push("POSTGRES_HOST: must not be empty".to_owned());
                }
                if raw.postgres_port == 0 {
                    problems.push("POSTGRES_PORT: must be between 1 and 65535".to_owned());
                }
                let options = PgConnectOptions::new_without_pgpass()
                    .host(&raw.postgres_host)
                    .port(raw.postgres_port)
                    .database(&raw.postgres_db)
                    .username(&raw.postgres_user);
                Ok(match &raw.postgres_password {
                    Some(password) => options.password(password.expose_secret()),
                    None => options,
                })
            }
        };
        ConfigError::check(problems)?;
        let connect = connect.map_err(|()| ConfigError::new("DATABASE_URL: invalid"))?;
        Ok(Self {
            connect: connect.disable_statement_logging(),
            max_connections: raw.db_pool_size + raw.db_max_overflow,
            acquire_timeout: raw.db_pool_timeout.duration(),
            max_lifetime: raw.db_pool_recycle.duration().max(Duration::from_secs(1)),
            sql_debug: raw.sql_debug,
        })
    }

    /// Names the connection process in `pg_stat_activity`.
    pub fn with_application_name(mut self, name: &str) -> Self {
        self.connect = self.connect.application_name(name);
        self
    }

    /// `user@host:port/database`, safe to log.
    pub fn target(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.connect.get_username(),
            self.connect.get_host(),
            self.connect.get_port(),
            self.connect.get_database().unwrap_or("")
        )
    }

    pub(crate) fn connect_options(&self) -> PgConnectOptions {
        if self.sql_debug {
            // Both levels: with statement logging disabled the slow-statement
            // threshold is zero, so every statement counts as slow and
            // would be logged at the slow level (off).
            self.connect
                .clone()
                .log_statements(tracing::log::LevelFilter::Info)
                .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1))
        } else {
            self.connect.clone()
        }
    }

    /// A pool that opens connections on first use: a service starts and
    /// reports "not ready" instead of failing when the database is down.
    pub fn lazy_pool(&self) -> Pool<Postgres> {
        self.pool_options()
            .connect_lazy_with(self.connect_options())
    }

    pub(crate) fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(0)
            .acquire_timeout(self.acquire_timeout)
            .max_lifetime(self.max_lifetime)
            // sqlx pings on every acquire by default: a round trip per
            // statement. Only a connection that sat idle may have died
            // (a database restart, a proxy timeout), so only those are pinged.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= STALE_AFTER {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("target", &self.target())
            .field("password", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("sql_debug", &self.sql_debug)
            .finish()
    }
}

/// The connection parameters sqlx understands in a URL's query; others are
/// dropped here, by name only, because sqlx would log their values (and a
/// parameter such as `sslpassword` is a secret).
const KNOWN_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// `DATABASE_URL` as connection options. The URL holds the password: what
/// is wrong is said, the URL and the values of its parameters never are.
fn database_url_options(url: &SecretString) -> Result<PgConnectOptions, String> {
    let mut parsed = url::Url::parse(url.expose_secret())
        .map_err(|error| format!("not a valid URL ({error})"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "expected a postgres:// or postgresql:// URL, found a {}:// one",
            parsed.scheme()
        ));
    }
    type Pairs = Vec<(String, String)>;
    let (known, ignored): (Pairs, Pairs) = parsed
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .partition(|(key, _)| {
            KNOWN_PARAMETERS.contains(&key.as_str())
                || (key.starts_with("options[") && key.ends_with(']'))
        });
    for (key, _) in &ignored {
        tracing::warn!(parameter = %key, "DATABASE_URL: ignoring a connection parameter sqlx does not know");
    }
    if known.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(&known);
    }
    PgConnectOptions::from_str(parsed.as_str()).map_err(|error| {
        let message = error.to_string();
        if message.contains(parsed.as_str()) || message.contains(url.expose_secret()) {
            "not a valid postgres:// URL".to_owned()
        } else {
            format!("not a valid postgres:// URL ({message})")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawDbConfig {
        RawDbConfig::default()
    }

    #[test]
    fn defaults_match_the_python_system() {
        let config = DbConfig::from_raw(raw()).unwrap();
        assert_eq!(config.target(), "pgvector@pgvector:5432/llama_agents");
        assert_eq!(config.max_connections, 15);
        assert_eq!(config.acquire_timeout, Duration::from_secs(30));
    }

    #[test]
    fn database_url_replaces_the_postgres_settings() {
        let config = DbConfig::from_raw(RawDbConfig {
            database_url: Some("postgres://app:s3cret@db.example:6543/agents".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(config.target(), "app@db.example:6543/agents");
    }

    #[test]
    fn debug_output_never_contains_the_password() {
        let config = DbConfig::from_raw(RawDbConfig {
            postgres_password: Some("hunter2-secret".into()),
            ..raw()
        })
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2-secret"));
    }

    #[test]
    fn an_invalid_url_is_reported_without_echoing_it() {
        let error = DbConfig::from_raw(RawDbConfig {
            database_url: Some("postgres://app:s3cret@db:notaport/agents".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("DATABASE_URL"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn a_url_of_another_database_is_refused() {
        for url in [
            "mysql://app:s3cret@db/agents",
            "sqlite://agents.db",
            "db:5432",
        ] {
            let error = DbConfig::from_url(url).unwrap_err().to_string();
            assert!(error.contains("DATABASE_URL"), "{url}: {error}");
            assert!(!error.contains("s3cret"), "{url}: {error}");
        }
    }

    #[test]
    fn unknown_url_parameters_are_dropped_and_known_ones_kept() {
        let config = DbConfig::from_url(
            "postgres://app:s3cret@db:5432/agents?sslpassword=hunter2&application_name=x&sslmode=disable",
        )
        .unwrap();
        assert_eq!(config.target(), "app@db:5432/agents");
        assert_eq!(config.connect.get_application_name(), Some("x"));
    }

    #[test]
    fn a_zero_pool_size_is_named() {
        let error = DbConfig::from_raw(RawDbConfig {
            db_pool_size: 0,
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("DB_POOL_SIZE"), "{error}");
    }
}
