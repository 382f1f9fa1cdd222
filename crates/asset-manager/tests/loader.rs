//! Loading asset directories: the fixture and the project's own load, and
//! every problem names its file and field.

mod common;

use std::path::Path;
use std::time::Duration;

use asset_manager::{AssetError, load};

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn the_python_fixture_directory_loads_unchanged() {
    let Some(dir) = common::fixture_assets("the_python_fixture_directory_loads_unchanged") else {
        return;
    };
    let assets = load(&dir).expect("the fixture is valid");
    assert_eq!(assets.timeout, Some(Duration::from_secs(120)));
    let names: Vec<&str> = assets.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["laptop-refresh", "routing-agent"]);
    let laptop = &assets.agents[0];
    assert_eq!(laptop.model, None, "no model: the first LLM");
    assert_eq!(laptop.mcp_servers, ["employee-info", "snow"]);
    assert_eq!(laptop.knowledge_bases, ["laptop-refresh"]);
    assert_eq!(assets.agents[1].model, None, "empty model: the first LLM");
    let groups: Vec<(&str, &str)> = assets
        .toolgroups
        .iter()
        .map(|g| (g.name.as_str(), g.uri.as_str()))
        .collect();
    assert_eq!(
        groups[1],
        ("snow", "http://self-service-agent-snow:8000/sse")
    );
    assert_eq!(assets.knowledge_bases[0].name, "laptop-refresh");
    assert_eq!(assets.knowledge_bases[0].documents.len(), 5);
    assert_eq!(assets.prompts.len(), 2);
    assert_eq!(
        laptop.description.as_deref(),
        Some("An agent that can help with laptop refresh requests."),
        "the description is kept"
    );
    assert!(
        assets.agents.iter().all(|agent| agent.handoffs.is_empty()),
        "no hand-offs in the earlier release's files"
    );
}

#[test]
fn the_projects_own_directory_loads() {
    let assets = load(&common::project_assets()).expect("assets/config is valid");
    assert_eq!(assets.agents.len(), 2);
    assert_eq!(assets.toolgroups.len(), 2);
    let handoffs: Vec<(&str, &[String])> = assets
        .agents
        .iter()
        .map(|agent| (agent.name.as_str(), agent.handoffs.as_slice()))
        .collect();
    assert_eq!(
        handoffs,
        [
            ("laptop-refresh", &["routing-agent".to_owned()][..]),
            ("routing-agent", &["laptop-refresh".to_owned()][..])
        ]
    );
    let documents: Vec<String> = assets.knowledge_bases[0]
        .documents
        .iter()
        .map(|d| d.document_id("laptop-refresh"))
        .collect();
    assert_eq!(
        documents,
        [
            "laptop-refresh/catalog/americas.txt",
            "laptop-refresh/catalog/asia-pacific.txt",
            "laptop-refresh/catalog/europe.txt",
            "laptop-refresh/refresh-rules.txt"
        ],
        "ids are the sorted relative paths, subdirectories included"
    );
}

#[test]
fn prompts_resolve_by_model_then_agent_then_yaml() {
    let dir = common::copy_of(&common::project_assets());
    write(
        dir.path(),
        "prompts/laptop-refresh-granite-8b.txt",
        "model specific",
    );
    let assets = load(dir.path()).expect("valid");
    let laptop = assets
        .agents
        .iter()
        .find(|a| a.name == "laptop-refresh")
        .expect("agent");
    let router = assets
        .agents
        .iter()
        .find(|a| a.name == "routing-agent")
        .expect("agent");
    let (text, source) = assets
        .resolve_prompt(laptop, "vllm/ibm/granite-8b")
        .expect("prompt");
    assert_eq!(
        (text.as_str(), source.as_str()),
        ("model specific", "prompts/laptop-refresh-granite-8b.txt")
    );
    let (_, source) = assets.resolve_prompt(laptop, "vllm/other").expect("prompt");
    assert_eq!(source, "prompts/laptop-refresh.txt");
    let (text, source) = assets.resolve_prompt(router, "vllm/other").expect("prompt");
    assert!(text.contains("ROUTE_TO: laptop-refresh"));
    assert_eq!(source, "agents/routing-agent.yaml instructions");
}

