//! A run whose step failed leaves a state the next run repairs: for a
//! failure injected at each request a reconciliation makes, the following
//! run succeeds and reaches what a clean registration reaches (nothing
//! leaked, nothing missing), and the run after it changes nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use asset_manager::{Options, Report, Summary, load, reconcile};
use serde_json::{Value, json};
use shared_clients::llamastack::{AttachFile, CreateVectorStore, JsonObject};
use test_support::fake_llamastack::{FakeLlamaStack, Snapshot};

const KB: &str = "knowledge_bases/laptop-refresh";

/// What the server holds when the failing run starts.
#[derive(Debug, Clone, Copy)]
enum Before {
    /// Nothing registered yet.
    Nothing,
    /// Registered; then `toolgroups/snow.yaml` names another URI.
    ToolgroupMoved,
    /// Registered; then one document changes.
    DocumentChanged,
    /// Registered; then laptop-refresh's prompt changes.
    PromptChanged,
    /// Registered, plus a newer managed vector store of the same knowledge base.
    DuplicateStore,
    /// Registered with an extra agent, toolgroup and knowledge base that
    /// the directory then drops (reconciled with `--prune`).
    Shrunk,
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

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

async fn register_cleanly(fake: &FakeLlamaStack, dir: &Path, options: Options) {
    let assets = load(dir).expect("valid assets");
    let report = reconcile(&common::client(fake), &assets, options)
        .await
        .expect("planned");
    assert_eq!(report.check(), Ok(()), "the setup registers cleanly");
}

async fn prepare(before: Before) -> Setup {
    let fake = FakeLlamaStack::start().await;
    let dir = common::copy_of(&common::project_assets());
    let path = dir.path();
    let mut options = Options::default();
    match before {
        Before::Nothing => {}
        Before::ToolgroupMoved => {
            register_cleanly(&fake, path, options).await;
            write(
                path,
                "toolgroups/snow.yaml",
                "name: snow\nuri: http://snow-v2:8000/sse\n",
            );
        }
        Before::DocumentChanged => {
            register_cleanly(&fake, path, options).await;
            write(
                path,
                &format!("{KB}/refresh-rules.txt"),
                "Every laptop goes after three years.",
            );
        }
        Before::PromptChanged => {
            register_cleanly(&fake, path, options).await;
            write(path, "prompts/laptop-refresh.txt", "A new prompt.");
        }
        Before::DuplicateStore => {
            register_cleanly(&fake, path, options).await;
            // stores are ordered by created_at (seconds): make this one newer
            tokio::time::sleep(Duration::from_millis(1100)).await;
            add_managed_store(&fake, "laptop-refresh").await;
        }
        Before::Shrunk => {
            write(
                path,
                "toolgroups/extra.yaml",
                "name: extra\nuri: http://extra:8000/sse\n",
            );
            write(path, "knowledge_bases/extra/notes.txt", "Extra notes.");
            write(
                path,
                "agents/extra.yaml",
                "name: extra-agent\ninstructions: Extra.\nmcp_servers: [extra]\nknowledge_bases: [extra]\n",
            );
            register_cleanly(&fake, path, options).await;
            for extra in ["toolgroups/extra.yaml", "agents/extra.yaml"] {
                std::fs::remove_file(path.join(extra)).expect("remove");
            }
            std::fs::remove_dir_all(path.join("knowledge_bases/extra")).expect("remove");
            options.prune = true;
        }
    }
    Setup { fake, dir, options }
}

/// A second store marked as this tool's, holding one file.
async fn add_managed_store(fake: &FakeLlamaStack, knowledge_base: &str) {
    let client = common::client(fake);
    let mut metadata = JsonObject::new();
    metadata.insert("managed_by".into(), json!("register-assets"));
    metadata.insert("knowledge_base".into(), json!(knowledge_base));
    let create = CreateVectorStore {
        name: knowledge_base.into(),
        metadata,
        embedding_model: None,
        embedding_dimension: None,
        provider_id: None,
    };
    let store = client.create_vector_store(&create).await.expect("store");
    let file = client
        .upload_file("stray.txt", b"stray", "assistants")
        .await
        .expect("file");
    let attach = AttachFile {
        file_id: file.id,
        attributes: JsonObject::new(),
    };
    client
        .attach_file(&store.id, &attach)
        .await
        .expect("attach");
}

/// The server's state without ids and timestamps: equal for two servers
/// holding the same things. An attached file records whether its file
/// object still exists.
fn shape(snapshot: &Snapshot) -> Value {
    let ours = |id: &&String| !id.starts_with("vs_");
    let mut agents: Vec<Value> = snapshot
        .agents
        .values()
        .map(|agent| {
            let mut config = agent["agent_config"].clone();
            config.as_object_mut().map(|c| c.remove("created_at"));
            config
        })
        .collect();
    agents.sort_by_key(Value::to_string);
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
                metadata.remove("provider_id");
                metadata.remove("provider_vector_db_id");
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
            json!({"metadata": metadata, "files": attached})
        })
        .collect();
    stores.sort_by_key(Value::to_string);
    json!({
        "toolgroups": snapshot.toolgroups,
        "vector_dbs": snapshot.vector_dbs.iter().filter(|(id, _)| ours(id))
            .map(|(id, db)| (id.clone(), db["embedding_model"].clone())).collect::<serde_json::Map<_, _>>(),
        "documents": snapshot.documents.iter().filter(|(id, _)| ours(id))
            .map(|(id, docs)| (id.clone(), json!(docs))).collect::<serde_json::Map<_, _>>(),
        "agents": agents,
        "files": files,
        "vector_stores": stores,
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

/// What one clean run of `dir` makes of an empty server.
async fn clean_registration(dir: &Path, options: Options) -> Value {
    let fake = FakeLlamaStack::start().await;
    register_cleanly(&fake, dir, options).await;
    shape(&fake.snapshot())
}

async fn after_a_failure_the_next_run_converges(
    before: Before,
    method: &str,
    route: &str,
    status: u16,
) {
    let setup = prepare(before).await;
    // the client retries a 5xx twice: three answers fail the request
    let times = if status >= 500 { 3 } else { 1 };
    setup
        .fake
        .fail_next_with(Some(method), route, times, status);
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
        "the run met {method} {route}"
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
        &clean_registration(setup.dir.path(), setup.options).await,
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
    ($($test:ident: $before:ident, $method:literal $route:literal $status:literal;)+) => {$(
        #[tokio::test]
        async fn $test() {
            after_a_failure_the_next_run_converges(Before::$before, $method, $route, $status).await;
        }
    )+};
}

converges_after_a_failed! {
    toolgroup_register: Nothing, "POST" "/v1/toolgroups" 503;
    vector_store_create: Nothing, "POST" "/v1/openai/v1/vector_stores" 503;
    file_upload_refused_as_too_large: Nothing, "POST" "/v1/openai/v1/files" 413;
    file_attach: Nothing, "POST" "/v1/openai/v1/vector_stores/{id}/files" 503;
    vector_db_register: Nothing, "POST" "/v1/vector-dbs" 503;
    document_insert: Nothing, "POST" "/v1/tool-runtime/rag-tool/insert" 503;
    digest_record: Nothing, "POST" "/v1/openai/v1/vector_stores/{id}" 503;
    agent_create: Nothing, "POST" "/v1/agents" 503;
    read_of_the_agents: Nothing, "GET" "/v1/agents" 503;
    toolgroup_unregister: ToolgroupMoved, "DELETE" "/v1/toolgroups/{id}" 503;
    toolgroup_register_after_unregister: ToolgroupMoved, "POST" "/v1/toolgroups" 503;
    changed_file_upload: DocumentChanged, "POST" "/v1/openai/v1/files" 413;
    replaced_file_detach: DocumentChanged, "DELETE" "/v1/openai/v1/vector_stores/{id}/files/{file}" 503;
    replaced_file_delete: DocumentChanged, "DELETE" "/v1/openai/v1/files/{id}" 503;
    digest_update_before_a_rebuild: DocumentChanged, "POST" "/v1/openai/v1/vector_stores/{id}" 503;
    vector_db_unregister: DocumentChanged, "DELETE" "/v1/vector-dbs/{id}" 503;
    vector_db_register_in_a_rebuild: DocumentChanged, "POST" "/v1/vector-dbs" 503;
    document_insert_in_a_rebuild: DocumentChanged, "POST" "/v1/tool-runtime/rag-tool/insert" 503;
    replacement_agent_create: PromptChanged, "POST" "/v1/agents" 503;
    replaced_agent_delete: PromptChanged, "DELETE" "/v1/agents/{id}" 503;
    duplicate_store_delete: DuplicateStore, "DELETE" "/v1/openai/v1/vector_stores/{id}" 503;
    duplicate_store_file_delete: DuplicateStore, "DELETE" "/v1/openai/v1/files/{id}" 503;
    pruned_agent_delete: Shrunk, "DELETE" "/v1/agents/{id}" 503;
    pruned_toolgroup_unregister: Shrunk, "DELETE" "/v1/toolgroups/{id}" 503;
    pruned_vector_db_unregister: Shrunk, "DELETE" "/v1/vector-dbs/{id}" 503;
    pruned_store_delete: Shrunk, "DELETE" "/v1/openai/v1/vector_stores/{id}" 503;
    pruned_store_file_delete: Shrunk, "DELETE" "/v1/openai/v1/files/{id}" 503;
}

#[tokio::test]
async fn a_vector_db_deleted_behind_its_back_is_rebuilt_and_recorded() {
    let setup = prepare(Before::Nothing).await;
    register_cleanly(&setup.fake, setup.dir.path(), setup.options).await;
    let client = common::client(&setup.fake);
    client
        .unregister_vector_db("laptop-refresh")
        .await
        .expect("deleted");
    let repair = setup.reconcile().await.expect("planned");
    assert_eq!(repair.check(), Ok(()), "{}", repair.summary);
    assert_eq!(setup.fake.snapshot().documents["laptop-refresh"].len(), 4);
    setup.fake.reset_counters();
    let after = setup.reconcile().await.expect("planned");
    assert_eq!(
        after.summary.unchanged,
        after.outcomes.len(),
        "{}",
        after.summary
    );
}

#[tokio::test]
async fn a_half_built_vector_db_is_rebuilt_when_the_documents_return_to_the_recorded_ones() {
    let setup = prepare(Before::Nothing).await;
    let rules = setup.dir.path().join(KB).join("refresh-rules.txt");
    let original = std::fs::read_to_string(&rules).expect("read");
    register_cleanly(&setup.fake, setup.dir.path(), setup.options).await;
    std::fs::write(&rules, "Changed rules.").expect("write");
    setup
        .fake
        .fail_next_with(Some("POST"), "/v1/tool-runtime/rag-tool/insert", 3, 503);
    let failed = setup.reconcile().await.expect("planned");
    assert!(failed.summary.failed > 0, "{}", failed.summary);
    std::fs::write(&rules, &original).expect("revert");
    let repair = setup.reconcile().await.expect("planned");
    assert_eq!(repair.check(), Ok(()), "{}", repair.summary);
    let documents = &setup.fake.snapshot().documents["laptop-refresh"];
    assert_eq!(
        documents.len(),
        4,
        "the vector DB holds every document again"
    );
    assert_eq!(documents[3]["content"], json!(original));
}
