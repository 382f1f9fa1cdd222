//! Planning one knowledge base: its OpenAI vector store (found again by
//! its managed metadata, files compared by document id and sha256) and its
//! vector DB (compared through the digest recorded in the store).

use std::collections::BTreeSet;

use serde_json::json;
use shared_clients::llamastack::{CreateVectorStore, JsonObject, VectorStore};

use super::{Action, DIGEST_KEY, Kind, Step, StoreRef, Work, step};
use crate::actual::{Actual, knowledge_base_of};
use crate::desired::{DesiredKnowledgeBase, MANAGED_BY};

/// The knowledge base's vector store step, removals of its duplicates, and
/// the store kept (its id and metadata, where the vector DB digest is
/// recorded), if there is one.
pub(super) fn plan_vector_store(
    base: &DesiredKnowledgeBase,
    actual: &Actual,
) -> (Step, Vec<Step>, Option<StoreRef>) {
    let mut candidates: Vec<&VectorStore> = actual
        .vector_stores
        .iter()
        .filter(|store| knowledge_base_of(store) == Some(base.name.as_str()))
        .collect();
    candidates.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let same_model = |store: &&VectorStore| {
        actual
            .vector_dbs
            .iter()
            .find(|db| db.identifier == store.id)
            .is_none_or(|db| db.embedding_model == base.embedding_model)
    };
    let kept = candidates.iter().copied().find(same_model);
    let files_of = |store: &VectorStore| -> Vec<String> {
        actual
            .store_files
            .get(&store.id)
            .map(|files| files.iter().map(|file| file.id.clone()).collect())
            .unwrap_or_default()
    };
    let mut metadata = JsonObject::new();
    metadata.insert("managed_by".into(), json!(MANAGED_BY));
    metadata.insert("knowledge_base".into(), json!(base.name));
    let create = CreateVectorStore {
        name: base.name.clone(),
        metadata,
        embedding_model: Some(base.embedding_model.clone()),
        embedding_dimension: Some(base.embedding_dimension),
        provider_id: Some(base.provider_id.clone()),
    };
    let mut duplicates = Vec::new();
    let mut retire = Vec::new();
    for store in candidates
        .iter()
        .filter(|store| Some(store.id.as_str()) != kept.map(|k| k.id.as_str()))
    {
        if kept.is_some() {
            duplicates.push(step(
                Kind::VectorStore,
                &store.id,
                Action::Prune,
                format!("duplicate vector store of knowledge base {}", base.name),
                Work::DeleteVectorStore {
                    id: store.id.clone(),
                    files: files_of(store),
                },
            ));
        } else {
            retire.push((store.id.clone(), files_of(store)));
        }
    }
    let Some(kept) = kept else {
        let (action, reason) = if retire.is_empty() {
            (Action::Create, format!("{} files", base.files.len()))
        } else {
            (
                Action::Replace,
                format!("embedding model now {}", base.embedding_model),
            )
        };
        let work = Work::VectorStore {
            knowledge_base: base.name.clone(),
            existing: None,
            create,
            upload: base.files.clone(),
            remove: Vec::new(),
            retire,
        };
        return (
            step(Kind::VectorStore, &base.name, action, reason, work),
            duplicates,
            None,
        );
    };
    let actual_files = actual
        .store_files
        .get(&kept.id)
        .cloned()
        .unwrap_or_default();
    let attribute = |file: &shared_clients::llamastack::VectorStoreFile, key: &str| {
        file.attributes
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut keep_ids = BTreeSet::new();
    let mut upload = Vec::new();
    for wanted in &base.files {
        let current = actual_files.iter().find(|file| {
            file.status == "completed"
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
    let remove: Vec<String> = actual_files
        .iter()
        .filter(|file| !keep_ids.contains(&file.id))
        .map(|file| file.id.clone())
        .collect();
    let (action, reason) = if upload.is_empty() && remove.is_empty() {
        (Action::Unchanged, kept.id.clone())
    } else {
        (
            Action::Replace,
            format!(
                "{}: {} files to upload, {} to remove",
                kept.id,
                upload.len(),
                remove.len()
            ),
        )
    };
    let work = match action {
        Action::Unchanged => Work::Nothing,
        _ => Work::VectorStore {
            knowledge_base: base.name.clone(),
            existing: Some((kept.id.clone(), kept.metadata.clone())),
            create,
            upload,
            remove,
            retire: Vec::new(),
        },
    };
    (
        step(Kind::VectorStore, &base.name, action, reason, work),
        duplicates,
        Some((kept.id.clone(), kept.metadata.clone())),
    )
}

pub(super) fn plan_vector_db(
    base: &DesiredKnowledgeBase,
    actual: &Actual,
    kept_store: Option<StoreRef>,
) -> Step {
    let recorded_digest = kept_store
        .as_ref()
        .and_then(|(_, metadata)| recorded_digest(metadata));
    let existing = actual
        .vector_dbs
        .iter()
        .find(|db| db.identifier == base.name);
    let (action, reason) = match existing {
        None => (
            Action::Create,
            format!("{} documents", base.documents.len()),
        ),
        Some(db)
            if db.embedding_model == base.embedding_model
                && recorded_digest == Some(base.vector_db_digest.as_str()) =>
        {
            (Action::Unchanged, String::new())
        }
        Some(_) if recorded_digest.is_none() => (
            Action::Replace,
            "contents not recorded by register-assets".into(),
        ),
        Some(_) => (
            Action::Replace,
            "documents or embedding model changed".into(),
        ),
    };
    let work = match action {
        Action::Unchanged => Work::Nothing,
        _ => Work::VectorDb {
            knowledge_base: base.name.clone(),
            register: base.vector_db.clone(),
            documents: base.documents.clone(),
            digest: base.vector_db_digest.clone(),
            unregister_first: existing.is_some(),
            store: kept_store,
        },
    };
    step(Kind::VectorDb, &base.name, action, reason, work)
}

/// The vector DB digest a store's metadata records.
fn recorded_digest(metadata: &JsonObject) -> Option<&str> {
    metadata.get(DIGEST_KEY).and_then(|v| v.as_str())
}
