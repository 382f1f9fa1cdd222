//! The desired state: the knowledge bases of the asset directory, each a
//! vector store with one file per document, completed with the server's
//! embedding model.

use sha2::{Digest, Sha256};

use crate::assets::Assets;
use crate::error::ReconcileError;

/// `metadata.managed_by` / `attributes.managed_by` of what this tool owns.
pub const MANAGED_BY: &str = "register-assets";
/// `purpose` of the uploaded knowledge-base files.
pub const FILE_PURPOSE: &str = "assistants";

/// An embedding model the server lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModel {
    /// The id as the server lists it (provider-prefixed on 0.7.3 and OGX).
    pub id: String,
    /// Its dimension, when the server reports one.
    pub dimension: Option<u64>,
}

/// What the server tells us that the directory leaves open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerFacts {
    /// The first embedding model the server lists: new vector stores use it.
    pub embedding: Option<EmbeddingModel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub knowledge_bases: Vec<DesiredKnowledgeBase>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredKnowledgeBase {
    pub name: String,
    pub embedding: EmbeddingModel,
    /// One per document, sorted by document id.
    pub files: Vec<DesiredFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    /// `<knowledge base>/<relative path>` (`attributes.document_id`).
    pub document_id: String,
    pub file_name: String,
    pub content: String,
    /// Of the content (`attributes.sha256`).
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Builds the desired state; fails when the directory has knowledge bases
/// and the server lists no embedding model.
pub fn desired(assets: &Assets, facts: &ServerFacts) -> Result<Desired, ReconcileError> {
    let mut knowledge_bases = Vec::new();
    for base in &assets.knowledge_bases {
        let embedding = facts
            .embedding
            .clone()
            .ok_or_else(|| ReconcileError::Missing {
                what: "embedding model",
                needed_by: format!("knowledge base {}", base.name),
            })?;
        let files = base
            .documents
            .iter()
            .map(|document| DesiredFile {
                document_id: document.document_id(&base.name),
                file_name: document.file_name().to_owned(),
                sha256: sha256_hex(document.content.as_bytes()),
                content: document.content.clone(),
            })
            .collect();
        knowledge_bases.push(DesiredKnowledgeBase {
            name: base.name.clone(),
            embedding,
            files,
        });
    }
    Ok(Desired { knowledge_bases })
}
