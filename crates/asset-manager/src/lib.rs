//! The asset directory and its reconciliation into LlamaStack.
//!
//! [`load`] reads and validates a directory into [`Assets`]; [`plan`] reads
//! the server's state once and compares it with what the directory
//! describes; [`apply`] carries the plan out. Nothing is deleted and
//! recreated unless it changed, and nothing this tool does not own is
//! removed unless [`Options::prune`] is set. How ownership and change are
//! recorded on the server is documented in ARCHITECTURE.md ("Asset
//! reconciliation: ownership and change").

mod actual;
mod apply;
mod assets;
mod desired;
mod error;
mod limits;
mod loader;
mod plan;

pub use actual::{Actual, is_managed};
pub use apply::{Outcome, Report, Summary, apply};
pub use assets::{AgentAsset, Assets, Document, KnowledgeBase, ToolgroupAsset};
pub use desired::{
    CHUNK_SIZE_IN_TOKENS, Desired, DesiredAgent, DesiredFile, DesiredKnowledgeBase, MANAGED_BY,
    ServerFacts, desired,
};
pub use error::{AssetError, ReconcileError, StepsFailed};
pub use limits::{Limits, MAX_DIRECTORY_DEPTH, MAX_YAML_DEPTH};
pub use loader::{load, load_with_limits};
pub use plan::{Action, Kind, Options, Plan, Step};

use shared_clients::llamastack::LlamaStackClient;

/// Reads the server's state and plans the changes that make it match `assets`.
pub async fn plan(
    client: &LlamaStackClient,
    assets: &Assets,
    options: Options,
) -> Result<Plan, ReconcileError> {
    let actual = actual::read(client).await?;
    let facts = ServerFacts::from_lists(&actual.models, &actual.providers);
    let desired = desired::desired(assets, &facts)?;
    Ok(plan::plan(&desired, &actual, options))
}

/// Plans and applies: the whole reconciliation.
pub async fn reconcile(
    client: &LlamaStackClient,
    assets: &Assets,
    options: Options,
) -> Result<Report, ReconcileError> {
    let plan = plan(client, assets, options).await?;
    Ok(apply(client, &plan).await)
}
