//! A run whose step failed leaves a state the next run repairs: for a
//! failure injected at each request a reconciliation makes, the following
//! run succeeds and reaches what a clean registration reaches (nothing
//! leaked, nothing missing), and the run after it changes nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use asset_manager::{Options, Report, Summary, load, reconcile};
use common::{KB, KB_DIR, write};
use serde_json::{Value, json};
use test_support::fake_llamastack::{
    DEFAULT_EMBEDDING_DIMENSION, DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM, FakeLlamaStack, FakeModel,
    Flavor, Snapshot,
};

/// What the server holds when the failing run starts.
#[derive(Debug, Clone, Copy)]
enum Before {
    /// Nothing registered yet.
    Nothing,
    /// Registered; then one document changes.
    DocumentChanged,
    /// Registered, plus a newer managed vector store of the same knowledge base.
    DuplicateStore,
    /// Registered with an extra knowledge base that the directory then
    /// drops (reconciled with `--prune`).
    Shrunk,
    /// The knowledge base's store was made with an embedding model the
    /// server lists, but no longer first.
    EmbeddingChanged,
    /// An earlier release's agents, MCP toolgroup and vector DB (LlamaStack
    /// 0.2.18), reconciled with `--prune`.
    EarlierRelease,
}

struct Setup {
    fake: FakeLlamaStack,
    dir: tempfile::TempDir,
    options: Options,
}

impl Setup {
    async fn reconcile(&self) -> Result<Report, asset_manager::ReconcileError> {
        let assets = load(self.dir.path()).expect("valid assets");
        reconcile(&common::client(&self.fake), &assets, self.options).await
    }
}

async fn register_cleanly(fake: &FakeLlamaStack, dir: &Path, options: Options) {
    let assets = load(dir).expect("valid assets");
    let report = reconcile(&common::client(fake), &assets, options)
        .await
        .expect("planned");
    assert_eq!(report.check(), Ok(()), "the setup registers cleanly");
}

/// The embedding model listed after the default one.
const OLDER_EMBEDDER: &str = "vllm/older-embedder";

/// What a server holds before the first run of `before`, whatever the directory.
async fn seed(fake: &FakeLlamaStack, before: Before) {
    match before {
        Before::EmbeddingChanged => {
            common::add_store(
                fake,
                KB,
                json!({"managed_by": "register-assets", "knowledge_base": KB}),
                Some(OLDER_EMBEDDER),
                (
                    "refresh-rules.txt",
                    json!({"document_id": "laptop-refresh/refresh-rules.txt"}),
                ),
            )
            .await;
        }
        Before::EarlierRelease => {
            common::seed_earlier_release(fake);
        }
        _ => {}
    }
}

/// A fake of `flavor` (an earlier release's objects live on 0.2.18 only),
/// listing a second embedding model for `EmbeddingChanged`.
async fn server_for(before: Before, flavor: Flavor) -> FakeLlamaStack {
    let flavor = match before {
        Before::EarlierRelease => Flavor::V0_2_18,
        _ => flavor,
    };
    let mut builder = FakeLlamaStack::builder().flavor(flavor);
    if let Before::EmbeddingChanged = before {
        builder = builder.models(vec![
            FakeModel::llm(DEFAULT_LLM),
            FakeModel::embedding(DEFAULT_EMBEDDING_MODEL, DEFAULT_EMBEDDING_DIMENSION),
            FakeModel::embedding(OLDER_EMBEDDER, 768),
        ]);
    }
    builder.start().await.expect("fake starts")
}

async fn prepare(before: Before, flavor: Flavor) -> Setup {
    let fake = server_for(before, flavor).await;
    seed(&fake, before).await;
    let dir = common::copy_of(&common::project_assets());
    let path = dir.path();
    let mut options = Options::default();
    match before {
        Before::Nothing | Before::EmbeddingChanged => {}
        Before::EarlierRelease => options.prune = true,
        Before::DocumentChanged => {
            register_cleanly(&fake, path, options).await;
            write(
                path,
                &format!("{KB_DIR}/refresh-rules.txt"),
                "Every laptop goes after three years.",
            );
        }
        Before::DuplicateStore => {
            register_cleanly(&fake, path, options).await;
            // stores are ordered by created_at (seconds): make this one newer
            tokio::time::sleep(Duration::from_millis(1100)).await;
            common::add_managed_store(&fake, KB).await;
        }
        Before::Shrunk => {
            write(path, "knowledge_bases/extra/notes.txt", "Extra notes.");
            register_cleanly(&fake, path, options).await;
            std::fs::remove_dir_all(path.join("knowledge_bases/extra")).expect("remove");
            options.prune = true;
        }
    }
    Setup { fake, dir, options }
}

