//! Reconciling against the real servers (`RealLlamaStack`: LlamaStack
//! 0.2.18, 0.7.3 and OGX 1.5.0 from their provisioned venvs, the project's
//! OpenAI-compatible stub behind `remote::vllm`). One journey per server, as
//! a server takes seconds to start: a first run, a no-op second run, a
//! changed document replaced alone, `--prune` removing a gone knowledge
//! base's store and keeping a store this tool did not create. Skipped
//! visibly when a server is not provisioned, unless `SSA_REQUIRE_ALL=1`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use asset_manager::{Options, Summary, load, reconcile};
use common::{KB, KB_DIR, write};
use serde_json::json;
use shared_clients::llamastack::{
    AttachFile, CreateVectorStore, JsonObject, LlamaStackClient, LlamaStackConfig,
};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;

/// What reconciling may touch, as ids and contents, for before/after comparisons.
async fn server_state(client: &LlamaStackClient) -> Vec<String> {
    let mut state = BTreeSet::new();
    for store in client.list_vector_stores().await.expect("stores") {
        state.insert(format!("vector-store {} {:?}", store.id, store.metadata));
        for file in client
            .list_vector_store_files(&store.id)
            .await
            .expect("files")
        {
            state.insert(format!(
                "store-file {} {} {} {:?}",
                store.id, file.id, file.status, file.attributes
            ));
        }
    }
    for file in client.list_files().await.expect("files") {
        state.insert(format!("file {} {}", file.id, file.filename));
    }
    state.into_iter().collect()
}

fn summary(created: usize, replaced: usize, unchanged: usize, pruned: usize) -> Summary {
    Summary {
        created,
        replaced,
        unchanged,
        pruned,
        failed: 0,
    }
}

struct Journey {
    stack: RealLlamaStack,
    client: LlamaStackClient,
    dir: tempfile::TempDir,
}

