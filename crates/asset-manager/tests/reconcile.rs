//! Reconciling asset directories into the fake LlamaStack: each knowledge
//! base becomes a managed vector store holding one file per document; re-runs
//! change nothing, a changed document is replaced alone, what this tool does
//! not own is left alone, and an earlier release's Agents API objects are
//! left-overs that `--prune` removes.

mod common;

use std::path::Path;

use asset_manager::{Action, Kind, Options, ReconcileError, Summary, load, plan, reconcile};
use common::{KB, KB_DIR, documents_of, route, stores_of, write};
use serde_json::{Value, json};
use test_support::fake_llamastack::{
    DEFAULT_EMBEDDING_DIMENSION, DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM, FakeLlamaStack, FakeModel,
    Flavor,
};

async fn run(fake: &FakeLlamaStack, dir: &Path, prune: bool) -> Summary {
    let assets = load(dir).expect("valid assets");
    let report = reconcile(&common::client(fake), &assets, Options { prune })
        .await
        .expect("planned");
    let failures: Vec<_> = report.failures().collect();
    assert!(failures.is_empty(), "failures: {failures:?}");
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

/// The one managed store of the project's knowledge base.
fn the_store(fake: &FakeLlamaStack) -> String {
    let snapshot = fake.snapshot();
    let stores = stores_of(&snapshot, KB);
    assert_eq!(stores.len(), 1, "one store of {KB}: {stores:?}");
    stores[0].clone()
}

async fn registers_fully_then_reruns_change_nothing(flavor: Flavor, dir: &Path, documents: usize) {
    let fake = common::fake_of(flavor).await;
    assert_eq!(run(&fake, dir, false).await, summary(1, 0, 0, 0));
    let after_first = fake.snapshot();
    let store = the_store(&fake);
    assert_eq!(after_first.vector_stores.len(), 1);
    assert_eq!(after_first.vector_stores[&store].files.len(), documents);
    assert_eq!(after_first.files.len(), documents, "one file per document");
    for run_number in [2, 3] {
        fake.reset_counters();
        assert_eq!(
            run(&fake, dir, false).await,
            summary(0, 0, 1, 0),
            "run {run_number}"
        );
        assert_eq!(
            fake.snapshot(),
            after_first,
            "run {run_number} changed the server"
        );
        assert!(
            fake.counters().no_changes(),
            "run {run_number}: {:?}",
            fake.counters()
        );
    }
}

#[tokio::test]
async fn the_fixture_registers_fully_and_reruns_are_no_ops() {
    let Some(dir) = common::fixture_assets("the_fixture_registers_fully_and_reruns_are_no_ops")
    else {
        return;
    };
    registers_fully_then_reruns_change_nothing(Flavor::Current, &dir, 5).await;
}

#[tokio::test]
async fn the_projects_assets_register_fully_and_reruns_are_no_ops() {
    registers_fully_then_reruns_change_nothing(Flavor::Current, &common::project_assets(), 4).await;
}

#[tokio::test]
async fn the_projects_assets_register_fully_and_reruns_are_no_ops_on_0_2_18() {
    registers_fully_then_reruns_change_nothing(Flavor::V0_2_18, &common::project_assets(), 4).await;
}

#[tokio::test]
async fn every_document_is_a_file_of_the_store_with_its_id_and_content() {
    let fake = common::fake().await;
    run(&fake, &common::project_assets(), false).await;
    let store = the_store(&fake);
    let rules = std::fs::read_to_string(
        common::project_assets()
            .join(KB_DIR)
            .join("refresh-rules.txt"),
    )
    .expect("read");
    let documents = documents_of(&fake.snapshot(), &store);
    let ids: Vec<&str> = documents.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "laptop-refresh/catalog/americas.txt",
            "laptop-refresh/catalog/asia-pacific.txt",
            "laptop-refresh/catalog/europe.txt",
            "laptop-refresh/refresh-rules.txt"
        ]
    );
    assert_eq!(documents[3].1, rules);
}

