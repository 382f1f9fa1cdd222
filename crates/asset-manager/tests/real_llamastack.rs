//! Reconciling against a real LlamaStack (`RealLlamaStack`: the provisioned
//! venv, the project's OpenAI-compatible stub behind `remote::vllm`): a
//! first run, a no-op second run, a changed document replaced alone,
//! `--prune` removing a gone knowledge base's store and keeping a store it
//! did not create. Skipped visibly when the venv is missing, unless
//! `SSA_REQUIRE_ALL=1`.

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

/// Everything reconciling may touch, as ids and contents, for before/after comparisons.
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

async fn run(
    client: &LlamaStackClient,
    dir: &Path,
    prune: bool,
    stack: &RealLlamaStack,
) -> Summary {
    let assets = load(dir).expect("valid assets");
    let started = Instant::now();
    let report = reconcile(client, &assets, Options { prune })
        .await
        .expect("planned");
    let failures: Vec<_> = report.failures().collect();
    assert!(
        failures.is_empty(),
        "{failures:?}\nserver log:\n{}",
        stack.server_log()
    );
    eprintln!("reconciled in {:?}: {}", started.elapsed(), report.summary);
    report.summary
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

async fn start(test: &str) -> Option<(RealLlamaStack, LlamaStackClient)> {
    if !RealLlamaStack::available_or_skip(test) {
        return None;
    }
    let stack = tokio::task::spawn_blocking(RealLlamaStack::start)
        .await
        .expect("start task")
        .expect("real LlamaStack starts");
    eprintln!("[{test}] LlamaStack started in {:?}", stack.startup_time());
    let config = LlamaStackConfig::for_url(stack.url())
        .expect("url")
        .with_timeout(Duration::from_secs(60));
    let client = LlamaStackClient::new(config).expect("client");
    Some((stack, client))
}

/// The files of the store of `knowledge_base`: `(document_id, status)`.
async fn documents(client: &LlamaStackClient, knowledge_base: &str) -> Vec<(String, String)> {
    let stores = client.list_vector_stores().await.expect("stores");
    let ours: Vec<_> = stores
        .iter()
        .filter(|store| asset_manager::knowledge_base_of(store) == Some(knowledge_base))
        .collect();
    assert_eq!(ours.len(), 1, "one store of {knowledge_base}: {ours:?}");
    let mut documents: Vec<(String, String)> = client
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

#[tokio::test]
async fn a_real_llamastack_gets_the_knowledge_base_once_and_a_rerun_is_a_no_op() {
    let test = "a_real_llamastack_gets_the_knowledge_base_once_and_a_rerun_is_a_no_op";
    let Some((stack, client)) = start(test).await else {
        return;
    };
    let dir = common::fixture_assets(test).unwrap_or_else(|| {
        eprintln!("[{test}] using the project's own assets/config instead of the fixture");
        common::project_assets()
    });
    let documents_in_dir = load(&dir).expect("valid").knowledge_bases[0]
        .documents
        .len();
    assert_eq!(run(&client, &dir, false, &stack).await, summary(1, 0, 0, 0));
    let stored = documents(&client, KB).await;
    assert_eq!(stored.len(), documents_in_dir);
    assert!(
        stored.iter().all(|(_, status)| status == "completed"),
        "{stored:?}"
    );
    let before = server_state(&client).await;
    assert_eq!(run(&client, &dir, false, &stack).await, summary(0, 0, 1, 0));
    assert_eq!(
        server_state(&client).await,
        before,
        "the re-run changed the server"
    );
}

#[tokio::test]
async fn on_a_real_llamastack_a_changed_document_is_replaced_alone() {
    let test = "on_a_real_llamastack_a_changed_document_is_replaced_alone";
    let Some((stack, client)) = start(test).await else {
        return;
    };
    let dir = common::copy_of(&common::project_assets());
    run(&client, dir.path(), false, &stack).await;
    let before = server_state(&client).await;
    write(
        dir.path(),
        &format!("{KB_DIR}/refresh-rules.txt"),
        "Every laptop is exchanged after three years.",
    );
    assert_eq!(
        run(&client, dir.path(), false, &stack).await,
        summary(0, 1, 0, 0)
    );
    let after = server_state(&client).await;
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
    assert_eq!(
        run(&client, dir.path(), false, &stack).await,
        summary(0, 0, 1, 0)
    );
}

#[tokio::test]
async fn on_a_real_llamastack_prune_removes_a_gone_knowledge_base_and_keeps_a_foreign_store() {
    let test = "on_a_real_llamastack_prune_removes_a_gone_knowledge_base_and_keeps_a_foreign_store";
    let Some((stack, client)) = start(test).await else {
        return;
    };
    let foreign = client
        .create_vector_store(&CreateVectorStore {
            name: "their-docs".into(),
            metadata: JsonObject::from_iter([("team".to_owned(), json!("finance"))]),
            embedding_model: None,
            embedding_dimension: None,
            provider_id: None,
        })
        .await
        .expect("foreign store");
    let file = client
        .upload_file("budget.txt", b"The budget.", "assistants")
        .await
        .expect("upload");
    client
        .attach_file(
            &foreign.id,
            &AttachFile {
                file_id: file.id.clone(),
                attributes: JsonObject::new(),
            },
        )
        .await
        .expect("attach");
    let dir = common::copy_of(&common::project_assets());
    write(dir.path(), "knowledge_bases/hr/leave.txt", "Leave rules.");
    assert_eq!(
        run(&client, dir.path(), false, &stack).await,
        summary(2, 0, 0, 0)
    );
    std::fs::remove_dir_all(dir.path().join("knowledge_bases/hr")).expect("remove");
    assert_eq!(
        run(&client, dir.path(), true, &stack).await,
        summary(0, 0, 1, 1)
    );
    let stores = client.list_vector_stores().await.expect("stores");
    let names: BTreeSet<Option<&str>> = stores.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(
        names,
        BTreeSet::from([Some("their-docs"), Some(KB)]),
        "hr's store is gone, the foreign one kept"
    );
    let files: Vec<String> = client
        .list_files()
        .await
        .expect("files")
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert!(!files.contains(&"leave.txt".to_owned()), "{files:?}");
    assert!(files.contains(&"budget.txt".to_owned()), "{files:?}");
    assert_eq!(
        run(&client, dir.path(), true, &stack).await,
        summary(0, 0, 1, 0)
    );
}
