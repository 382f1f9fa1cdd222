//! What can go wrong loading an asset directory or reconciling it.

use std::path::PathBuf;

use app_support::{ExitStatus, HasExitStatus};
use shared_clients::llamastack::LlamaStackError;

/// The asset directory is unreadable or invalid. Names the file (relative to
/// the directory) and, where there is one, the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    #[error("{}: cannot read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    #[error("{}: field `{field}`: {message}", file.display())]
    Invalid {
        file: PathBuf,
        field: String,
        message: String,
    },

    #[error("{}: {message}", file.display())]
    InvalidFile { file: PathBuf, message: String },

    /// An entry the loader will not read: a link leading outside the
    /// directory or in a loop, a FIFO or device, a file over a size limit.
    #[error("{}: refused: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

impl HasExitStatus for AssetError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Config
    }
}

/// Reconciling could not even be planned.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reading the current state from LlamaStack: {0}")]
    Server(#[from] LlamaStackError),

    #[error("LlamaStack serves no {what}, which {needed_by} needs")]
    Missing {
        what: &'static str,
        needed_by: String,
    },
}

impl HasExitStatus for ReconcileError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            ReconcileError::Server(error) => error.exit_status(),
            ReconcileError::Missing { .. } => ExitStatus::Failure,
        }
    }
}

/// Steps of an applied plan failed: the run exits 1 with this one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failed} of {steps} steps failed; first: {first}")]
pub struct StepsFailed {
    pub failed: usize,
    pub steps: usize,
    /// The first failed step and its error.
    pub first: String,
}

impl HasExitStatus for StepsFailed {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Failure
    }
}
