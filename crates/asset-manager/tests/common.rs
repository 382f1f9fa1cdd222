//! Shared by the asset-manager tests: asset directories, a client for a
//! fake, and what the tests seed on a fake.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use shared_clients::llamastack::{
    AttachFile, CreateVectorStore, JsonObject, LlamaStackClient, LlamaStackConfig, VectorStore,
};
use test_support::fake_llamastack::{FakeLlamaStack, Snapshot};

/// The knowledge base of the project's assets.
pub const KB: &str = "laptop-refresh";
/// Its directory, relative to the asset directory.
pub const KB_DIR: &str = "knowledge_bases/laptop-refresh";

/// Where the fake serves files and vector stores.
pub const BASE: &str = "/v1/openai/v1";

/// `path` below the files and vector stores base of the fake.
pub fn route(path: &str) -> String {
    format!("{BASE}{path}")
}

/// The project's own example directory (the image default), always present.
pub fn project_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/config")
}

/// The Python system's asset directory from `../shared/fixtures`, or `None`
/// after a visible SKIPPED line when this checkout has no shared fixtures.
pub fn fixture_assets(test: &str) -> Option<PathBuf> {
    test_support::fixtures::shared_fixture("asset-config", test)
}

/// A writable copy of `source`.
#[allow(unused_imports)] // not every test binary uses it
pub use test_support::fixtures::copy_of;

pub fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

pub fn client(fake: &FakeLlamaStack) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&fake.url())
        .expect("fake URL")
        .with_retries(2, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(10));
    LlamaStackClient::new(config).expect("client")
}

/// A fake of today's servers (no Agents API).
pub async fn fake() -> FakeLlamaStack {
    FakeLlamaStack::start().await
}

/// A fake LlamaStack 0.2.18, whose Agents API lists what an earlier
/// release registered.
pub async fn legacy_fake() -> FakeLlamaStack {
    FakeLlamaStack::start().await
}

/// An agent of an earlier release on a [`legacy_fake`]; returns its id.
pub async fn seed_legacy_agent(fake: &FakeLlamaStack, name: &str) -> String {
    fake.add_agent(json!({"name": name, "model": "vllm/x", "instructions": "old"}))
}

/// A toolgroup `id` of `provider` on a [`legacy_fake`].
pub async fn seed_legacy_toolgroup(fake: &FakeLlamaStack, id: &str, provider: &str) {
    let register = shared_clients::llamastack::RegisterToolgroup {
        toolgroup_id: id.into(),
        provider_id: provider.into(),
        mcp_endpoint: Some(shared_clients::llamastack::McpEndpoint {
            uri: "http://old:8000/sse".into(),
        }),
        args: JsonObject::new(),
    };
    client(fake)
        .register_toolgroup(&register)
        .await
        .expect("toolgroup");
}

/// A vector DB `id` on a [`legacy_fake`].
pub async fn seed_legacy_vector_db(fake: &FakeLlamaStack, id: &str) {
    let register = shared_clients::llamastack::RegisterVectorDb {
        vector_db_id: id.into(),
        embedding_model: test_support::fake_llamastack::DEFAULT_EMBEDDING_MODEL.into(),
        embedding_dimension: 384,
        provider_id: "faiss".into(),
    };
    client(fake)
        .register_vector_db(&register)
        .await
        .expect("vector DB");
}

/// A vector store with `metadata`, holding one file `name` with `attributes`.
pub async fn add_store(
    fake: &FakeLlamaStack,
    name: &str,
    metadata: Value,
    file: (&str, Value),
) -> VectorStore {
    let client = client(fake);
    let create = CreateVectorStore {
        name: name.into(),
        metadata: object(metadata),
        embedding_model: None,
        embedding_dimension: None,
        provider_id: None,
    };
    let store = client.create_vector_store(&create).await.expect("store");
    let uploaded = client
        .upload_file(file.0, b"some text", "assistants")
        .await
        .expect("file");
    let attach = AttachFile {
        file_id: uploaded.id,
        attributes: object(file.1),
    };
    client
        .attach_file(&store.id, &attach)
        .await
        .expect("attach");
    store
}

/// A second store marked as this tool's for `knowledge_base`, holding a stray file.
pub async fn add_managed_store(fake: &FakeLlamaStack, knowledge_base: &str) -> VectorStore {
    add_store(
        fake,
        knowledge_base,
        json!({"managed_by": "register-assets", "knowledge_base": knowledge_base}),
        ("stray.txt", json!({})),
    )
    .await
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The managed vector stores of `knowledge_base` in `snapshot`, by id.
pub fn stores_of<'a>(snapshot: &'a Snapshot, knowledge_base: &str) -> Vec<&'a String> {
    snapshot
        .vector_stores
        .iter()
        .filter(|(_, store)| {
            store.object["metadata"]["managed_by"] == "register-assets"
                && store.object["metadata"]["knowledge_base"] == knowledge_base
        })
        .map(|(id, _)| id)
        .collect()
}

/// `(document_id, content)` of every file attached to the store `id`,
/// sorted; a file whose object is gone shows as `<deleted>`.
pub fn documents_of(snapshot: &Snapshot, id: &str) -> Vec<(String, String)> {
    let mut documents: Vec<(String, String)> = snapshot.vector_stores[id]
        .files
        .iter()
        .map(|(file_id, attached)| {
            let content = snapshot.files.get(file_id).map_or_else(
                || "<deleted>".to_owned(),
                |file| String::from_utf8_lossy(&file.content).into_owned(),
            );
            (
                attached["attributes"]["document_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                content,
            )
        })
        .collect();
    documents.sort();
    documents
}