impl Journey {
    /// A server of `version` and a writable copy of the asset directory `source`.
    async fn start(version: ServerVersion, test: &str, source: &Path) -> Option<Self> {
        if !RealLlamaStack::available_or_skip(version, test) {
            return None;
        }
        let stack = tokio::task::spawn_blocking(move || RealLlamaStack::start(version))
            .await
            .expect("start task")
            .unwrap_or_else(|error| panic!("{version} starts: {error:#}"));
        eprintln!("[{test}] {version} started in {:?}", stack.startup_time());
        let config = LlamaStackConfig::for_url(stack.url())
            .expect("url")
            .with_timeout(Duration::from_secs(60));
        let client = LlamaStackClient::new(config).expect("client");
        let dir = common::copy_of(source);
        Some(Self { stack, client, dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn run(&self, prune: bool) -> Summary {
        let assets = load(self.path()).expect("valid assets");
        let started = Instant::now();
        let report = reconcile(&self.client, &assets, Options { prune })
            .await
            .expect("planned");
        let failures: Vec<_> = report.failures().collect();
        assert!(
            failures.is_empty(),
            "{failures:?}\nserver log:\n{}",
            self.stack.server_log()
        );
        eprintln!(
            "{}: reconciled in {:?}: {}",
            self.stack.version(),
            started.elapsed(),
            report.summary
        );
        report.summary
    }

    /// The files of the store of `knowledge_base`: `(document_id, status)`.
    async fn documents(&self, knowledge_base: &str) -> Vec<(String, String)> {
        let stores = self.client.list_vector_stores().await.expect("stores");
        let ours: Vec<_> = stores
            .iter()
            .filter(|store| asset_manager::knowledge_base_of(store) == Some(knowledge_base))
            .collect();
        assert_eq!(ours.len(), 1, "one store of {knowledge_base}: {ours:?}");
        let mut documents: Vec<(String, String)> = self
            .client
            .list_vector_store_files(&ours[0].id)
            .await
            .expect("files")
            .into_iter()
            .map(|file| {
                (
                    file.attributes["document_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    file.status,
                )
            })
            .collect();
        documents.sort();
        documents
    }

    /// A store of another team's, holding one file.
    async fn add_foreign_store(&self) {
        let store = self
            .client
            .create_vector_store(&CreateVectorStore {
                name: "their-docs".into(),
                metadata: JsonObject::from_iter([("team".to_owned(), json!("finance"))]),
                embedding_model: None,
                embedding_dimension: None,
                provider_id: None,
            })
            .await
            .expect("foreign store");
        let file = self
            .client
            .upload_file("budget.txt", b"The budget.", "assistants")
            .await
            .expect("upload");
        self.client
            .attach_file(
                &store.id,
                &AttachFile {
                    file_id: file.id,
                    attributes: JsonObject::new(),
                },
            )
            .await
            .expect("attach");
    }
}

async fn first_run_registers_the_knowledge_bases(journey: &Journey) {
    write(
        journey.path(),
        "knowledge_bases/hr/leave.txt",
        "Leave rules.",
    );
    assert_eq!(journey.run(false).await, summary(2, 0, 0, 0));
    let stored = journey.documents(KB).await;
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "laptop-refresh/catalog/americas.txt",
            "laptop-refresh/catalog/asia-pacific.txt",
            "laptop-refresh/catalog/europe.txt",
            "laptop-refresh/refresh-rules.txt"
        ]
    );
    assert!(
        stored.iter().all(|(_, status)| status == "completed"),
        "{stored:?}\nserver log:\n{}",
        journey.stack.server_log()
    );
}

async fn a_second_run_changes_nothing(journey: &Journey) {
    let before = server_state(&journey.client).await;
    assert_eq!(journey.run(false).await, summary(0, 0, 2, 0));
    assert_eq!(
        server_state(&journey.client).await,
        before,
        "the re-run changed the server"
    );
}

async fn a_changed_document_is_replaced_alone(journey: &Journey) {
    let before = server_state(&journey.client).await;
    write(
        journey.path(),
        &format!("{KB_DIR}/refresh-rules.txt"),
        "Every laptop is exchanged after three years.",
    );
    assert_eq!(journey.run(false).await, summary(0, 1, 1, 0));
    let after = server_state(&journey.client).await;
    let gone: Vec<&String> = before.iter().filter(|line| !after.contains(line)).collect();
    let new: Vec<&String> = after.iter().filter(|line| !before.contains(line)).collect();
    // the old file object and its attachment, replaced by new ones
    assert_eq!(
        (gone.len(), new.len()),
        (2, 2),
        "gone {gone:?}, new {new:?}"
    );
    assert!(
        new.iter().any(|line| line.contains("refresh-rules.txt")),
        "{new:?}"
    );
    assert_eq!(journey.run(false).await, summary(0, 0, 2, 0));
}

async fn prune_removes_a_gone_knowledge_base_and_keeps_a_foreign_store(journey: &Journey) {
    journey.add_foreign_store().await;
    std::fs::remove_dir_all(journey.path().join("knowledge_bases/hr")).expect("remove");
    assert_eq!(
        journey.run(false).await,
        summary(0, 0, 1, 0),
        "kept without --prune"
    );
    assert_eq!(journey.run(true).await, summary(0, 0, 1, 1));
    let stores = journey.client.list_vector_stores().await.expect("stores");
    let names: BTreeSet<Option<&str>> = stores.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(
        names,
        BTreeSet::from([Some("their-docs"), Some(KB)]),
        "hr's store is gone, the foreign one kept"
    );
    let files: Vec<String> = journey
        .client
        .list_files()
        .await
        .expect("files")
        .into_iter()
        .map(|file| file.filename)
        .collect();
    assert!(!files.contains(&"leave.txt".to_owned()), "{files:?}");
    assert!(files.contains(&"budget.txt".to_owned()), "{files:?}");
    assert_eq!(journey.run(true).await, summary(0, 0, 1, 0));
}

async fn journey(version: ServerVersion, test: &str) {
    let Some(journey) = Journey::start(version, test, &common::project_assets()).await else {
        return;
    };
    first_run_registers_the_knowledge_bases(&journey).await;
    a_second_run_changes_nothing(&journey).await;
    a_changed_document_is_replaced_alone(&journey).await;
    prune_removes_a_gone_knowledge_base_and_keeps_a_foreign_store(&journey).await;
}

#[tokio::test]
async fn knowledge_bases_reconcile_into_llamastack_0_2_18() {
    journey(
        ServerVersion::V0_2_18,
        "knowledge_bases_reconcile_into_llamastack_0_2_18",
    )
    .await;
}

#[tokio::test]
async fn knowledge_bases_reconcile_into_llamastack_0_7_3() {
    journey(
        ServerVersion::V0_7_3,
        "knowledge_bases_reconcile_into_llamastack_0_7_3",
    )
    .await;
}

#[tokio::test]
async fn knowledge_bases_reconcile_into_ogx_1_5() {
    journey(
        ServerVersion::Ogx1_5,
        "knowledge_bases_reconcile_into_ogx_1_5",
    )
    .await;
}

#[tokio::test]
async fn the_fixture_registers_into_a_real_llamastack_and_a_rerun_is_a_no_op() {
    let test = "the_fixture_registers_into_a_real_llamastack_and_a_rerun_is_a_no_op";
    let Some(fixture) = common::fixture_assets(test) else {
        return;
    };
    let Some(journey) = Journey::start(ServerVersion::Ogx1_5, test, &fixture).await else {
        return;
    };
    assert_eq!(journey.run(false).await, summary(1, 0, 0, 0));
    assert_eq!(journey.documents(KB).await.len(), 5);
    let before = server_state(&journey.client).await;
    assert_eq!(journey.run(false).await, summary(0, 0, 1, 0));
    assert_eq!(server_state(&journey.client).await, before);
}
