//! The asset directory, and the reconciliation of its knowledge bases into
//! LlamaStack.
//!
//! [`load`] reads and validates a directory into [`Assets`]: the service
//! runs its agents from it, `register-assets` registers its knowledge
//! bases. [`plan`] reads the server's state once and compares it with what
//! the directory describes (each knowledge base a vector store holding one
//! file per document); [`apply`] carries the plan out. Nothing is deleted
//! and recreated unless it changed, and nothing this tool does not own is
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

pub use actual::{Actual, Legacy, LegacyObject, LegacyVectorDb, is_managed, knowledge_base_of};
pub use apply::{Outcome, Report, Summary, apply};
pub use assets::{
    AgentAsset, Assets, Document, HANDOFF_TOOL_PREFIX, HandoffTool, KnowledgeBase,
    MAX_TOOL_NAME_CHARS, McpServerAsset, ToolgroupAsset, handoff_tool_name, is_tool_name,
};
pub use desired::{
    Desired, DesiredFile, DesiredKnowledgeBase, EmbeddingModel, MANAGED_BY, ServerFacts, desired,
};
pub use error::{AssetError, ReconcileError, StepsFailed};
pub use limits::{Limits, MAX_DIRECTORY_DEPTH, MAX_YAML_DEPTH};
pub use loader::{load, load_with_limits};
pub use plan::{Action, Kind, Leftover, Options, Plan, Step};

use shared_clients::llamastack::LlamaStackClient;

/// Reads the server's state and plans the changes that make it match `assets`.
pub async fn plan(
    client: &LlamaStackClient,
    assets: &Assets,
    options: Options,
) -> Result<Plan, ReconcileError> {
    let actual = actual::read(client).await?;
    let desired = desired::desired(assets, &actual.facts)?;
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
