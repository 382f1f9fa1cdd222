//! Carrying out a knowledge base's steps: its vector store's files and its
//! vector DB. Each request is ordered so that, should the run stop after
//! any of them, the next run's plan sees what is left and finishes it:
//! a file is deleted before it is detached (a detached file is listed
//! nowhere, a deleted one still attached is detached next time), a store's
//! files before the store, and the recorded digest is withdrawn before the
//! vector DB is rebuilt and recorded again only once it holds every document.

use serde_json::json;
use shared_clients::llamastack::{
    AttachFile, JsonObject, LlamaStackClient, LlamaStackError, RagDocument, RagInsert,
    RegisterVectorDb, UpdateVectorStore,
};

use super::ignore_missing;
use crate::desired::{CHUNK_SIZE_IN_TOKENS, DesiredFile, FILE_PURPOSE, MANAGED_BY};
use crate::plan::{DIGEST_KEY, StoreRef};

/// Uploads and attaches `upload` to the store `id`, removes the files
/// `remove` from it and deletes the stores `retire` it replaces.
pub(super) async fn sync_files(
    client: &LlamaStackClient,
    id: &str,
    knowledge_base: &str,
    upload: &[DesiredFile],
    remove: &[String],
    retire: &[(String, Vec<String>)],
) -> Result<(), String> {
    let mut problems = Vec::new();
    for file in upload {
        if let Err(problem) = upload_file(client, id, knowledge_base, file).await {
            problems.push(problem);
        }
    }
    for file_id in remove {
        if let Err(error) = remove_file(client, id, file_id).await {
            problems.push(error.to_string());
        }
    }
    for (old, files) in retire {
        if let Err(error) = delete_store(client, old, files).await {
            problems.push(error.to_string());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// What a vector DB step sends.
pub(super) struct Rebuild<'a> {
    pub(super) register: &'a RegisterVectorDb,
    pub(super) documents: &'a [RagDocument],
    pub(super) digest: &'a str,
    pub(super) unregister_first: bool,
}

/// (Re)builds the vector DB and records its digest in `store`; returns the
/// store as it now is.
pub(super) async fn rebuild_vector_db(
    client: &LlamaStackClient,
    store: StoreRef,
    rebuild: &Rebuild<'_>,
) -> Result<StoreRef, String> {
    let text = |error: LlamaStackError| error.to_string();
    let (store_id, mut metadata) = store;
    // A digest left recorded while the vector DB is half rebuilt would let
    // the next run take it as complete.
    if metadata.remove(DIGEST_KEY).is_some() {
        update_metadata(client, &store_id, &metadata)
            .await
            .map_err(|error| format!("withdrawing the recorded digest: {error}"))?;
    }
    let id = &rebuild.register.vector_db_id;
    if rebuild.unregister_first {
        ignore_missing(client.unregister_vector_db(id).await).map_err(text)?;
    }
    client
        .register_vector_db(rebuild.register)
        .await
        .map_err(text)?;
    if !rebuild.documents.is_empty() {
        let insert = RagInsert {
            vector_db_id: id.clone(),
            chunk_size_in_tokens: CHUNK_SIZE_IN_TOKENS,
            documents: rebuild.documents.to_vec(),
        };
        client.rag_insert(&insert).await.map_err(text)?;
    }
    metadata.insert(DIGEST_KEY.into(), json!(rebuild.digest));
    update_metadata(client, &store_id, &metadata)
        .await
        .map_err(|error| format!("recording the vector DB digest: {error}"))?;
    Ok((store_id, metadata))
}

async fn update_metadata(
    client: &LlamaStackClient,
    store_id: &str,
    metadata: &JsonObject,
) -> Result<(), LlamaStackError> {
    let update = UpdateVectorStore {
        name: None,
        metadata: Some(metadata.clone()),
    };
    client
        .update_vector_store(store_id, &update)
        .await
        .map(drop)
}

/// Uploads one document and attaches it with the attributes that let the
/// next run recognise it; a file that cannot be attached is deleted again.
async fn upload_file(
    client: &LlamaStackClient,
    store_id: &str,
    knowledge_base: &str,
    file: &DesiredFile,
) -> Result<(), String> {
    let uploaded = client
        .upload_file(&file.file_name, file.content.as_bytes(), FILE_PURPOSE)
        .await
        .map_err(|error| format!("{}: {error}", file.document_id))?;
    let mut attributes = JsonObject::new();
    attributes.insert("managed_by".into(), json!(MANAGED_BY));
    attributes.insert("knowledge_base".into(), json!(knowledge_base));
    attributes.insert("document_id".into(), json!(file.document_id));
    attributes.insert("sha256".into(), json!(file.sha256));
    let attach = AttachFile {
        file_id: uploaded.id.clone(),
        attributes,
    };
    match client.attach_file(store_id, &attach).await {
        Ok(attached) if attached.status != "failed" => Ok(()),
        Ok(attached) => {
            // Listed by the store as failed: the next run removes it if this does not.
            if let Err(error) = remove_file(client, store_id, &uploaded.id).await {
                tracing::warn!(file = %uploaded.id, %error, "could not remove the file that failed to ingest");
            }
            Err(format!(
                "{}: the vector store could not ingest it: {}",
                file.document_id,
                attached
                    .last_error
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ))
        }
        Err(error) => {
            if let Err(error) = client.delete_file(&uploaded.id).await {
                tracing::warn!(file = %uploaded.id, %error, "could not delete the file that failed to attach");
            }
            Err(format!("{}: {error}", file.document_id))
        }
    }
}

async fn remove_file(
    client: &LlamaStackClient,
    store_id: &str,
    file_id: &str,
) -> Result<(), LlamaStackError> {
    ignore_missing(client.delete_file(file_id).await)?;
    ignore_missing(client.detach_file(store_id, file_id).await)
}

pub(super) async fn delete_store(
    client: &LlamaStackClient,
    id: &str,
    files: &[String],
) -> Result<(), LlamaStackError> {
    for file in files {
        ignore_missing(client.delete_file(file).await)?;
    }
    ignore_missing(client.delete_vector_store(id).await)
}
