//! Models, providers, vector DBs (and the RAG tool's insert) and toolgroups.

use super::client::{ApiPath, LlamaStackClient};
use super::error::LlamaStackError;
use super::types::{
    DataList, Model, Provider, RagInsert, RegisterToolgroup, RegisterVectorDb, Toolgroup, VectorDb,
};

impl LlamaStackClient {
    /// `GET /v1/models`.
    pub async fn list_models(&self) -> Result<Vec<Model>, LlamaStackError> {
        Ok(self.get::<DataList<Model>>("/v1/models").await?.into_data())
    }

    /// `GET /v1/providers`.
    pub async fn list_providers(&self) -> Result<Vec<Provider>, LlamaStackError> {
        Ok(self
            .get::<DataList<Provider>>("/v1/providers")
            .await?
            .into_data())
    }

    /// `GET /v1/vector-dbs`.
    pub async fn list_vector_dbs(&self) -> Result<Vec<VectorDb>, LlamaStackError> {
        Ok(self
            .get::<DataList<VectorDb>>("/v1/vector-dbs")
            .await?
            .into_data())
    }

    /// `POST /v1/vector-dbs`.
    pub async fn register_vector_db(
        &self,
        request: &RegisterVectorDb,
    ) -> Result<VectorDb, LlamaStackError> {
        self.post("/v1/vector-dbs", request).await
    }

    /// `DELETE /v1/vector-dbs/{id}`.
    pub async fn unregister_vector_db(&self, vector_db_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/vector-dbs").id(vector_db_id))
            .await
    }

    /// `POST /v1/tool-runtime/rag-tool/insert`: chunks, embeds and stores documents.
    pub async fn rag_insert(&self, request: &RagInsert) -> Result<(), LlamaStackError> {
        self.post_ignoring_answer("/v1/tool-runtime/rag-tool/insert", request)
            .await
    }

    /// `GET /v1/toolgroups`.
    pub async fn list_toolgroups(&self) -> Result<Vec<Toolgroup>, LlamaStackError> {
        Ok(self
            .get::<DataList<Toolgroup>>("/v1/toolgroups")
            .await?
            .into_data())
    }

    /// `POST /v1/toolgroups` (the server does not contact an MCP endpoint here).
    pub async fn register_toolgroup(
        &self,
        request: &RegisterToolgroup,
    ) -> Result<(), LlamaStackError> {
        self.post_ignoring_answer("/v1/toolgroups", request).await
    }

    /// `DELETE /v1/toolgroups/{id}`.
    pub async fn unregister_toolgroup(&self, toolgroup_id: &str) -> Result<(), LlamaStackError> {
        self.delete(ApiPath::new("/v1/toolgroups").id(toolgroup_id))
            .await
    }
}