#[tokio::test]
async fn agents_prompts_and_mcp_servers_are_not_registered() {
    let fake = common::legacy_fake().await;
    let dir = common::copy_of(&common::project_assets());
    run(&fake, dir.path(), false).await;
    let first_writes: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with(&route(&fake, "/")))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        first_writes.is_empty(),
        "only files and vector stores are written: {first_writes:?}"
    );
    fake.clear_requests();
    write(dir.path(), "prompts/laptop-refresh.txt", "A new prompt.");
    write(
        dir.path(),
        "toolgroups/snow.yaml",
        "name: snow\nuri: http://snow-v2:8000/mcp\n",
    );
    fake.reset_counters();
    assert_eq!(run(&fake, dir.path(), false).await, summary(0, 0, 1, 0));
    assert!(fake.counters().no_changes(), "{:?}", fake.counters());
    let writes: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let snapshot = fake.snapshot();
    assert!(snapshot.agents.is_empty(), "no agents");
    assert!(
        snapshot
            .toolgroups
            .keys()
            .all(|id| !id.starts_with("mcp::")),
        "no MCP toolgroups: {:?}",
        snapshot.toolgroups.keys()
    );
}

#[tokio::test]
async fn a_changed_document_is_re_uploaded_alone_and_the_old_file_deleted() {
    a_changed_document_is_replaced_alone(Flavor::Current).await;
}

#[tokio::test]
async fn a_changed_document_is_re_uploaded_alone_and_the_old_file_deleted_on_0_2_18() {
    a_changed_document_is_replaced_alone(Flavor::V0_2_18).await;
}

async fn a_changed_document_is_replaced_alone(flavor: Flavor) {
    let dir = common::copy_of(&common::project_assets());
    let fake = common::fake_of(flavor).await;
    run(&fake, dir.path(), false).await;
    let store = the_store(&fake);
    let before = documents_of(&fake.snapshot(), &store);
    write(
        dir.path(),
        &format!("{KB_DIR}/refresh-rules.txt"),
        "Every laptop is exchanged after three years.",
    );
    fake.reset_counters();
    assert_eq!(run(&fake, dir.path(), false).await, summary(0, 1, 0, 0));
    let counters = fake.counters();
    assert_eq!((counters.created("file"), counters.deleted("file")), (1, 1));
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.files.len(), 4, "no leaked files");
    assert_eq!(the_store(&fake), store, "the same store");
    let after = documents_of(&snapshot, &store);
    assert_eq!(after[..3], before[..3], "the other documents untouched");
    assert_eq!(
        after[3],
        (
            "laptop-refresh/refresh-rules.txt".to_owned(),
            "Every laptop is exchanged after three years.".to_owned()
        )
    );
    fake.reset_counters();
    assert_eq!(run(&fake, dir.path(), false).await, summary(0, 0, 1, 0));
}

#[tokio::test]
async fn an_added_and_a_removed_document_are_uploaded_and_removed() {
    let dir = common::copy_of(&common::project_assets());
    let fake = common::fake().await;
    run(&fake, dir.path(), false).await;
    std::fs::remove_file(dir.path().join(KB_DIR).join("catalog/europe.txt")).expect("remove");
    write(
        dir.path(),
        &format!("{KB_DIR}/catalog/africa.txt"),
        "Africa.",
    );
    fake.reset_counters();
    assert_eq!(run(&fake, dir.path(), false).await, summary(0, 1, 0, 0));
    let snapshot = fake.snapshot();
    let ids: Vec<String> = documents_of(&snapshot, &the_store(&fake))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        [
            "laptop-refresh/catalog/africa.txt",
            "laptop-refresh/catalog/americas.txt",
            "laptop-refresh/catalog/asia-pacific.txt",
            "laptop-refresh/refresh-rules.txt"
        ]
    );
    assert_eq!(
        snapshot.files.len(),
        4,
        "the removed document's file is deleted"
    );
}

