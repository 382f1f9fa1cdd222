//! Planning one knowledge base: its vector store, found again by its
//! managed metadata, its files compared by document id and sha256.

use std::collections::BTreeSet;

use serde_json::json;
use shared_clients::llamastack::{CreateVectorStore, JsonObject, VectorStore, VectorStoreFile};

use super::{Action, Kind, Step, Work, files_of, step};
use crate::actual::{Actual, knowledge_base_of};
use crate::desired::{DesiredKnowledgeBase, MANAGED_BY};

/// Key of a vector store's metadata naming its embedding model, which
/// LlamaStack 0.7.3 and OGX record themselves. This tool never sends it:
/// those servers take `metadata.embedding_model` as the store's embedding
/// configuration, over the request's own fields, and then want
/// `metadata.embedding_dimension` as well.
const EMBEDDING_MODEL_KEY: &str = "embedding_model";

/// The embedding model `store` was created with, if known: what the server
/// recorded in its metadata (0.7.3, OGX), else the vector DB behind it
/// (0.2.18 registers one of the store's id).
fn embedding_model_of<'a>(store: &'a VectorStore, actual: &'a Actual) -> Option<&'a str> {
    store
        .metadata
        .get(EMBEDDING_MODEL_KEY)
        .and_then(|v| v.as_str())
        .or_else(|| {
            actual
                .legacy
                .vector_dbs
                .iter()
                .find(|db| db.id == store.id)
                .map(|db| db.embedding_model.as_str())
        })
}

/// What creating the knowledge base's store sends.
fn create_request(base: &DesiredKnowledgeBase) -> CreateVectorStore {
    let mut metadata = JsonObject::new();
    metadata.insert("managed_by".into(), json!(MANAGED_BY));
    metadata.insert("knowledge_base".into(), json!(base.name));
    CreateVectorStore {
        name: base.name.clone(),
        metadata,
        embedding_model: Some(base.embedding.id.clone()),
        embedding_dimension: base.embedding.dimension,
        provider_id: None,
    }
}

/// The knowledge base's vector store step, and the removals of its
/// duplicates. The store kept is the oldest of those made with the desired
/// embedding model (or with an unknown one); when there is none, a new
/// store replaces them all.
pub(super) fn plan_vector_store(base: &DesiredKnowledgeBase, actual: &Actual) -> (Step, Vec<Step>) {
    let mut candidates: Vec<&VectorStore> = actual
        .vector_stores
        .iter()
        .filter(|store| knowledge_base_of(store) == Some(base.name.as_str()))
        .collect();
    candidates.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let kept = candidates.iter().copied().find(|store| {
        embedding_model_of(store, actual).is_none_or(|model| model == base.embedding.id)
    });
    let others = candidates
        .iter()
        .filter(|store| Some(store.id.as_str()) != kept.map(|k| k.id.as_str()));
    let Some(kept) = kept else {
        let retire: Vec<(String, Vec<String>)> = others
            .map(|store| (store.id.clone(), files_of(actual, &store.id)))
            .collect();
        let (action, reason) = if retire.is_empty() {
            (Action::Create, format!("{} files", base.files.len()))
        } else {
            (
                Action::Replace,
                format!("embedding model now {}", base.embedding.id),
            )
        };
        let work = Work::VectorStore {
            knowledge_base: base.name.clone(),
            existing: None,
            create: create_request(base),
            upload: base.files.clone(),
            remove: Vec::new(),
            retire,
        };
        return (
            step(Kind::VectorStore, &base.name, action, reason, work),
            Vec::new(),
        );
    };
    let duplicates = others
        .map(|store| {
            step(
                Kind::VectorStore,
                &store.id,
                Action::Prune,
                format!("duplicate vector store of knowledge base {}", base.name),
                Work::DeleteVectorStore {
                    id: store.id.clone(),
                    files: files_of(actual, &store.id),
                },
            )
        })
        .collect();
    let present = actual
        .store_files
        .get(&kept.id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let attribute = |file: &VectorStoreFile, key: &str| {
        file.attributes
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut keep_ids = BTreeSet::new();
    let mut upload = Vec::new();
    for wanted in &base.files {
        let current = present.iter().find(|file| {
            file.status == "completed"
                && !keep_ids.contains(&file.id)
                && attribute(file, "document_id").as_deref() == Some(wanted.document_id.as_str())
                && attribute(file, "sha256").as_deref() == Some(wanted.sha256.as_str())
        });
        match current {
            Some(file) => {
                keep_ids.insert(file.id.clone());
            }
            None => upload.push(wanted.clone()),
        }
    }
    let remove: Vec<String> = present
        .iter()
        .filter(|file| !keep_ids.contains(&file.id))
        .map(|file| file.id.clone())
        .collect();
    let (action, reason, work) = if upload.is_empty() && remove.is_empty() {
        (Action::Unchanged, kept.id.clone(), Work::Nothing)
    } else {
        (
            Action::Replace,
            format!(
                "{}: {} files to upload, {} to remove",
                kept.id,
                upload.len(),
                remove.len()
            ),
            Work::VectorStore {
                knowledge_base: base.name.clone(),
                existing: Some(kept.id.clone()),
                create: create_request(base),
                upload,
                remove,
                retire: Vec::new(),
            },
        )
    };
    (
        step(Kind::VectorStore, &base.name, action, reason, work),
        duplicates,
    )
}
