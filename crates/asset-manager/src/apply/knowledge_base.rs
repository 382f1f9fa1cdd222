//! Carrying out a knowledge base's vector store step. Each request is
//! ordered so that, should the run stop after any of them, the next run's
//! plan sees what is left and finishes it: a file is deleted before it is
//! detached (a detached file is listed nowhere, a deleted one still
//! attached is detached next time), and a store's files before the store.

use serde_json::json;
use shared_clients::llamastack::{AttachFile, JsonObject, LlamaStackClient, LlamaStackError};

use super::ignore_missing;
use crate::desired::{DesiredFile, FILE_PURPOSE, MANAGED_BY};

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