#[tokio::test]
async fn a_new_knowledge_base_gets_a_store_of_its_own() {
    let dir = common::copy_of(&common::project_assets());
    let fake = common::fake().await;
    run(&fake, dir.path(), false).await;
    let laptop = the_store(&fake);
    write(dir.path(), "knowledge_bases/hr/leave.txt", "Leave rules.");
    assert_eq!(run(&fake, dir.path(), false).await, summary(1, 0, 1, 0));
    let snapshot = fake.snapshot();
    let hr = stores_of(&snapshot, "hr");
    assert_eq!(hr.len(), 1);
    assert_eq!(
        documents_of(&snapshot, hr[0]),
        [("hr/leave.txt".to_owned(), "Leave rules.".to_owned())]
    );
    assert_eq!(snapshot.vector_stores[hr[0]].object["name"], json!("hr"));
    assert_eq!(the_store(&fake), laptop);
}

#[tokio::test]
async fn a_gone_knowledge_base_keeps_its_store_unless_pruned() {
    a_gone_knowledge_base_is_pruned_only_with_prune(Flavor::Current).await;
}

#[tokio::test]
async fn a_gone_knowledge_base_keeps_its_store_unless_pruned_on_0_2_18() {
    a_gone_knowledge_base_is_pruned_only_with_prune(Flavor::V0_2_18).await;
}

async fn a_gone_knowledge_base_is_pruned_only_with_prune(flavor: Flavor) {
    let dir = common::copy_of(&common::project_assets());
    write(dir.path(), "knowledge_bases/hr/leave.txt", "Leave rules.");
    let fake = common::fake_of(flavor).await;
    run(&fake, dir.path(), false).await;
    std::fs::remove_dir_all(dir.path().join("knowledge_bases/hr")).expect("remove");
    assert_eq!(run(&fake, dir.path(), false).await, summary(0, 0, 1, 0));
    assert_eq!(stores_of(&fake.snapshot(), "hr").len(), 1, "kept");
    assert_eq!(run(&fake, dir.path(), true).await, summary(0, 0, 1, 1));
    let snapshot = fake.snapshot();
    assert!(stores_of(&snapshot, "hr").is_empty(), "pruned");
    assert_eq!(snapshot.files.len(), 4, "its file is deleted with it");
}

#[tokio::test]
async fn a_vector_store_it_did_not_create_is_kept_even_with_prune() {
    let fake = common::fake().await;
    let foreign = common::add_store(
        &fake,
        "their-docs",
        json!({"team": "finance"}),
        None,
        ("budget.txt", json!({})),
    )
    .await;
    // another tool's store naming a knowledge base, without managed_by
    let lookalike = common::add_store(
        &fake,
        KB,
        json!({"knowledge_base": KB}),
        None,
        (
            "rules.txt",
            json!({"document_id": "laptop-refresh/refresh-rules.txt"}),
        ),
    )
    .await;
    assert_eq!(
        run(&fake, &common::project_assets(), true).await,
        summary(1, 0, 0, 0)
    );
    let snapshot = fake.snapshot();
    for store in [&foreign, &lookalike] {
        assert_eq!(
            snapshot.vector_stores[&store.id].files.len(),
            1,
            "untouched"
        );
    }
    assert_eq!(snapshot.files.len(), 4 + 2);
}

#[tokio::test]
async fn a_duplicate_managed_store_is_removed_with_its_files_keeping_the_oldest() {
    let fake = common::fake().await;
    let dir = common::project_assets();
    run(&fake, &dir, false).await;
    let original = the_store(&fake);
    // stores are ordered by created_at (seconds): make the copy newer
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let copy = common::add_managed_store(&fake, KB).await;
    assert_eq!(run(&fake, &dir, false).await, summary(0, 0, 1, 1));
    let snapshot = fake.snapshot();
    assert!(!snapshot.vector_stores.contains_key(&copy.id));
    assert_eq!(the_store(&fake), original);
    assert_eq!(snapshot.files.len(), 4, "the copy's file is deleted too");
}

