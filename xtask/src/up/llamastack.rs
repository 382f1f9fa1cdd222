//! LlamaStack 0.2.18 from the provisioned venv (`target/venv/llamastack`),
//! its run.yaml (`run.yaml` beside this file) and sqlite stores in the
//! state directory, kept between runs while the run.yaml stays the same.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::process::Proc;
use crate::provision::venv_dir;

const RUN_YAML: &str = include_str!("run.yaml");

/// The models LlamaStack serves, and where from.
#[derive(Debug, Clone)]
pub struct Models {
    /// The OpenAI base URL (ends in `/v1`).
    pub url: String,
    pub llm: String,
    pub embedding: String,
    pub embedding_dimension: usize,
    /// Handed to LlamaStack in its environment only.
    pub api_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LlamaStack {
    python: PathBuf,
    dir: PathBuf,
    port: u16,
    api_key: Option<String>,
}

impl LlamaStack {
    /// The provisioned interpreter, or the one line saying how to get it.
    pub fn python() -> Result<PathBuf> {
        let venv = venv_dir("llamastack");
        let python = venv.join("bin/python");
        if !python.is_file() {
            bail!(
                "llamastack: no LlamaStack venv at {}: run cargo xtask provision",
                venv.display()
            );
        }
        Ok(python)
    }

    /// Writes the run.yaml into `dir`; a different one than last time
    /// (another model) empties the directory first, so no model or agent
    /// of the earlier run is left registered.
    pub fn prepare(dir: &Path, port: u16, models: &Models) -> Result<Self> {
        let python = Self::python()?;
        let run_yaml = render(dir, models)?;
        let path = dir.join("run.yaml");
        if std::fs::read_to_string(&path).is_ok_and(|old| old != run_yaml) {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("llamastack: emptying {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, run_yaml)?;
        Ok(Self {
            python,
            dir: dir.to_path_buf(),
            port,
            api_key: models.api_key.clone(),
        })
    }

    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.python);
        command
            .args(["-m", "llama_stack.core.server.server"])
            .arg(self.dir.join("run.yaml"))
            .args(["--port", &self.port.to_string()])
            .current_dir(&self.dir)
            .env("LLAMA_STACK_CONFIG_DIR", self.dir.join("llama"))
            .env("LLAMA_STACK_DISABLE_VERSION_CHECK", "1")
            .env("HF_HUB_OFFLINE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("LLAMA_STACK_PORT")
            .env_remove("VLLM_API_TOKEN");
        if let Some(key) = &self.api_key {
            command.env("VLLM_API_TOKEN", key);
        }
        command
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits for `GET /v1/health`; returns the server's version.
    pub async fn wait_ready(&self, proc: &Proc, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let health = format!("{}/v1/health", self.url());
        while !super::http_ok(&health).await {
            super::startup_check(proc, deadline, timeout)?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let version = super::http_json(&format!("{}/v1/version", self.url()))
            .await
            .and_then(|answer| answer["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned());
        Ok(version)
    }
}

/// The run.yaml for `dir` and `models`, without its comments: every
/// placeholder replaced by a quoted YAML (JSON) string, the dimension by
/// a number.
fn render(dir: &Path, models: &Models) -> Result<String> {
    let dir = dir
        .to_str()
        .context("llamastack: the state directory's path is not UTF-8")?;
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let mut out = String::with_capacity(RUN_YAML.len());
    for line in RUN_YAML.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let line = match line.split_once("__STATE_DIR__/") {
            Some((head, file)) => format!("{head}{}", quoted(&format!("{dir}/{}", file.trim()))),
            None => line
                .replace("__INFERENCE_URL__", &quoted(&models.url))
                .replace("__LLM_MODEL__", &quoted(&models.llm))
                .replace("__EMBEDDING_MODEL__", &quoted(&models.embedding))
                .replace(
                    "__EMBEDDING_DIMENSION__",
                    &models.embedding_dimension.to_string(),
                ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Models {
        Models {
            url: "http://127.0.0.1:9/v1".into(),
            llm: "org/model: 7b".into(),
            embedding: "embedder".into(),
            embedding_dimension: 768,
            api_key: Some("sk-secret".into()),
        }
    }

    #[test]
    fn the_run_yaml_keeps_every_store_in_the_state_directory_and_no_key() {
        let text = render(Path::new("/state dir/llamastack"), &models()).unwrap_or_default();
        assert!(!text.contains("__"), "{text}");
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(
            text.contains("db_path: \"/state dir/llamastack/registry.db\""),
            "{text}"
        );
        assert!(text.contains("model_id: \"org/model: 7b\""), "{text}");
        assert!(text.contains("embedding_dimension: 768"), "{text}");
        assert!(
            text.contains("api_token: ${env.VLLM_API_TOKEN:=fake}"),
            "{text}"
        );
    }
}
