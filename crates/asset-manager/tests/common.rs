//! Shared by the asset-manager tests: asset directories, a client for a
//! fake, and what the tests seed on a fake.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use shared_clients::llamastack::{
    AttachFile, CreateVectorStore, JsonObject, LlamaStackClient, LlamaStackConfig, VectorStore,
};
use test_support::fake_llamastack::{FakeLlamaStack, Flavor, Snapshot};

/// The knowledge base of the project's assets.
pub const KB: &str = "laptop-refresh";
/// Its directory, relative to the asset directory.
pub const KB_DIR: &str = "knowledge_bases/laptop-refresh";

/// `path` below the base where `fake` serves files and vector stores
/// (`/v1/openai/v1` as 0.2.18, `/v1` as the current servers).
pub fn route(fake: &FakeLlamaStack, path: &str) -> String {
    format!("{}{path}", fake.api_base())
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

/// A fake of today's servers (LlamaStack 0.7.3, OGX: no Agents API).
pub async fn fake() -> FakeLlamaStack {
    FakeLlamaStack::start().await
}

/// A fake LlamaStack 0.2.18, whose Agents API lists what an earlier
/// release registered.
pub async fn legacy_fake() -> FakeLlamaStack {
    fake_of(Flavor::V0_2_18).await
}

pub async fn fake_of(flavor: Flavor) -> FakeLlamaStack {
    FakeLlamaStack::builder()
        .flavor(flavor)
        .start()
        .await
        .expect("fake starts")
}

/// What an earlier release registered on a [`legacy_fake`] through the
/// Agents API: its two agents, an MCP toolgroup, the knowledge base's
/// vector DB; and the server's own `builtin::rag` toolgroup. The agents' ids.
pub fn seed_earlier_release(fake: &FakeLlamaStack) -> Vec<String> {
    let agents = vec![
        fake.add_legacy_agent("routing-agent"),
        fake.add_legacy_agent("laptop-refresh"),
    ];
    fake.add_legacy_toolgroup("mcp::snow", Some("http://self-service-agent-snow:8000/sse"));
    fake.add_legacy_toolgroup("builtin::rag", None);
    fake.add_legacy_vector_db(KB);
    agents
}

/// A vector store with `metadata` (made with `embedding_model`, else the
/// server's default), holding one file `name` with `attributes`.
pub async fn add_store(
    fake: &FakeLlamaStack,
    name: &str,
    metadata: Value,
    embedding_model: Option<&str>,
    file: (&str, Value),
) -> VectorStore {
    let client = client(fake);
    let create = CreateVectorStore {
        name: name.into(),
        metadata: object(metadata),
        embedding_model: embedding_model.map(str::to_owned),
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
        None,
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