#[tokio::test]
async fn a_store_of_another_embedding_model_is_replaced_by_a_new_one() {
    let fake = FakeLlamaStack::builder()
        .models(vec![
            FakeModel::llm(DEFAULT_LLM),
            FakeModel::embedding(DEFAULT_EMBEDDING_MODEL, DEFAULT_EMBEDDING_DIMENSION),
            FakeModel::embedding("vllm/older-embedder", 768),
        ])
        .start()
        .await
        .expect("fake");
    // made while the other model was the first listed
    let old = common::add_store(
        &fake,
        KB,
        json!({"managed_by": "register-assets", "knowledge_base": KB}),
        Some("vllm/older-embedder"),
        (
            "refresh-rules.txt",
            json!({"document_id": "laptop-refresh/refresh-rules.txt"}),
        ),
    )
    .await;
    assert_eq!(
        run(&fake, &common::project_assets(), false).await,
        summary(0, 1, 0, 0)
    );
    let snapshot = fake.snapshot();
    assert!(!snapshot.vector_stores.contains_key(&old.id), "retired");
    let new = the_store(&fake);
    assert_eq!(
        snapshot.vector_stores[&new].object["metadata"]["embedding_model"],
        json!(DEFAULT_EMBEDDING_MODEL)
    );
    assert_eq!(documents_of(&snapshot, &new).len(), 4);
    assert_eq!(snapshot.files.len(), 4, "the old store's file is deleted");
}

#[tokio::test]
async fn the_wire_format_follows_the_contract() {
    let fake = common::fake().await;
    run(&fake, &common::project_assets(), false).await;
    let requests = fake.requests();
    let bodies = |method: &str, path: &str| -> Vec<Value> {
        requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(|r| r.body.clone())
            .collect()
    };
    assert_eq!(
        bodies("GET", &route(&fake, "/vector_stores")).len(),
        1,
        "the stores are read once"
    );
    assert_eq!(
        bodies("POST", &route(&fake, "/vector_stores")),
        [json!({
            "name": "laptop-refresh",
            // no embedding_model here: 0.7.3 and OGX would take it as the
            // store's embedding configuration and want its dimension there too
            "metadata": {"managed_by": "register-assets", "knowledge_base": "laptop-refresh"},
            "embedding_model": DEFAULT_EMBEDDING_MODEL,
            "embedding_dimension": DEFAULT_EMBEDDING_DIMENSION,
        })]
    );
    let store = the_store(&fake);
    let rules = std::fs::read(
        common::project_assets()
            .join(KB_DIR)
            .join("refresh-rules.txt"),
    )
    .expect("read");
    let attached = bodies(
        "POST",
        &route(&fake, &format!("/vector_stores/{store}/files")),
    );
    assert_eq!(attached.len(), 4);
    let rules_file = attached
        .iter()
        .find(|body| body["attributes"]["document_id"] == "laptop-refresh/refresh-rules.txt")
        .expect("refresh-rules attached");
    assert_eq!(
        rules_file["attributes"],
        json!({"managed_by": "register-assets", "knowledge_base": "laptop-refresh",
               "document_id": "laptop-refresh/refresh-rules.txt",
               "sha256": asset_manager_sha256(&rules)})
    );
    let file_id = rules_file["file_id"].as_str().expect("file id");
    let snapshot = fake.snapshot();
    let uploaded = &snapshot.files[file_id];
    assert_eq!(uploaded.content, rules);
    assert_eq!(uploaded.object["filename"], json!("refresh-rules.txt"));
    assert_eq!(uploaded.object["purpose"], json!("assistants"));
}