/// The server's state without ids and timestamps: equal for two servers
/// holding the same things. An attached file records whether its file
/// object still exists.
fn shape(snapshot: &Snapshot) -> Value {
    let mut files: Vec<(String, String)> = snapshot
        .files
        .values()
        .map(|file| {
            let name = file.object["filename"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (name, String::from_utf8_lossy(&file.content).into_owned())
        })
        .collect();
    files.sort();
    let mut stores: Vec<Value> = snapshot
        .vector_stores
        .values()
        .map(|store| {
            let mut metadata = store.object["metadata"].clone();
            if let Some(metadata) = metadata.as_object_mut() {
                metadata.retain(|key, _| !key.starts_with("provider_"));
            }
            let mut attached: Vec<Value> = store
                .files
                .iter()
                .map(|(id, file)| {
                    json!({"attributes": file["attributes"], "status": file["status"],
                           "file_exists": snapshot.files.contains_key(id)})
                })
                .collect();
            attached.sort_by_key(Value::to_string);
            json!({"name": store.object["name"], "metadata": metadata, "files": attached})
        })
        .collect();
    stores.sort_by_key(Value::to_string);
    let mut agents: Vec<Value> = snapshot
        .agents
        .values()
        .map(|agent| agent["agent_config"]["name"].clone())
        .collect();
    agents.sort_by_key(Value::to_string);
    json!({
        "files": files,
        "vector_stores": stores,
        "agents": agents,
        "toolgroups": snapshot.toolgroups.keys().collect::<Vec<_>>(),
        // those behind vector stores come and go with them
        "vector_dbs": snapshot.vector_dbs.keys().filter(|id| !id.starts_with("vs_")).collect::<Vec<_>>(),
    })
}

/// The state a clean registration reaches; a difference is shown by kind.
fn assert_same_state(repaired: &Value, clean: &Value) {
    for (kind, wanted) in clean.as_object().expect("object") {
        assert_eq!(
            &repaired[kind], wanted,
            "{kind} differ from a clean registration's"
        );
    }
}

/// What one clean run of `dir` makes of a server holding what `before` seeds.
async fn clean_registration(before: Before, flavor: Flavor, dir: &Path, options: Options) -> Value {
    let fake = server_for(before, flavor).await;
    seed(&fake, before).await;
    register_cleanly(&fake, dir, options).await;
    shape(&fake.snapshot())
}

/// `route` is below the files and vector stores base unless it starts
/// with `/v1/` (the models, and the Agents API of 0.2.18).
async fn after_a_failure_the_next_run_converges(
    flavor: Flavor,
    before: Before,
    method: &str,
    route: &str,
    status: u16,
) {
    let setup = prepare(before, flavor).await;
    let path = if route.starts_with("/v1/") {
        route.to_owned()
    } else {
        common::route(&setup.fake, route)
    };
    // the client retries a 5xx twice: three answers fail the request
    let times = if status >= 500 { 3 } else { 1 };
    setup
        .fake
        .fail_next_with(Some(method), &path, times, status);
    if let Ok(report) = setup.reconcile().await {
        assert!(
            report.summary.failed > 0,
            "a step failed: {}",
            report.summary
        );
    } // else reading the state failed, and nothing was changed
    assert_eq!(
        setup.fake.pending_faults(),
        0,
        "the run met {method} {path}"
    );

    let repair = setup.reconcile().await.expect("planned");
    assert_eq!(
        repair.check(),
        Ok(()),
        "the next run repairs: {}",
        repair.summary
    );
    let settled = setup.fake.snapshot();
    assert_same_state(
        &shape(&settled),
        &clean_registration(before, flavor, setup.dir.path(), setup.options).await,
    );

    setup.fake.reset_counters();
    let after = setup.reconcile().await.expect("planned");
    let unchanged = Summary {
        unchanged: after.outcomes.len(),
        ..Summary::default()
    };
    assert_eq!(after.summary, unchanged, "the run after changes nothing");
    assert!(
        setup.fake.counters().no_changes(),
        "{:?}",
        setup.fake.counters()
    );
    assert_eq!(setup.fake.snapshot(), settled);
}

macro_rules! converges_after_a_failed {
    ($flavor:ident: $($test:ident: $before:ident, $method:literal $route:literal $status:literal;)+) => {$(
        #[tokio::test]
        async fn $test() {
            after_a_failure_the_next_run_converges(Flavor::$flavor, Before::$before, $method, $route, $status).await;
        }
    )+};
}

converges_after_a_failed! { Current:
    read_of_the_models: Nothing, "GET" "/v1/models" 503;
    read_of_the_vector_stores: Nothing, "GET" "/vector_stores" 503;
    vector_store_create: Nothing, "POST" "/vector_stores" 503;
    file_upload_refused_as_too_large: Nothing, "POST" "/files" 413;
    file_attach: Nothing, "POST" "/vector_stores/{id}/files" 503;
    changed_file_upload: DocumentChanged, "POST" "/files" 413;
    changed_file_attach: DocumentChanged, "POST" "/vector_stores/{id}/files" 503;
    read_of_the_store_files: DocumentChanged, "GET" "/vector_stores/{id}/files" 503;
    replaced_file_detach: DocumentChanged, "DELETE" "/vector_stores/{id}/files/{file}" 503;
    replaced_file_delete: DocumentChanged, "DELETE" "/files/{id}" 503;
    duplicate_store_delete: DuplicateStore, "DELETE" "/vector_stores/{id}" 503;
    duplicate_store_file_delete: DuplicateStore, "DELETE" "/files/{id}" 503;
    pruned_store_delete: Shrunk, "DELETE" "/vector_stores/{id}" 503;
    pruned_store_file_delete: Shrunk, "DELETE" "/files/{id}" 503;
    replacement_store_create: EmbeddingChanged, "POST" "/vector_stores" 503;
    replacement_file_upload: EmbeddingChanged, "POST" "/files" 413;
    retired_store_delete: EmbeddingChanged, "DELETE" "/vector_stores/{id}" 503;
    retired_store_file_delete: EmbeddingChanged, "DELETE" "/files/{id}" 503;
}

converges_after_a_failed! { V0_2_18:
    read_of_the_agents: EarlierRelease, "GET" "/v1/agents" 503;
    left_over_agent_delete: EarlierRelease, "DELETE" "/v1/agents/{id}" 503;
    left_over_toolgroup_unregister: EarlierRelease, "DELETE" "/v1/toolgroups/{id}" 503;
    left_over_vector_db_unregister: EarlierRelease, "DELETE" "/v1/vector-dbs/{id}" 503;
    file_attach_on_0_2_18: Nothing, "POST" "/vector_stores/{id}/files" 503;
    replaced_file_delete_on_0_2_18: DocumentChanged, "DELETE" "/files/{id}" 503;
    replaced_file_detach_on_0_2_18: DocumentChanged, "DELETE" "/vector_stores/{id}/files/{file}" 503;
    pruned_store_delete_on_0_2_18: Shrunk, "DELETE" "/vector_stores/{id}" 503;
}

#[tokio::test]
async fn a_file_removed_behind_its_back_is_uploaded_again() {
    let setup = prepare(Before::Nothing, Flavor::Current).await;
    register_cleanly(&setup.fake, setup.dir.path(), setup.options).await;
    let snapshot = setup.fake.snapshot();
    let (store, attached) = snapshot.vector_stores.iter().next().expect("store");
    let file = attached.files.keys().next().expect("a file");
    let client = common::client(&setup.fake);
    client.detach_file(store, file).await.expect("detached");
    client.delete_file(file).await.expect("deleted");
    let repair = setup.reconcile().await.expect("planned");
    assert_eq!(repair.check(), Ok(()), "{}", repair.summary);
    assert_eq!(repair.summary.replaced, 1, "{}", repair.summary);
    assert_same_state(
        &shape(&setup.fake.snapshot()),
        &clean_registration(
            Before::Nothing,
            Flavor::Current,
            setup.dir.path(),
            setup.options,
        )
        .await,
    );
}
