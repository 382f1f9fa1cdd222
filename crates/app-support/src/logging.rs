//! One logging setup for all binaries: human-readable on a terminal, JSON
//! lines when `LOG_FORMAT=json` (clusters). `RUST_LOG` wins over `LOG_LEVEL`,
//! which wins over the default `info`. Logs go to stderr; stdout is kept for
//! the command's own output (a plan, a status table, a summary).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static JSON: AtomicBool = AtomicBool::new(false);

/// Output format of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT=json` selects JSON; anything else is human-readable.
    pub fn from_env() -> Self {
        match std::env::var("LOG_FORMAT") {
            Ok(value) if value.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Human,
        }
    }
}

/// Installs the global subscriber. Safe to call once per process.
pub fn init_logging() {
    init_logging_with("info");
}

/// [`init_logging`] with another filter when neither `RUST_LOG` nor
/// `LOG_LEVEL` is set (e.g. `info,rmcp=warn` for a chatty dependency).
pub fn init_logging_with(default_filter: &str) {
    let format = LogFormat::from_env();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(std::env::var("LOG_LEVEL").unwrap_or_default()))
        .ok()
        .filter(|filter| filter.to_string() != "")
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => {
            JSON.store(true, Ordering::Relaxed);
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .try_init()
        }
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
    };
    // A second call (tests, embedding) keeps the first subscriber.
    drop(installed);
}

pub(crate) fn json_enabled() -> bool {
    JSON.load(Ordering::Relaxed)
}
