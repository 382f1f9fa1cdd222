//! The LlamaStack server (OGX 1.5.0 unless `--server` says otherwise) from
//! its provisioned venv (`target/venv/<venv>`), its run.yaml rendered from
//! the tests' template (`crates/test-support/llamastack/<version>/run.yaml`)
//! with its sqlite stores in the state directory, kept between runs while
//! the run.yaml stays the same. The facts of each version are those of
//! the tests' `test_support::llamastack::ServerVersion`; a test below
//! proves they agree.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

use super::process::Proc;
use crate::provision::{CL100K_BASE_FILE, tiktoken_cache_dir, venv_dir};

/// The servers `up` can run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Server {
    /// OGX 1.5.0 (LlamaStack renamed).
    #[default]
    #[value(name = "ogx")]
    Ogx,
    /// LlamaStack 0.7.3, the last release under that name.
    #[value(name = "0.7.3")]
    V0_7_3,
    /// LlamaStack 0.2.18 (the Responses API under /v1/openai/v1).
    #[value(name = "0.2.18")]
    V0_2_18,
}

impl Server {
    /// `OGX`, `LlamaStack`: what its version number is of.
    pub fn product(self) -> &'static str {
        match self {
            Self::Ogx => "OGX",
            Self::V0_7_3 | Self::V0_2_18 => "LlamaStack",
        }
    }

    /// The venv `cargo xtask provision` builds for it.
    pub fn venv(self) -> &'static str {
        match self {
            Self::Ogx => "ogx-1.5.0",
            Self::V0_7_3 => "llamastack-0.7.3",
            Self::V0_2_18 => "llamastack",
        }
    }

    pub fn run_yaml_template(self) -> &'static str {
        match self {
            Self::Ogx => include_str!("../../../crates/test-support/llamastack/ogx-1.5.0/run.yaml"),
            Self::V0_7_3 => include_str!("../../../crates/test-support/llamastack/0.7.3/run.yaml"),
            Self::V0_2_18 => {
                include_str!("../../../crates/test-support/llamastack/0.2.18/run.yaml")
            }
        }
    }

    /// Its Python's arguments to serve `run_yaml` on `port` (a module, so
    /// a copied venv works).
    pub fn server_args(self, run_yaml: &Path, port: u16) -> Vec<OsString> {
        let (before, after): (&[&str], &[&str]) = match self {
            Self::V0_2_18 => (&["-m", "llama_stack.core.server.server"], &[]),
            Self::V0_7_3 => (&["-m", "llama_stack.cli.llama", "stack", "run"], &[]),
            // OGX refuses to serve plain HTTP without --insecure
            Self::Ogx => (&["-m", "ogx.cli.ogx", "run"], &["--insecure"]),
        };
        let mut args: Vec<OsString> = before.iter().map(OsString::from).collect();
        args.push(run_yaml.as_os_str().to_owned());
        args.extend(["--port".into(), port.to_string().into()]);
        args.extend(after.iter().map(OsString::from));
        args
    }

    /// Its configuration directory (OGX would move `~/.llama` to `~/.ogx`
    /// without one) and temporary files in `dir`, no version check, no
    /// model download, tiktoken's cache.
    pub fn server_env(self, dir: &Path, tiktoken_cache: &Path) -> Vec<(&'static str, OsString)> {
        let mut env: Vec<(&'static str, OsString)> = vec![
            ("TMPDIR", dir.join("tmp").into()),
            ("HF_HUB_OFFLINE", "1".into()),
            ("PYTHONUNBUFFERED", "1".into()),
        ];
        match self {
            Self::V0_2_18 | Self::V0_7_3 => {
                env.push(("LLAMA_STACK_CONFIG_DIR", dir.join("llama").into()));
                env.push(("LLAMA_STACK_DISABLE_VERSION_CHECK", "1".into()));
            }
            Self::Ogx => env.push(("OGX_CONFIG_DIR", dir.join("ogx").into())),
        }
        if self.needs_tiktoken() {
            env.push(("TIKTOKEN_CACHE_DIR", tiktoken_cache.into()));
        }
        env
    }

    /// Variables of `up`'s environment the server must not see.
    pub const UNSET_ENV: [&'static str; 7] = [
        "LLAMA_STACK_PORT",
        "LLAMA_STACK_CONFIG",
        "OGX_PORT",
        "OGX_WORKERS",
        "OGX_CONFIG",
        "VLLM_API_TOKEN",
        "VLLM_URL",
    ];

    /// Whether it loads tiktoken's `cl100k_base` at start.
    pub fn needs_tiktoken(self) -> bool {
        !matches!(self, Self::V0_2_18)
    }

    /// `GET`s, one after the other once it is healthy, that make it create
    /// its SQL tables: 0.7.3 and OGX create them on first use, and
    /// overlapping first uses fail ("no such table").
    pub fn warm_up_paths(self) -> &'static [&'static str] {
        match self {
            Self::V0_2_18 => &[],
            Self::V0_7_3 | Self::Ogx => &[
                "/v1/responses",
                "/v1/chat/completions",
                "/v1/files",
                "/v1/vector_stores",
                "/v1/conversations/conv_warm_up/items",
            ],
        }
    }
}

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
    server: Server,
    python: PathBuf,
    dir: PathBuf,
    port: u16,
    api_key: Option<String>,
}