fn asset_manager_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn a_dry_run_plan_changes_nothing_and_lists_every_step() {
    let fake = common::fake().await;
    let assets = load(&common::project_assets()).expect("valid");
    let plan = plan(&common::client(&fake), &assets, Options::default())
        .await
        .expect("plan");
    let steps: Vec<(Kind, &str, Action)> = plan
        .steps
        .iter()
        .map(|s| (s.kind, s.name.as_str(), s.action))
        .collect();
    assert_eq!(steps, [(Kind::VectorStore, KB, Action::Create)]);
    assert!(fake.counters().no_changes());
    assert_eq!(
        plan.to_string(),
        "create    vector-store laptop-refresh                   4 files\n"
    );
}

#[tokio::test]
async fn without_an_embedding_model_a_knowledge_base_cannot_be_planned() {
    let fake = FakeLlamaStack::builder()
        .models(vec![FakeModel::llm("vllm/only-an-llm")])
        .start()
        .await
        .expect("fake");
    let assets = load(&common::project_assets()).expect("valid");
    let error = plan(&common::client(&fake), &assets, Options::default())
        .await
        .expect_err("no embedding model");
    assert!(matches!(error, ReconcileError::Missing { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "LlamaStack serves no embedding model, which knowledge base laptop-refresh needs"
    );
}

#[tokio::test]
async fn a_directory_without_knowledge_bases_needs_no_embedding_model() {
    let dir = common::copy_of(&common::project_assets());
    std::fs::remove_dir_all(dir.path().join("knowledge_bases")).expect("remove");
    write(
        dir.path(),
        "agents/laptop-refresh-agent.yaml",
        "name: laptop-refresh\n",
    );
    let fake = FakeLlamaStack::builder()
        .models(vec![FakeModel::llm("vllm/only-an-llm")])
        .start()
        .await
        .expect("fake");
    assert_eq!(run(&fake, dir.path(), false).await, Summary::default());
}

#[tokio::test]
async fn the_first_embedding_model_listed_makes_the_store() {
    let fake = FakeLlamaStack::builder()
        .models(vec![
            FakeModel::llm("vllm/llm"),
            FakeModel::embedding("vllm/first-embedder", 768),
            FakeModel::embedding("vllm/second-embedder", 384),
        ])
        .start()
        .await
        .expect("fake");
    run(&fake, &common::project_assets(), false).await;
    let create = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == route(&fake, "/vector_stores"))
        .expect("created");
    assert_eq!(create.body["embedding_model"], json!("vllm/first-embedder"));
    assert_eq!(create.body["embedding_dimension"], json!(768));
}

// ---- what an earlier release left (LlamaStack 0.2.18's Agents API) ----

#[tokio::test]
async fn an_earlier_releases_objects_are_listed_as_left_overs_and_kept_without_prune() {
    let fake = common::legacy_fake().await;
    let agents = common::seed_earlier_release(&fake);
    let assets = load(&common::project_assets()).expect("valid");
    let plan = plan(&common::client(&fake), &assets, Options::default())
        .await
        .expect("plan");
    let leftovers: Vec<(Kind, &str)> = plan
        .leftovers
        .iter()
        .map(|l| (l.kind, l.name.as_str()))
        .collect();
    assert_eq!(
        leftovers,
        [
            (Kind::Agent, "laptop-refresh"),
            (Kind::Agent, "routing-agent"),
            (Kind::Toolgroup, "mcp::snow"),
            (Kind::VectorDb, KB),
        ],
        "builtin toolgroups are never left-overs"
    );
    let shown = plan.to_string();
    assert!(
        shown.contains(&format!(
            "left-over agent        routing-agent                    {}: left by an earlier release; --prune removes it",
            agents[0]
        )),
        "{shown}"
    );
    assert_eq!(
        run(&fake, &common::project_assets(), false).await,
        summary(1, 0, 0, 0)
    );
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.agents.len(), 2, "kept without --prune");
    assert!(snapshot.toolgroups.contains_key("mcp::snow"));
    assert!(snapshot.vector_dbs.contains_key(KB));
}

