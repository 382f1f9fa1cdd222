//! Reconciling asset directories into the fake LlamaStack: full first
//! registration, idempotent re-runs, targeted replacement, ownership.

mod common;

use std::path::Path;

use asset_manager::{Action, Kind, Options, Summary, load, plan, reconcile};
use serde_json::{Value, json};
use test_support::fake_llamastack::FakeLlamaStack;

async fn run(fake: &FakeLlamaStack, dir: &Path, prune: bool) -> Summary {
    let assets = load(dir).expect("valid assets");
    let report = reconcile(&common::client(fake), &assets, Options { prune })
        .await
        .expect("planned");
    let failures: Vec<_> = report.failures().collect();
    assert!(failures.is_empty(), "failures: {failures:?}");
    report.summary
}

fn agent_ids(fake: &FakeLlamaStack) -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = fake
        .snapshot()
        .agents
        .values()
        .map(|agent| {
            (
                agent["agent_config"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                agent["agent_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

const FIRST_RUN: Summary = Summary {
    created: 6, // 2 toolgroups, 1 vector store, 1 vector DB, 2 agents
    replaced: 0,
    unchanged: 0,
    pruned: 0,
    failed: 0,
};

const NOTHING_TO_DO: Summary = Summary {
    created: 0,
    replaced: 0,
    unchanged: 6,
    pruned: 0,
    failed: 0,
};

async fn registers_fully_then_reruns_change_nothing(dir: &Path, documents: usize) {
    let fake = FakeLlamaStack::start().await;
    assert_eq!(run(&fake, dir, false).await, FIRST_RUN);
    let after_first = fake.snapshot();
    assert_eq!(after_first.agents.len(), 2);
    assert!(after_first.toolgroups.contains_key("mcp::employee-info"));
    assert!(after_first.toolgroups.contains_key("mcp::snow"));
    assert_eq!(after_first.documents["laptop-refresh"].len(), documents);
    assert_eq!(after_first.vector_stores.len(), 1);
    assert_eq!(after_first.files.len(), documents);
    for run_number in [2, 3] {
        fake.reset_counters();
        assert_eq!(
            run(&fake, dir, false).await,
            NOTHING_TO_DO,
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
    registers_fully_then_reruns_change_nothing(&dir, 5).await;
}

#[tokio::test]
async fn the_projects_assets_register_fully_and_reruns_are_no_ops() {
    registers_fully_then_reruns_change_nothing(&common::project_assets(), 4).await;
}

#[tokio::test]
async fn changing_one_prompt_replaces_exactly_that_agent() {
    let dir = common::copy_of(&common::project_assets());
    let fake = FakeLlamaStack::start().await;
    run(&fake, dir.path(), false).await;
    let before = agent_ids(&fake);
    std::fs::write(
        dir.path().join("prompts/laptop-refresh.txt"),
        "A new prompt.",
    )
    .expect("edit prompt");
    let summary = run(&fake, dir.path(), false).await;
    assert_eq!(
        (summary.replaced, summary.unchanged, summary.created),
        (1, 5, 0),
        "{summary}"
    );
    let after = agent_ids(&fake);
    assert_eq!(after.len(), 2, "the old copy is gone: {after:?}");
    assert_eq!(after[1], before[1], "routing-agent keeps its id");
    assert_ne!(after[0].1, before[0].1, "laptop-refresh has a new id");
    let config = &fake.snapshot().agents[&after[0].1]["agent_config"];
    assert_eq!(config["instructions"], json!("A new prompt."));
}

#[tokio::test]
async fn a_changed_document_is_re_uploaded_alone_and_the_old_file_deleted() {
    let dir = common::copy_of(&common::project_assets());
    let fake = FakeLlamaStack::start().await;
    run(&fake, dir.path(), false).await;
    let files_before = fake.snapshot().files;
    std::fs::write(
        dir.path()
            .join("knowledge_bases/laptop-refresh/refresh-rules.txt"),
        "Every laptop is exchanged after three years.",
    )
    .expect("edit document");
    fake.reset_counters();
    let summary = run(&fake, dir.path(), false).await;
    // the vector store (one file) and the vector DB (rebuilt) change; agents keep their ids
    assert_eq!((summary.replaced, summary.unchanged), (2, 4), "{summary}");
    let counters = fake.counters();
    assert_eq!((counters.created("file"), counters.deleted("file")), (1, 1));
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.files.len(), files_before.len(), "no leaked files");
    assert_eq!(snapshot.vector_stores.len(), 1, "no new vector store");
    let documents = &snapshot.documents["laptop-refresh"];
    assert_eq!(documents.len(), 4, "rebuilt, not appended");
    fake.reset_counters();
    assert_eq!(run(&fake, dir.path(), false).await, NOTHING_TO_DO);
}

#[tokio::test]
async fn an_agent_owned_by_someone_else_survives_unless_pruned() {
    let fake = FakeLlamaStack::start().await;
    let theirs =
        fake.add_agent(json!({"name": "hr-agent", "model": "vllm/x", "instructions": "HR things"}));
    let dir = common::project_assets();
    let summary = run(&fake, &dir, false).await;
    assert_eq!(summary.pruned, 0);
    assert!(
        fake.snapshot().agents.contains_key(&theirs),
        "kept without --prune"
    );
    let summary = run(&fake, &dir, true).await;
    assert_eq!((summary.pruned, summary.unchanged), (1, 6), "{summary}");
    assert!(
        !fake.snapshot().agents.contains_key(&theirs),
        "removed with --prune"
    );
}

#[tokio::test]
async fn duplicates_of_an_owned_agent_are_removed_keeping_the_newest_match() {
    let fake = FakeLlamaStack::start().await;
    let dir = common::project_assets();
    run(&fake, &dir, false).await;
    let original = agent_ids(&fake);
    let router = fake.snapshot().agents[&original[1].1]["agent_config"].clone();
    let copy = fake.add_agent(router);
    let summary = run(&fake, &dir, false).await;
    assert_eq!((summary.pruned, summary.unchanged), (1, 6), "{summary}");
    let after = agent_ids(&fake);
    assert_eq!(after.len(), 2);
    assert_eq!(
        after[1].1, copy,
        "the newest identical copy is the one kept"
    );
}

#[tokio::test]
async fn python_era_state_is_adopted() {
    // What the Python tool left: agents with other ids, a vector DB with doc-N documents.
    let fake = FakeLlamaStack::start().await;
    let client = common::client(&fake);
    client
        .register_vector_db(&shared_clients::llamastack::RegisterVectorDb {
            vector_db_id: "laptop-refresh".into(),
            embedding_model: test_support::fake_llamastack::DEFAULT_EMBEDDING_MODEL.into(),
            embedding_dimension: 384,
            provider_id: "faiss".into(),
        })
        .await
        .expect("old vector DB");
    fake.add_agent(json!({"name": "routing-agent", "model": "vllm/x", "instructions": "old"}));
    let summary = run(&fake, &common::project_assets(), false).await;
    assert_eq!(
        (summary.created, summary.replaced),
        (4, 2),
        "vector DB and routing-agent replaced: {summary}"
    );
    let snapshot = fake.snapshot();
    let ids: Vec<&str> = snapshot.documents["laptop-refresh"]
        .iter()
        .map(|d| d["document_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids[0], "laptop-refresh/catalog/americas.txt");
    assert_eq!(snapshot.agents.len(), 2);
}

#[tokio::test]
async fn the_wire_format_follows_the_contract() {
    let fake = FakeLlamaStack::start().await;
    run(&fake, &common::project_assets(), false).await;
    let requests = fake.requests();
    let bodies = |method: &str, path: &str| -> Vec<Value> {
        requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(|r| r.body.clone())
            .collect()
    };
    assert_eq!(bodies("GET", "/v1/models").len(), 1, "models are read once");
    assert_eq!(
        bodies("POST", "/v1/toolgroups"),
        [
            json!({"toolgroup_id": "mcp::employee-info", "provider_id": "model-context-protocol",
                   "mcp_endpoint": {"uri": "http://self-service-agent-employee-info:8000/mcp"}, "args": {}}),
            json!({"toolgroup_id": "mcp::snow", "provider_id": "model-context-protocol",
                   "mcp_endpoint": {"uri": "http://self-service-agent-snow:8000/mcp"}, "args": {}}),
        ]
    );
    let vector_db = &bodies("POST", "/v1/vector-dbs")[0];
    assert_eq!(vector_db["vector_db_id"], json!("laptop-refresh"));
    assert_eq!(vector_db["provider_id"], json!("faiss"));
    assert_eq!(vector_db["embedding_dimension"], json!(384));
    let insert = &bodies("POST", "/v1/tool-runtime/rag-tool/insert")[0];
    assert_eq!(insert["chunk_size_in_tokens"], json!(1024));
    assert_eq!(
        insert["documents"][3],
        json!({"document_id": "laptop-refresh/refresh-rules.txt",
               "content": std::fs::read_to_string(common::project_assets().join("knowledge_bases/laptop-refresh/refresh-rules.txt")).expect("read"),
               "mime_type": "text/plain",
               "metadata": {"source_file": "refresh-rules.txt", "kb_name": "laptop-refresh"}})
    );
    let agents = bodies("POST", "/v1/agents");
    let laptop = agents
        .iter()
        .map(|body| &body["agent_config"])
        .find(|config| config["name"] == "laptop-refresh")
        .expect("laptop-refresh created");
    assert_eq!(
        laptop["toolgroups"],
        json!([
            {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": ["laptop-refresh"]}},
            "mcp::employee-info",
            "mcp::snow"
        ])
    );
    assert_eq!(laptop["tool_config"], json!({"tool_choice": "required"}));
    assert_eq!(laptop["client_tools"], json!([]));
    assert_eq!(laptop["max_infer_iters"], json!(30));
    assert_eq!(laptop["enable_session_persistence"], json!(true));
    assert_eq!(
        laptop["model"],
        json!(test_support::fake_llamastack::DEFAULT_LLM),
        "empty model: first LLM"
    );
    assert_eq!(
        laptop["sampling_params"]["strategy"],
        json!({"type": "top_p", "temperature": 0.1, "top_p": 0.9})
    );
    let order: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.as_str())
        .collect();
    let first_agent = order
        .iter()
        .position(|p| *p == "/v1/agents")
        .expect("agents");
    let last_dependency = order
        .iter()
        .rposition(|p| {
            p.starts_with("/v1/toolgroups")
                || p.starts_with("/v1/vector-dbs")
                || p.contains("rag-tool")
        })
        .expect("dependencies");
    assert!(
        last_dependency < first_agent,
        "toolgroups and knowledge bases first: {order:?}"
    );
    let store = fake
        .snapshot()
        .vector_stores
        .into_values()
        .next()
        .expect("store");
    assert_eq!(store.object["name"], json!("laptop-refresh"));
    let attributes = &store.files.values().next().expect("file")["attributes"];
    assert_eq!(attributes["managed_by"], json!("register-assets"));
    assert!(
        attributes["document_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("laptop-refresh/"))
    );
}

#[tokio::test]
async fn a_dry_run_plan_changes_nothing_and_lists_every_step() {
    let fake = FakeLlamaStack::start().await;
    let assets = load(&common::project_assets()).expect("valid");
    let plan = plan(&common::client(&fake), &assets, Options::default())
        .await
        .expect("plan");
    assert_eq!(plan.count(Action::Create), 6);
    let kinds: Vec<Kind> = plan.steps.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Toolgroup,
            Kind::Toolgroup,
            Kind::VectorStore,
            Kind::VectorDb,
            Kind::Agent,
            Kind::Agent
        ]
    );
    assert!(fake.counters().no_changes());
    assert!(
        plan.to_string()
            .contains("create    agent        laptop-refresh"),
        "{plan}"
    );
}

#[tokio::test]
async fn a_failing_step_is_counted_and_its_dependents_left_alone() {
    let fake = FakeLlamaStack::start().await;
    fake.fail_next_with(Some("POST"), "/v1/toolgroups", 10, 500);
    let assets = load(&common::project_assets()).expect("valid");
    let report = reconcile(&common::client(&fake), &assets, Options::default())
        .await
        .expect("planned");
    // both toolgroups fail; laptop-refresh uses them and is not created
    assert_eq!(report.summary.failed, 3, "{}", report.summary);
    assert_eq!(report.summary.created, 3, "{}", report.summary);
    let names: Vec<String> = agent_ids(&fake).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["routing-agent"]);
}
