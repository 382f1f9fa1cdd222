//! What every binary of the image does the same way: set up logging, read
//! its settings from the environment with errors that name the variable,
//! map a failure to a process exit code a Kubernetes Job can act on, and
//! report that failure as one line.

mod env_config;
mod exit;
mod logging;

pub use env_config::{ConfigError, from_env};
pub use exit::{ExitStatus, Failure, Fatal, Runtime, finish, run};
pub use logging::{LogFormat, init_logging, init_logging_with};
