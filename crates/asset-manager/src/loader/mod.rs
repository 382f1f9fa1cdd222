//! Reads an asset directory into [`Assets`], validating as it goes. The
//! first problem found is reported with its file and field; nothing is
//! partially loaded. What may be read at all (links, special files, sizes,
//! nesting) is decided by `fs` and `yaml`.

mod fs;
mod references;
mod yaml;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use serde::Deserialize;
use shared_clients::llamastack::{SamplingParams, duration_from_secs};

use crate::assets::{AgentAsset, Assets, Document, KnowledgeBase, ToolgroupAsset};
use crate::error::AssetError;
use crate::limits::{Limits, MAX_DIRECTORY_DEPTH};
use fs::{AssetDir, Entry, Kind, expect_directory, expect_file, refused};
use yaml::brief;

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
    #[serde(default)]
    handoffs: Option<Vec<String>>,
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

/// Loads and validates the asset directory at `dir` within the default [`Limits`].
pub fn load(dir: &Path) -> Result<Assets, AssetError> {
    load_with_limits(dir, Limits::default())
}

/// Loads and validates the asset directory at `dir`, reading no more than `limits`.
pub fn load_with_limits(dir: &Path, limits: Limits) -> Result<Assets, AssetError> {
    let (mut fs, root) = AssetDir::open(dir, limits)?;
    let timeout = load_config(&mut fs, &root, limits.max_file_bytes)?;
    let mut agents = Vec::new();
    for file in files_with_extension(&mut fs, &root, "agents", &["yaml", "yml"])? {
        let text = fs.read_text(&file)?;
        agents.push(load_agent(&file.relative, &text, limits.max_file_bytes)?);
    }
    let mut toolgroups = Vec::new();
    for file in files_with_extension(&mut fs, &root, "toolgroups", &["yaml", "yml"])? {
        let text = fs.read_text(&file)?;
        toolgroups.push(load_toolgroup(
            &file.relative,
            &text,
            limits.max_file_bytes,
        )?);
    }
    let mut prompts = BTreeMap::new();
    for file in files_with_extension(&mut fs, &root, "prompts", &["txt"])? {
        let text = fs.read_text(&file)?;
        prompts.insert(file.name, text);
    }
    let knowledge_bases = load_knowledge_bases(&mut fs, &root)?;
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    toolgroups.sort_by(|a, b| a.name.cmp(&b.name));
    let assets = Assets {
        timeout,
        agents,
        prompts,
        toolgroups,
        knowledge_bases,
    };
    references::check(&assets)?;
    Ok(assets)
}

fn load_config(
    fs: &mut AssetDir,
    root: &Entry,
    max_bytes: u64,
) -> Result<Option<std::time::Duration>, AssetError> {
    let Some(file) = fs.child(root, "config.yaml")? else {
        return Ok(None);
    };
    let text = fs.read_text(&file)?;
    let config: ConfigYaml = yaml::parse(&file.relative, &text, max_bytes)?;
    config
        .timeout
        .map(|seconds| {
            duration_from_secs(seconds).map_err(|message| AssetError::Invalid {
                file: file.relative.clone(),
                field: "timeout".into(),
                message,
            })
        })
        .transpose()
}

fn load_agent(file: &Path, text: &str, max_bytes: u64) -> Result<AgentAsset, AssetError> {
    let yaml: AgentYaml = yaml::parse(file, text, max_bytes)?;
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
                "must be one of {}, found {:?}",
                TOOL_CHOICES.join(", "),
                brief(choice)
            ),
        ));
    }
    if yaml.max_infer_iters == Some(0) {
        return Err(invalid("max_infer_iters", "must be at least 1".into()));
    }
    for (field, names) in [
        ("mcp_servers", &yaml.mcp_servers),
        ("knowledge_bases", &yaml.knowledge_bases),
        ("handoffs", &yaml.handoffs),
    ] {
        let names = names.as_deref().unwrap_or_default();
        if let Some(index) = names.iter().position(|name| name.trim().is_empty()) {
            return Err(invalid(
                &format!("{field}[{index}]"),
                "must not be empty".into(),
            ));
        }
    }
    // Accepted so that earlier files load; the Responses API has no
    // shields and no server-side sessions (AgentAsset's documentation).
    for (field, shields) in [
        ("input_shields", &yaml.input_shields),
        ("output_shields", &yaml.output_shields),
    ] {
        if shields.as_ref().is_some_and(|shields| !shields.is_empty()) {
            tracing::warn!(file = %file.display(), field, "ignored: the Responses API runs no shields");
        }
    }
    let _ = yaml.enable_session_persistence;
    Ok(AgentAsset {
        file: file.to_path_buf(),
        name: yaml.name,
        description: yaml.description,
        model: yaml.model.filter(|model| !model.trim().is_empty()),
        instructions: yaml.instructions,
        tool_choice: yaml.tool_choice,
        max_infer_iters: yaml.max_infer_iters,
        sampling_params: yaml.sampling_params,
        mcp_servers: yaml.mcp_servers.unwrap_or_default(),
        knowledge_bases: yaml.knowledge_bases.unwrap_or_default(),
        handoffs: yaml.handoffs.unwrap_or_default(),
    })
}

