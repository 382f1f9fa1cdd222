/// Why a directory or desk operation failed. Messages are sentences a user
/// can be shown; they never carry a credential or a URL with one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// The request cannot be made as asked (a limit, a bad identifier).
    #[error("{0}")]
    Refused(String),
    /// The backend failed, refused our credentials or did not answer.
    #[error("{0}")]
    Backend(String),
}
