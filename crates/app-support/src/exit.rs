//! Exit codes in the sysexits style, so a Job's `backoffLimit`, an operator
//! and a script can tell "fix your settings" from "try again later" from
//! "this run failed".

use std::fmt::Display;
use std::process::ExitCode;

/// Why a command did not succeed; each kind has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The work itself failed (a migration, a registration, a request).
    Failure,
    /// The command line was wrong or a guarded action was not confirmed.
    Usage,
    /// A dependency (PostgreSQL, LlamaStack, a lock holder) stayed unavailable.
    Unavailable,
    /// The configuration (environment, files) is invalid.
    Config,
}

impl ExitStatus {
    /// The numeric process exit code (`EX_USAGE`, `EX_UNAVAILABLE`, `EX_CONFIG`).
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 64,
            ExitStatus::Unavailable => 69,
            ExitStatus::Config => 78,
        }
    }
}

/// An error that knows which exit code it deserves.
pub trait HasExitStatus: Display {
    fn exit_status(&self) -> ExitStatus;
}

/// The error a binary's `run` returns: any [`HasExitStatus`] error converts into it with
/// `?`, and guards in the binary itself can build one directly.
#[derive(Debug)]
pub struct Fatal {
    status: ExitStatus,
    message: String,
}

impl Fatal {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

impl Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: HasExitStatus> From<E> for Fatal {
    fn from(error: E) -> Self {
        Self::new(error.exit_status(), error.to_string())
    }
}

/// Which tokio runtime a binary's work runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// One thread: jobs that do one thing after another.
    CurrentThread,
    /// A worker per core: servers.
    MultiThread,
}

/// The body of a binary's `main`: runs `work` on a tokio runtime and ends
/// the process as [`finish`] does.
pub fn run(
    binary: &str,
    runtime: Runtime,
    work: impl std::future::Future<Output = Result<(), Fatal>>,
) -> ExitCode {
    let built = match runtime {
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let result = match built {
        Ok(runtime) => runtime.block_on(work),
        Err(error) => Err(Fatal::new(
            ExitStatus::Failure,
            format!("tokio runtime: {error}"),
        )),
    };
    finish(binary, result)
}

/// Ends `main`: success is 0; a failure is reported as one line on stderr
/// (through the log pipeline when it is JSON) and mapped to its exit code.
pub fn finish(binary: &str, result: Result<(), Fatal>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            report(binary, &fatal.message);
            ExitCode::from(fatal.status.code())
        }
    }
}

fn report(binary: &str, message: &str) {
    // One line, whatever the error chain looks like.
    let line = message.replace('\n', " ");
    if crate::logging::json_enabled() {
        tracing::error!(target: "exit", "{line}");
    } else {
        eprintln!("{binary}: error: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_follow_sysexits() {
        let codes = [
            ExitStatus::Failure,
            ExitStatus::Usage,
            ExitStatus::Unavailable,
            ExitStatus::Config,
        ]
        .map(ExitStatus::code);
        assert_eq!(codes, [1, 64, 69, 78]);
    }
}