fn broken(file: &str, text: &str) -> AssetError {
    let dir = common::copy_of(&common::project_assets());
    write(dir.path(), file, text);
    load(dir.path()).expect_err("invalid asset directory")
}

#[test]
fn a_wrongly_typed_field_is_named_with_its_file() {
    let error = broken(
        "agents/routing-agent.yaml",
        "name: routing-agent\nmax_infer_iters: many\n",
    );
    let message = error.to_string();
    assert!(
        matches!(&error, AssetError::Invalid { file, field, .. } if file == Path::new("agents/routing-agent.yaml") && field == "max_infer_iters"),
        "{message}"
    );
}

#[test]
fn a_nested_field_is_named_by_its_path() {
    let error = broken(
        "agents/routing-agent.yaml",
        "name: routing-agent\nsampling_params:\n  strategy:\n    type: fastest\n",
    );
    assert!(
        error.to_string().contains("sampling_params.strategy"),
        "{error}"
    );
}

#[test]
fn a_missing_or_unknown_field_is_named() {
    let missing = broken("toolgroups/snow.yaml", "name: snow\n");
    assert!(
        matches!(&missing, AssetError::Invalid { field, .. } if field == "uri"),
        "{missing}"
    );
    let unknown = broken(
        "agents/routing-agent.yaml",
        "name: routing-agent\nmcp_server: [snow]\n",
    );
    assert!(
        matches!(&unknown, AssetError::Invalid { field, .. } if field == "mcp_server"),
        "{unknown}"
    );
}

#[test]
fn malformed_yaml_names_the_file() {
    let error = broken("agents/routing-agent.yaml", "name: [unclosed\n");
    assert!(
        error.to_string().starts_with("agents/routing-agent.yaml"),
        "{error}"
    );
}

#[test]
fn references_to_unknown_toolgroups_and_knowledge_bases_are_errors() {
    let error = broken(
        "agents/extra.yaml",
        "name: extra\nmcp_servers: [snow, jira]\nknowledge_bases: []\n",
    );
    assert!(
        matches!(&error, AssetError::Invalid { field, .. } if field == "mcp_servers[1]"),
        "{error}"
    );
    let error = broken("agents/extra.yaml", "name: extra\nknowledge_bases: [hr]\n");
    assert!(error.to_string().contains("knowledge_bases/hr"), "{error}");
}

#[test]
fn duplicate_agent_names_are_errors() {
    let error = broken("agents/copy.yaml", "name: routing-agent\n");
    assert!(error.to_string().contains("also defined in"), "{error}");
}

#[test]
fn a_bad_timeout_and_bad_choices_are_rejected() {
    let error = broken("config.yaml", "timeout: -3\n");
    assert!(
        matches!(&error, AssetError::Invalid { field, .. } if field == "timeout"),
        "{error}"
    );
    let error = broken(
        "agents/routing-agent.yaml",
        "name: routing-agent\ntool_choice: sometimes\n",
    );
    assert!(
        matches!(&error, AssetError::Invalid { field, .. } if field == "tool_choice"),
        "{error}"
    );
}

#[test]
fn a_missing_directory_is_unreadable() {
    let error = load(Path::new("/nonexistent/assets")).expect_err("no such directory");
    assert!(matches!(error, AssetError::Unreadable { .. }));
}

