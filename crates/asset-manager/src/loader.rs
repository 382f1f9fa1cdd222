//! Reads an asset directory into [`Assets`], validating as it goes. The
//! first problem found is reported with its file and field; nothing is
//! partially loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared_clients::llamastack::{SamplingParams, duration_from_secs};

use crate::assets::{AgentAsset, Assets, Document, KnowledgeBase, ToolgroupAsset};
use crate::error::AssetError;

#[derive(Deserialize)]
struct ConfigYaml {
    #[serde(default)]
    timeout: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentYaml {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    tool_choice: Option<String>,
    #[serde(default)]
    input_shields: Option<Vec<String>>,
    #[serde(default)]
    output_shields: Option<Vec<String>>,
    #[serde(default)]
    max_infer_iters: Option<u32>,
    #[serde(default)]
    enable_session_persistence: Option<bool>,
    #[serde(default)]
    sampling_params: Option<SamplingParams>,
    #[serde(default)]
    mcp_servers: Option<Vec<String>>,
    #[serde(default)]
    knowledge_bases: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolgroupYaml {
    name: String,
    uri: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    transport: Option<String>,
}

const TOOL_CHOICES: &[&str] = &["auto", "required", "none"];

/// Loads and validates the asset directory at `dir`.
pub fn load(dir: &Path) -> Result<Assets, AssetError> {
    if !dir.is_dir() {
        return Err(AssetError::Unreadable {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let timeout = load_config(dir)?;
    let mut agents = Vec::new();
    for file in files_with_extension(dir, "agents", &["yaml", "yml"])? {
        agents.push(load_agent(dir, &file)?);
    }
    let mut toolgroups = Vec::new();
    for file in files_with_extension(dir, "toolgroups", &["yaml", "yml"])? {
        toolgroups.push(load_toolgroup(dir, &file)?);
    }
    let mut prompts = BTreeMap::new();
    for file in files_with_extension(dir, "prompts", &["txt"])? {
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        prompts.insert(name.unwrap_or_default(), read_text(dir, &file)?);
    }
    let knowledge_bases = load_knowledge_bases(dir)?;
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    toolgroups.sort_by(|a, b| a.name.cmp(&b.name));
    let assets = Assets {
        timeout,
        agents,
        prompts,
        toolgroups,
        knowledge_bases,
    };
    check_references(&assets)?;
    Ok(assets)
}

fn load_config(dir: &Path) -> Result<Option<std::time::Duration>, AssetError> {
    let file = PathBuf::from("config.yaml");
    if !dir.join(&file).exists() {
        return Ok(None);
    }
    let config: ConfigYaml = parse_yaml(dir, &file)?;
    config
        .timeout
        .map(|seconds| {
            duration_from_secs(seconds).map_err(|message| AssetError::Invalid {
                file: file.clone(),
                field: "timeout".into(),
                message,
            })
        })
        .transpose()
}

fn load_agent(dir: &Path, file: &Path) -> Result<AgentAsset, AssetError> {
    let yaml: AgentYaml = parse_yaml(dir, file)?;
    let _ = yaml.description; // documentation for humans; not sent
    let invalid = |field: &str, message: String| AssetError::Invalid {
        file: file.to_path_buf(),
        field: field.into(),
        message,
    };
    if yaml.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty".into()));
    }
    if let Some(choice) = yaml
        .tool_choice
        .as_ref()
        .filter(|choice| !TOOL_CHOICES.contains(&choice.as_str()))
    {
        return Err(invalid(
            "tool_choice",
            format!(
                "must be one of {}, found {choice:?}",
                TOOL_CHOICES.join(", ")
            ),
        ));
    }
    if yaml.max_infer_iters == Some(0) {
        return Err(invalid("max_infer_iters", "must be at least 1".into()));
    }
    for (field, names) in [
        ("mcp_servers", &yaml.mcp_servers),
        ("knowledge_bases", &yaml.knowledge_bases),
    ] {
        let names = names.as_deref().unwrap_or_default();
        if let Some(index) = names.iter().position(|name| name.trim().is_empty()) {
            return Err(invalid(
                &format!("{field}[{index}]"),
                "must not be empty".into(),
            ));
        }
    }
    Ok(AgentAsset {
        file: file.to_path_buf(),
        name: yaml.name,
        model: yaml.model.filter(|model| !model.trim().is_empty()),
        instructions: yaml.instructions,
        tool_choice: yaml.tool_choice,
        input_shields: yaml.input_shields.unwrap_or_default(),
        output_shields: yaml.output_shields.unwrap_or_default(),
        max_infer_iters: yaml.max_infer_iters,
        enable_session_persistence: yaml.enable_session_persistence,
        sampling_params: yaml.sampling_params,
        mcp_servers: yaml.mcp_servers.unwrap_or_default(),
        knowledge_bases: yaml.knowledge_bases.unwrap_or_default(),
    })
}

fn load_toolgroup(dir: &Path, file: &Path) -> Result<ToolgroupAsset, AssetError> {
    let yaml: ToolgroupYaml = parse_yaml(dir, file)?;
    let _ = (yaml.description, yaml.transport); // for humans; LlamaStack derives the transport
    let invalid = |field: &str, message: &str| AssetError::Invalid {
        file: file.to_path_buf(),
        field: field.into(),
        message: message.into(),
    };
    if yaml.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    if !(yaml.uri.starts_with("http://") || yaml.uri.starts_with("https://")) {
        return Err(invalid("uri", "must be an http:// or https:// URL"));
    }
    Ok(ToolgroupAsset {
        file: file.to_path_buf(),
        name: yaml.name,
        uri: yaml.uri,
    })
}

fn load_knowledge_bases(dir: &Path) -> Result<Vec<KnowledgeBase>, AssetError> {
    let root = dir.join("knowledge_bases");
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut bases = Vec::new();
    for entry in sorted_entries(dir, Path::new("knowledge_bases"))? {
        if !dir.join(&entry).is_dir() {
            continue;
        }
        let name = entry
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut documents = Vec::new();
        collect_texts(dir, &entry, &mut documents)?;
        let mut loaded = Vec::new();
        for file in documents {
            let relative = file
                .strip_prefix(&entry)
                .unwrap_or(&file)
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            loaded.push(Document {
                relative_path: relative,
                content: read_text(dir, &file)?,
            });
        }
        loaded.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
        bases.push(KnowledgeBase {
            name,
            documents: loaded,
        });
    }
    Ok(bases)
}

fn collect_texts(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<(), AssetError> {
    for entry in sorted_entries(dir, relative)? {
        let full = dir.join(&entry);
        if full.is_dir() {
            collect_texts(dir, &entry, out)?;
        } else if entry.extension().is_some_and(|ext| ext == "txt") {
            out.push(entry);
        }
    }
    Ok(())
}

fn check_references(assets: &Assets) -> Result<(), AssetError> {
    let mut seen = BTreeMap::new();
    for agent in &assets.agents {
        if let Some(first) = seen.insert(agent.name.as_str(), &agent.file) {
            return Err(AssetError::Invalid {
                file: agent.file.clone(),
                field: "name".into(),
                message: format!(
                    "agent {:?} is also defined in {}",
                    agent.name,
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
                    group.name,
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
                    message: format!("no toolgroups/*.yaml has name {server:?}"),
                });
            }
        }
        for (index, base) in agent.knowledge_bases.iter().enumerate() {
            if !bases.contains(base.as_str()) {
                return Err(AssetError::Invalid {
                    file: agent.file.clone(),
                    field: format!("knowledge_bases[{index}]"),
                    message: format!("there is no directory knowledge_bases/{base}"),
                });
            }
        }
    }
    Ok(())
}

/// Parses `dir/file` as YAML into `T`; errors name the file and the field path.
fn parse_yaml<T: DeserializeOwned>(dir: &Path, file: &Path) -> Result<T, AssetError> {
    let text = read_text(dir, file)?;
    if text.trim().is_empty() {
        return Err(AssetError::InvalidFile {
            file: file.to_path_buf(),
            message: "the file is empty".into(),
        });
    }
    let deserializer = serde_yaml_ng::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let field = if path == "." {
            named_field(&message)
        } else {
            Some(path)
        };
        match field {
            Some(field) => AssetError::Invalid {
                file: file.to_path_buf(),
                field,
                message,
            },
            None => AssetError::InvalidFile {
                file: file.to_path_buf(),
                message,
            },
        }
    })
}

/// The field a serde message is about (`missing field `name``, `unknown field `x``).
fn named_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_owned)
        })
}

