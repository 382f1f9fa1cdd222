//! What every binary of the image does the same way: set up logging, parse
//! its command line, read its settings from the environment with errors
//! that name the variable,
//! map a failure to a process exit code a Kubernetes Job can act on, and
//! report that failure as one line.

mod cli;
mod env_config;
mod exit;
mod logging;
mod seconds;

pub use cli::{parse_cli, parse_cli_from};
pub use env_config::{ConfigError, env_vars, from_env};
pub use exit::{ExitStatus, Fatal, HasExitStatus, Runtime, finish, run};
pub use logging::{LogFormat, init_logging, init_logging_with};
pub use seconds::{MAX_SECONDS, Seconds};