impl LlamaStack {
    /// The provisioned interpreter of `server` (and, for 0.7.3 and OGX,
    /// tiktoken's cache), or the one line saying how to get them.
    pub fn python(server: Server) -> Result<PathBuf> {
        let venv = venv_dir(server.venv());
        let python = venv.join("bin/python");
        if !python.is_file() {
            bail!(
                "llamastack: no {} venv at {}: run cargo xtask provision",
                server.venv(),
                venv.display()
            );
        }
        let cache = tiktoken_cache_dir();
        if server.needs_tiktoken() && !cache.join(CL100K_BASE_FILE).is_file() {
            bail!(
                "llamastack: tiktoken's cl100k_base is not in {}: run cargo xtask provision",
                cache.display()
            );
        }
        Ok(python)
    }

    /// Writes the run.yaml into `dir`; a different one than last time
    /// (another server or model) empties the directory first, so no model,
    /// vector store or response of the earlier run is left.
    pub fn prepare(server: Server, dir: &Path, port: u16, models: &Models) -> Result<Self> {
        let python = Self::python(server)?;
        let run_yaml = render(server.run_yaml_template(), dir, models)?;
        let path = dir.join("run.yaml");
        if std::fs::read_to_string(&path).is_ok_and(|old| old != run_yaml) {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("llamastack: emptying {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("tmp"))?;
        std::fs::write(&path, run_yaml)?;
        Ok(Self {
            server,
            python,
            dir: dir.to_path_buf(),
            port,
            api_key: models.api_key.clone(),
        })
    }

    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.python);
        command
            .args(
                self.server
                    .server_args(&self.dir.join("run.yaml"), self.port),
            )
            .current_dir(&self.dir)
            .envs(self.server.server_env(&self.dir, &tiktoken_cache_dir()));
        for name in Server::UNSET_ENV {
            command.env_remove(name);
        }
        if let Some(key) = &self.api_key {
            command.env("VLLM_API_TOKEN", key);
        }
        command
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits for `GET /v1/health`, warms it up; returns what it is
    /// (`OGX 1.5.0`).
    pub async fn wait_ready(&self, proc: &Proc, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let health = format!("{}/v1/health", self.url());
        while !super::http_ok(&health).await {
            super::startup_check(proc, deadline, timeout)?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for path in self.server.warm_up_paths() {
            // any answer will do: the tables exist once it comes
            let _ = super::http_json(&format!("{}{path}", self.url())).await;
        }
        let version = super::http_json(&format!("{}/v1/version", self.url()))
            .await
            .and_then(|answer| answer["version"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned());
        Ok(format!("{} {version}", self.server.product()))
    }
}

/// The run.yaml `template` for `dir` and `models`, without its comments:
/// every placeholder replaced by a quoted YAML (JSON) string, the dimension
/// by a number (as `test_support::llamastack::render_run_yaml` does).
pub fn render(template: &str, dir: &Path, models: &Models) -> Result<String> {
    let dir = dir
        .to_str()
        .context("llamastack: the state directory's path is not UTF-8")?;
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let mut out = String::with_capacity(template.len());
    for line in template.lines() {
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
    use clap::ValueEnum as _;

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
    fn every_run_yaml_keeps_its_stores_in_the_state_directory_and_no_key() {
        for server in Server::value_variants() {
            let template = server.run_yaml_template();
            let text =
                render(template, Path::new("/state dir/llamastack"), &models()).unwrap_or_default();
            assert!(!text.contains("__"), "{server:?}: {text}");
            assert!(!text.contains("sk-secret"), "{server:?}: {text}");
            assert!(
                text.contains("db_path: \"/state dir/llamastack/"),
                "{server:?}: {text}"
            );
            assert!(
                text.contains("model_id: \"org/model: 7b\""),
                "{server:?}: {text}"
            );
            assert!(
                text.contains("embedding_dimension: 768"),
                "{server:?}: {text}"
            );
            assert!(
                text.contains("api_token: ${env.VLLM_API_TOKEN:=fake}"),
                "{server:?}: {text}"
            );
        }
    }

    /// The tests' twin of each server.
    fn twin(server: Server) -> test_support::llamastack::ServerVersion {
        use test_support::llamastack::ServerVersion;
        match server {
            Server::Ogx => ServerVersion::Ogx1_5,
            Server::V0_7_3 => ServerVersion::V0_7_3,
            Server::V0_2_18 => ServerVersion::V0_2_18,
        }
    }

    #[test]
    fn each_server_runs_as_the_tests_run_it() {
        let (dir, cache) = (Path::new("/state"), Path::new("/cache"));
        for server in Server::value_variants().iter().copied() {
            let twin = twin(server);
            assert_eq!(server.venv(), twin.venv());
            assert_eq!(server.run_yaml_template(), twin.run_yaml_template());
            assert_eq!(
                server.server_args(Path::new("/r.yaml"), 1),
                twin.server_args(Path::new("/r.yaml"), 1)
            );
            assert_eq!(
                server.server_env(dir, cache),
                twin.server_env(dir, twin.needs_tiktoken().then_some(cache))
            );
            assert_eq!(server.warm_up_paths(), twin.warm_up_paths());
            assert_eq!(
                twin.name(),
                format!("{} {}", server.product(), twin.number())
            );
            let models = models();
            let tests_models = test_support::llamastack::Models {
                url: models.url.clone(),
                llm: models.llm.clone(),
                embedding: models.embedding.clone(),
                embedding_dimension: models.embedding_dimension,
            };
            assert_eq!(
                render(server.run_yaml_template(), dir, &models).unwrap_or_default(),
                test_support::llamastack::render_run_yaml(
                    twin.run_yaml_template(),
                    dir,
                    &tests_models
                )
                .unwrap_or_default()
            );
        }
        assert_eq!(
            Server::UNSET_ENV,
            test_support::llamastack::ServerVersion::UNSET_ENV
        );
        assert_eq!(CL100K_BASE_FILE, test_support::llamastack::CL100K_BASE_FILE);
    }

    #[test]
    fn ogx_is_the_default_and_each_server_is_named_by_its_version() {
        assert_eq!(Server::default(), Server::Ogx);
        let names: Vec<String> = Server::value_variants()
            .iter()
            .filter_map(|server| server.to_possible_value())
            .map(|value| value.get_name().to_owned())
            .collect();
        assert_eq!(names, ["ogx", "0.7.3", "0.2.18"]);
    }
}