fn load_toolgroup(file: &Path, text: &str, max_bytes: u64) -> Result<ToolgroupAsset, AssetError> {
    let yaml: ToolgroupYaml = yaml::parse(file, text, max_bytes)?;
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

fn load_knowledge_bases(fs: &mut AssetDir, root: &Entry) -> Result<Vec<KnowledgeBase>, AssetError> {
    let Some(dir) = subdirectory(fs, root, "knowledge_bases")? else {
        return Ok(Vec::new());
    };
    let mut ancestors = vec![root.id, dir.id];
    let mut bases = Vec::new();
    for name in fs.list(&dir)? {
        let entry = fs.resolve(&dir, &name)?;
        match entry.kind {
            Kind::File => continue, // a README beside the knowledge bases
            Kind::Special(_) => expect_directory(&entry)?,
            Kind::Directory => check_not_a_loop(fs, &entry, &ancestors)?,
        }
        let mut documents = Vec::new();
        collect_texts(fs, &entry, "", &mut ancestors, &mut documents)?;
        documents.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
        bases.push(KnowledgeBase {
            name: entry.name,
            documents,
        });
    }
    Ok(bases)
}

/// The `*.txt` documents below `dir`, their paths relative to the knowledge
/// base prefixed with `prefix`. `ancestors` holds the directories entered.
fn collect_texts(
    fs: &mut AssetDir,
    dir: &Entry,
    prefix: &str,
    ancestors: &mut Vec<(u64, u64)>,
    out: &mut Vec<Document>,
) -> Result<(), AssetError> {
    // root, knowledge_bases, then the knowledge base and its subdirectories
    if ancestors.len() > MAX_DIRECTORY_DEPTH + 2 {
        return Err(refused(
            &dir.relative,
            format!(
                "nested deeper than {MAX_DIRECTORY_DEPTH} directories below its knowledge base"
            ),
        ));
    }
    ancestors.push(dir.id);
    for name in fs.list(dir)? {
        let entry = fs.resolve(dir, &name)?;
        let relative = match prefix {
            "" => entry.name.clone(),
            _ => format!("{prefix}/{}", entry.name),
        };
        match entry.kind {
            Kind::Directory => {
                check_not_a_loop(fs, &entry, ancestors)?;
                collect_texts(fs, &entry, &relative, ancestors, out)?;
            }
            Kind::File if has_extension(OsStr::new(&entry.name), &["txt"]) => {
                let content = fs.read_text(&entry)?;
                out.push(Document {
                    relative_path: relative,
                    content,
                });
            }
            Kind::File => {}
            Kind::Special(_) => expect_file(&entry)?,
        }
    }
    ancestors.pop();
    Ok(())
}

/// A directory reached again below itself (a link to `.`, `..` or an
/// enclosing directory) would be walked forever, or until the kernel's
/// link limit multiplied its documents.
fn check_not_a_loop(
    fs: &AssetDir,
    dir: &Entry,
    ancestors: &[(u64, u64)],
) -> Result<(), AssetError> {
    if ancestors.contains(&dir.id) {
        return Err(refused(
            &dir.relative,
            format!(
                "a symbolic link loop: it leads back to {}, which contains it",
                display_or_root(&fs.shown(dir))
            ),
        ));
    }
    Ok(())
}

fn display_or_root(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        "the asset directory".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The subdirectory `name` of the asset directory, if there is one.
fn subdirectory(fs: &AssetDir, root: &Entry, name: &str) -> Result<Option<Entry>, AssetError> {
    let Some(entry) = fs.child(root, name)? else {
        return Ok(None);
    };
    expect_directory(&entry)?;
    Ok(Some(entry))
}

fn has_extension(name: &OsStr, extensions: &[&str]) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|ext| extensions.iter().any(|wanted| ext == OsStr::new(wanted)))
}

/// The regular files of `root/sub` whose names end in one of `extensions`;
/// other entries are neither read nor followed.
fn files_with_extension(
    fs: &mut AssetDir,
    root: &Entry,
    sub: &str,
    extensions: &[&str],
) -> Result<Vec<Entry>, AssetError> {
    let Some(dir) = subdirectory(fs, root, sub)? else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for name in fs.list(&dir)? {
        if has_extension(&name, extensions) {
            let entry = fs.resolve(&dir, &name)?;
            expect_file(&entry)?;
            files.push(entry);
        }
    }
    Ok(files)
}
