//! The OpenAI-compatible files and vector stores, under the API base
//! (`/v1/openai/v1` on LlamaStack 0.2.18, `/v1` on 0.7.3 and OGX).

use serde::de::DeserializeOwned;

use super::client::{ApiPath, Body, LlamaStackClient, read_json};
use super::error::LlamaStackError;
use super::types::{
    AttachFile, CreateVectorStore, FileObject, Page, UpdateVectorStore, VectorStore,
    VectorStoreFile,
};

/// Items per page when listing (the server's default is 20).
const PAGE_SIZE: &str = "100";
/// Bound on the pages followed, against a server whose cursor never ends.
const MAX_PAGES: usize = 1000;

impl LlamaStackClient {
    /// `POST <base>/files` (multipart `purpose`, `file`).
    pub async fn upload_file(
        &self,
        filename: &str,
        content: &[u8],
        purpose: &str,
    ) -> Result<FileObject, LlamaStackError> {
        let path = self.files().await?;
        let response = self
            .send(
                reqwest::Method::POST,
                &path,
                &[],
                Body::File {
                    filename,
                    content,
                    purpose,
                },
            )
            .await?;
        read_json(&reqwest::Method::POST, &path.to_string(), response).await
    }

    /// `GET <base>/files`, every page.
    pub async fn list_files(&self) -> Result<Vec<FileObject>, LlamaStackError> {
        let path = self.files().await?;
        self.all_pages(&path, |file: &FileObject| file.id.clone())
            .await
    }

    /// `DELETE <base>/files/{id}`.
    pub async fn delete_file(&self, file_id: &str) -> Result<(), LlamaStackError> {
        self.delete(self.files().await?.id(file_id)).await
    }

    /// `GET <base>/vector_stores`, every page.
    pub async fn list_vector_stores(&self) -> Result<Vec<VectorStore>, LlamaStackError> {
        let path = self.vector_stores().await?;
        self.all_pages(&path, |store: &VectorStore| store.id.clone())
            .await
    }

    /// `POST <base>/vector_stores`. LlamaStack 0.2.18 also registers a
    /// vector DB with the store's id (`vs_...`).
    pub async fn create_vector_store(
        &self,
        request: &CreateVectorStore,
    ) -> Result<VectorStore, LlamaStackError> {
        self.post(self.vector_stores().await?, request).await
    }

    /// `POST <base>/vector_stores/{id}` (name and/or metadata).
    pub async fn update_vector_store(
        &self,
        vector_store_id: &str,
        request: &UpdateVectorStore,
    ) -> Result<VectorStore, LlamaStackError> {
        self.post(self.vector_stores().await?.id(vector_store_id), request)
            .await
    }

    /// `DELETE <base>/vector_stores/{id}` (on 0.2.18 its vector DB goes with it).
    pub async fn delete_vector_store(&self, vector_store_id: &str) -> Result<(), LlamaStackError> {
        self.delete(self.vector_stores().await?.id(vector_store_id))
            .await
    }

    /// `GET <base>/vector_stores/{id}/files`, every page.
    pub async fn list_vector_store_files(
        &self,
        vector_store_id: &str,
    ) -> Result<Vec<VectorStoreFile>, LlamaStackError> {
        let path = self
            .vector_stores()
            .await?
            .id(vector_store_id)
            .then("files");
        self.all_pages(&path, |file: &VectorStoreFile| file.id.clone())
            .await
    }

    /// `POST <base>/vector_stores/{id}/files`: chunks and embeds an uploaded file.
    pub async fn attach_file(
        &self,
        vector_store_id: &str,
        request: &AttachFile,
    ) -> Result<VectorStoreFile, LlamaStackError> {
        let path = self
            .vector_stores()
            .await?
            .id(vector_store_id)
            .then("files");
        self.post(path, request).await
    }

    /// `DELETE <base>/vector_stores/{id}/files/{file_id}`: removes the
    /// file's chunks from the store; the file object itself remains.
    pub async fn detach_file(
        &self,
        vector_store_id: &str,
        file_id: &str,
    ) -> Result<(), LlamaStackError> {
        let path = self
            .vector_stores()
            .await?
            .id(vector_store_id)
            .then("files")
            .id(file_id);
        self.delete(path).await
    }

    async fn files(&self) -> Result<ApiPath, LlamaStackError> {
        Ok(self.api_base().await?.join("files"))
    }

    async fn vector_stores(&self) -> Result<ApiPath, LlamaStackError> {
        Ok(self.api_base().await?.join("vector_stores"))
    }

    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: impl Into<ApiPath>,
        id_of: impl Fn(&T) -> String,
    ) -> Result<Vec<T>, LlamaStackError> {
        let path = path.into();
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", PAGE_SIZE), ("order", "asc")];
            if let Some(cursor) = &after {
                query.push(("after", cursor.as_str()));
            }
            let page: Page<T> = self.get_json(&path, &query).await?;
            let data = page.data.unwrap_or_default();
            let next = data.last().map(&id_of).or(page.last_id);
            let empty = data.is_empty();
            items.extend(data);
            match next {
                Some(cursor) if page.has_more && !empty && after.as_ref() != Some(&cursor) => {
                    after = Some(cursor);
                }
                _ => return Ok(items),
            }
        }
        Ok(items)
    }
}