#[test]
fn the_routing_agent_is_offered_the_hand_off_tool_described_by_its_target() {
    let assets = load(&common::project_assets()).expect("valid");
    let router = assets.agent("routing-agent").expect("routing-agent");
    let tools = assets.handoff_tools(router);
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, "transfer_to_laptop-refresh");
    assert_eq!(tools[0].target, "laptop-refresh");
    assert_eq!(
        tools[0].description,
        "Hand the conversation over to the laptop-refresh agent. \
         Checks laptop refresh eligibility and opens the refresh ticket."
    );
    let (prompt, _) = assets
        .resolve_prompt(router, "vllm/any")
        .expect("instructions");
    assert!(
        prompt.contains("transfer_to_laptop-refresh")
            && prompt.contains("ROUTE_TO: laptop-refresh"),
        "hands over by the tool, ROUTE_TO as the fallback: {prompt}"
    );
}

#[test]
fn shields_and_session_persistence_of_earlier_files_are_accepted() {
    let dir = common::copy_of(&common::project_assets());
    write(
        dir.path(),
        "agents/routing-agent.yaml",
        "name: routing-agent\ninstructions: Route.\ninput_shields: [llama-guard]\n\
         output_shields: []\nenable_session_persistence: true\n",
    );
    let assets = load(dir.path()).expect("earlier fields load");
    let router = assets.agent("routing-agent").expect("routing-agent");
    assert_eq!(router.instructions.as_deref(), Some("Route."));
}

fn invalid_handoff(handoffs: &str) -> (String, String) {
    let error = broken(
        "agents/routing-agent.yaml",
        &format!("name: routing-agent\nhandoffs: {handoffs}\n"),
    );
    let message = error.to_string();
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    match error {
        AssetError::Invalid { file, field, .. } => {
            assert_eq!(file, Path::new("agents/routing-agent.yaml"), "{message}");
            (field, message)
        }
        other => panic!("not an invalid field: {other}"),
    }
}

#[test]
fn a_hand_off_to_an_unknown_agent_names_file_and_field() {
    let (field, message) = invalid_handoff("[laptop-refresh, hr-agent]");
    assert_eq!(field, "handoffs[1]");
    assert!(
        message.contains("no agents/*.yaml has name \"hr-agent\""),
        "{message}"
    );
}

#[test]
fn an_agent_cannot_hand_over_to_itself() {
    let (field, message) = invalid_handoff("[routing-agent]");
    assert_eq!(field, "handoffs[0]");
    assert!(message.contains("cannot hand over to itself"), "{message}");
}

#[test]
fn a_hand_off_listed_twice_is_refused() {
    let (field, message) = invalid_handoff("[laptop-refresh, laptop-refresh]");
    assert_eq!(field, "handoffs[1]");
    assert!(
        message.contains("already listed as handoffs[0]"),
        "{message}"
    );
}

#[test]
fn an_empty_hand_off_is_refused() {
    let (field, message) = invalid_handoff("[\"\"]");
    assert_eq!(field, "handoffs[0]");
    assert!(message.contains("must not be empty"), "{message}");
}

#[test]
fn a_hand_off_to_an_agent_whose_name_makes_no_tool_name_is_refused() {
    let dir = common::copy_of(&common::project_assets());
    write(dir.path(), "agents/desk.yaml", "name: IT desk\n");
    write(
        dir.path(),
        "agents/routing-agent.yaml",
        "name: routing-agent\nhandoffs: [IT desk]\n",
    );
    let error = load(dir.path()).expect_err("no tool name");
    assert!(
        matches!(&error, AssetError::Invalid { field, .. } if field == "handoffs[0]"),
        "{error}"
    );
    assert!(error.to_string().contains("transfer_to_IT desk"), "{error}");
    // the agent itself is valid: only handing over to it needs the tool name
    write(
        dir.path(),
        "agents/routing-agent.yaml",
        "name: routing-agent\n",
    );
    load(dir.path()).expect("an agent named with a space loads");
}

#[test]
fn a_hand_off_that_is_not_a_list_is_named() {
    let (field, _) = invalid_handoff("laptop-refresh");
    assert_eq!(field, "handoffs");
}