#[tokio::test]
async fn prune_removes_an_earlier_releases_agents_mcp_toolgroups_and_vector_dbs() {
    let fake = common::legacy_fake().await;
    common::seed_earlier_release(&fake);
    let builtin_before: Vec<String> = fake
        .snapshot()
        .toolgroups
        .keys()
        .filter(|id| id.starts_with("builtin::"))
        .cloned()
        .collect();
    assert_eq!(
        run(&fake, &common::project_assets(), true).await,
        summary(1, 0, 0, 4)
    );
    let snapshot = fake.snapshot();
    assert!(snapshot.agents.is_empty());
    let toolgroups: Vec<String> = snapshot.toolgroups.keys().cloned().collect();
    assert_eq!(toolgroups, builtin_before, "builtin toolgroups stay");
    let store = the_store(&fake);
    let vector_dbs: Vec<&String> = snapshot.vector_dbs.keys().collect();
    assert_eq!(
        vector_dbs,
        [&store],
        "only the one behind the store remains"
    );
    fake.reset_counters();
    assert_eq!(
        run(&fake, &common::project_assets(), true).await,
        summary(0, 0, 1, 0)
    );
    assert!(fake.counters().no_changes());
}

#[tokio::test]
async fn the_store_an_earlier_release_made_is_adopted() {
    // What the earlier release left: a managed store without a recorded
    // embedding model (0.2.18 records it on the vector DB behind the store)
    // and a digest it no longer needs.
    let fake = common::legacy_fake().await;
    let dir = common::project_assets();
    run(&fake, &dir, false).await;
    let store = the_store(&fake);
    let client = common::client(&fake);
    let mut metadata = fake.snapshot().vector_stores[&store].object["metadata"]
        .as_object()
        .expect("metadata")
        .clone();
    metadata.remove("embedding_model");
    metadata.insert("vector_db_digest".into(), json!("0123abcd"));
    client
        .update_vector_store(
            &store,
            &shared_clients::llamastack::UpdateVectorStore {
                name: None,
                metadata: Some(metadata),
            },
        )
        .await
        .expect("update");
    fake.reset_counters();
    assert_eq!(run(&fake, &dir, false).await, summary(0, 0, 1, 0));
    assert!(fake.counters().no_changes());
    assert_eq!(the_store(&fake), store);
}

#[tokio::test]
async fn a_failed_upload_is_counted_and_the_run_goes_on() {
    let fake = common::fake().await;
    fake.fail_next_with(Some("POST"), &route(&fake, "/files"), 1, 413);
    let assets = load(&common::project_assets()).expect("valid");
    let report = reconcile(&common::client(&fake), &assets, Options::default())
        .await
        .expect("planned");
    assert_eq!(report.summary.failed, 1, "{}", report.summary);
    let error = report.check().expect_err("failed").to_string();
    assert!(
        error.starts_with(
            "1 of 1 steps failed; first: create vector-store laptop-refresh: laptop-refresh/"
        ),
        "{error}"
    );
    let snapshot = fake.snapshot();
    assert_eq!(
        documents_of(&snapshot, &the_store(&fake)).len(),
        3,
        "the other documents"
    );
    assert_eq!(snapshot.files.len(), 3);
}

#[tokio::test]
async fn a_server_without_the_agents_api_has_no_left_overs() {
    // The current servers answer 404 to the Agents API's listings.
    let fake = common::fake().await;
    common::seed_earlier_release(&fake);
    let assets = load(&common::project_assets()).expect("valid");
    let plan = plan(&common::client(&fake), &assets, Options { prune: true })
        .await
        .expect("plan");
    assert!(plan.leftovers.is_empty(), "{plan}");
    assert_eq!(plan.steps.len(), 1, "{plan}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/v1/agents" && r.method == "GET"),
        "the listing was asked for"
    );
}
