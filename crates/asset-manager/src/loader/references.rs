//! What the files of a directory say about each other: names are unique,
//! and every MCP server, knowledge base and hand-off an agent names exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::yaml::brief;
use crate::assets::{AgentAsset, Assets, MAX_TOOL_NAME_CHARS, handoff_tool_name, is_tool_name};
use crate::error::AssetError;

pub(super) fn check(assets: &Assets) -> Result<(), AssetError> {
    let mut seen = BTreeMap::new();
    for agent in &assets.agents {
        if let Some(first) = seen.insert(agent.name.as_str(), &agent.file) {
            return Err(AssetError::Invalid {
                file: agent.file.clone(),
                field: "name".into(),
                message: format!(
                    "agent {:?} is also defined in {}",
                    brief(&agent.name),
                    first.display()
                ),
            });
        }
    }
    let mut groups = BTreeMap::new();
    for group in &assets.toolgroups {
        if let Some(first) = groups.insert(group.name.as_str(), &group.file) {
            return Err(AssetError::Invalid {
                file: group.file.clone(),
                field: "name".into(),
                message: format!(
                    "toolgroup {:?} is also defined in {}",
                    brief(&group.name),
                    first.display()
                ),
            });
        }
    }
    let bases: BTreeSet<&str> = assets
        .knowledge_bases
        .iter()
        .map(|kb| kb.name.as_str())
        .collect();
    for agent in &assets.agents {
        for (index, server) in agent.mcp_servers.iter().enumerate() {
            if !groups.contains_key(server.as_str()) {
                return Err(AssetError::Invalid {
                    file: agent.file.clone(),
                    field: format!("mcp_servers[{index}]"),
                    message: format!("no toolgroups/*.yaml has name {:?}", brief(server)),
                });
            }
        }
        for (index, base) in agent.knowledge_bases.iter().enumerate() {
            if !bases.contains(base.as_str()) {
                return Err(AssetError::Invalid {
                    file: agent.file.clone(),
                    field: format!("knowledge_bases[{index}]"),
                    message: format!("there is no directory knowledge_bases/{}", brief(base)),
                });
            }
        }
        check_handoffs(agent, &seen)?;
    }
    Ok(())
}

/// Each hand-off names another agent of the directory, once, by a name
/// that makes a valid tool name (`transfer_to_<agent>`).
fn check_handoffs(agent: &AgentAsset, agents: &BTreeMap<&str, &PathBuf>) -> Result<(), AssetError> {
    let invalid = |index: usize, message: String| AssetError::Invalid {
        file: agent.file.clone(),
        field: format!("handoffs[{index}]"),
        message,
    };
    for (index, target) in agent.handoffs.iter().enumerate() {
        if target == &agent.name {
            return Err(invalid(index, "an agent cannot hand over to itself".into()));
        }
        if !agents.contains_key(target.as_str()) {
            return Err(invalid(
                index,
                format!("no agents/*.yaml has name {:?}", brief(target)),
            ));
        }
        if let Some(first) = agent.handoffs[..index].iter().position(|t| t == target) {
            return Err(invalid(
                index,
                format!("{:?} is already listed as handoffs[{first}]", brief(target)),
            ));
        }
        let tool = handoff_tool_name(target);
        if !is_tool_name(&tool) {
            return Err(invalid(
                index,
                format!(
                    "the hand-off tool would be named {:?}: agents handed over to need a name \
                     of letters, digits, '_' and '-' that keeps it within {} characters",
                    brief(&tool),
                    MAX_TOOL_NAME_CHARS
                ),
            ));
        }
    }
    Ok(())
}