fn read_text(dir: &Path, file: &Path) -> Result<String, AssetError> {
    let bytes = std::fs::read(dir.join(file)).map_err(|error| AssetError::Unreadable {
        path: file.to_path_buf(),
        reason: error.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|error| AssetError::InvalidFile {
        file: file.to_path_buf(),
        message: format!("not UTF-8 text (byte {})", error.utf8_error().valid_up_to()),
    })
}

/// Entries of `dir/relative`, as paths relative to `dir`, sorted by name.
fn sorted_entries(dir: &Path, relative: &Path) -> Result<Vec<PathBuf>, AssetError> {
    let unreadable = |error: std::io::Error| AssetError::Unreadable {
        path: relative.to_path_buf(),
        reason: error.to_string(),
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir.join(relative)).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue; // ConfigMap mounts add ..data and dot-directories
        }
        entries.push(relative.join(name));
    }
    entries.sort();
    Ok(entries)
}

fn files_with_extension(
    dir: &Path,
    sub: &str,
    extensions: &[&str],
) -> Result<Vec<PathBuf>, AssetError> {
    if !dir.join(sub).is_dir() {
        return Ok(Vec::new());
    }
    Ok(sorted_entries(dir, Path::new(sub))?
        .into_iter()
        .filter(|path| {
            dir.join(path).is_file()
                && path
                    .extension()
                    .is_some_and(|ext| extensions.iter().any(|wanted| ext == *wanted))
        })
        .collect())
}
