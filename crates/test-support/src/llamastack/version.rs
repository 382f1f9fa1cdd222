//! The three servers the tests run: what each is called, where its Python
//! is, how it starts and where its Responses API lives
//! (`docs/llamastack.md`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A LlamaStack (or OGX, as LlamaStack is called since) release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerVersion {
    /// LlamaStack 0.2.18: the Responses API under `/v1/openai/v1`, beside
    /// the Agents API.
    V0_2_18,
    /// LlamaStack 0.7.3, the last release under that name: the Responses
    /// API at `/v1`, no Agents API.
    V0_7_3,
    /// OGX 1.5.0: as 0.7.3.
    Ogx1_5,
}

impl ServerVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 3] = [Self::V0_2_18, Self::V0_7_3, Self::Ogx1_5];

    /// `LlamaStack 0.2.18`, `LlamaStack 0.7.3`, `OGX 1.5.0`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V0_2_18 => "LlamaStack 0.2.18",
            Self::V0_7_3 => "LlamaStack 0.7.3",
            Self::Ogx1_5 => "OGX 1.5.0",
        }
    }

    /// What `GET /v1/version` answers.
    pub fn number(self) -> &'static str {
        match self {
            Self::V0_2_18 => "0.2.18",
            Self::V0_7_3 => "0.7.3",
            Self::Ogx1_5 => "1.5.0",
        }
    }

    /// The venv `cargo xtask provision` builds for it: `target/venv/<venv>`
    /// from `ci/python/<venv>.txt`.
    pub fn venv(self) -> &'static str {
        match self {
            Self::V0_2_18 => "llamastack",
            Self::V0_7_3 => "llamastack-0.7.3",
            Self::Ogx1_5 => "ogx-1.5.0",
        }
    }

    /// The path of the Responses, Files and Vector Stores APIs.
    pub fn api_base(self) -> &'static str {
        match self {
            Self::V0_2_18 => "/v1/openai/v1",
            Self::V0_7_3 | Self::Ogx1_5 => "/v1",
        }
    }

    /// The name under which the model is offered the `file_search` tool.
    pub fn file_search_tool(self) -> &'static str {
        match self {
            Self::V0_2_18 => crate::openai_stub::script::KNOWLEDGE_SEARCH,
            Self::V0_7_3 | Self::Ogx1_5 => crate::openai_stub::script::FILE_SEARCH,
        }
    }

    /// Whether it loads tiktoken's `cl100k_base` at start (and so needs
    /// `TIKTOKEN_CACHE_DIR` without internet).
    pub fn needs_tiktoken(self) -> bool {
        !matches!(self, Self::V0_2_18)
    }

    /// Its run.yaml template, `crates/test-support/llamastack/<dir>/run.yaml`.
    pub fn run_yaml_template(self) -> &'static str {
        match self {
            Self::V0_2_18 => include_str!("../../llamastack/0.2.18/run.yaml"),
            Self::V0_7_3 => include_str!("../../llamastack/0.7.3/run.yaml"),
            Self::Ogx1_5 => include_str!("../../llamastack/ogx-1.5.0/run.yaml"),
        }
    }

    /// The arguments of its Python to serve `run_yaml` on `port` (a module
    /// run with `-m`, so a copied venv works: no script with a fixed
    /// interpreter path).
    pub fn server_args(self, run_yaml: &Path, port: u16) -> Vec<OsString> {
        let (before, after): (&[&str], &[&str]) = match self {
            Self::V0_2_18 => (&["-m", "llama_stack.core.server.server"], &[]),
            Self::V0_7_3 => (&["-m", "llama_stack.cli.llama", "stack", "run"], &[]),
            // OGX refuses to serve plain HTTP without --insecure
            Self::Ogx1_5 => (&["-m", "ogx.cli.ogx", "run"], &["--insecure"]),
        };
        let mut args: Vec<OsString> = before.iter().map(OsString::from).collect();
        args.push(run_yaml.as_os_str().to_owned());
        args.extend(["--port".into(), port.to_string().into()]);
        args.extend(after.iter().map(OsString::from));
        args
    }

    /// The environment of the server whose state is in `state_dir`: its
    /// configuration directory there (OGX would otherwise move `~/.llama`
    /// to `~/.ogx`), its temporary files there (OGX writes the resolved
    /// configuration to one), no version check, no model download, and
    /// tiktoken's cache from `tiktoken_cache` when given.
    pub fn server_env(
        self,
        state_dir: &Path,
        tiktoken_cache: Option<&Path>,
    ) -> Vec<(&'static str, OsString)> {
        let mut env: Vec<(&'static str, OsString)> = vec![
            ("TMPDIR", state_dir.join("tmp").into()),
            ("HF_HUB_OFFLINE", "1".into()),
            ("PYTHONUNBUFFERED", "1".into()),
        ];
        match self {
            Self::V0_2_18 | Self::V0_7_3 => {
                env.push(("LLAMA_STACK_CONFIG_DIR", state_dir.join("llama").into()));
                env.push(("LLAMA_STACK_DISABLE_VERSION_CHECK", "1".into()));
            }
            Self::Ogx1_5 => env.push(("OGX_CONFIG_DIR", state_dir.join("ogx").into())),
        }
        if let Some(cache) = tiktoken_cache {
            env.push(("TIKTOKEN_CACHE_DIR", cache.into()));
        }
        env
    }

    /// Variables of the caller's environment the server must not see: they
    /// would override the port, the configuration or the inference key.
    pub const UNSET_ENV: [&'static str; 7] = [
        "LLAMA_STACK_PORT",
        "LLAMA_STACK_CONFIG",
        "OGX_PORT",
        "OGX_WORKERS",
        "OGX_CONFIG",
        "VLLM_API_TOKEN",
        "VLLM_URL",
    ];

    /// `GET`s that make a fresh server create its SQL tables, to be sent one
    /// after the other once it is healthy. 0.7.3 and OGX create them on
    /// first use, and first uses that overlap race: all but one fail with
    /// 500 ("no such table: responses", `inference_store`,
    /// `openai_files`). Any answer will do.
    pub fn warm_up_paths(self) -> &'static [&'static str] {
        match self {
            Self::V0_2_18 => &[],
            Self::V0_7_3 | Self::Ogx1_5 => &[
                "/v1/responses",
                "/v1/chat/completions",
                "/v1/files",
                "/v1/vector_stores",
                "/v1/conversations/conv_warm_up/items",
            ],
        }
    }

    /// The interpreter of its provisioned venv, if there is one:
    /// `<target dir>/venv/<venv>/bin/python`.
    pub fn python(self) -> Option<PathBuf> {
        crate::venv::python(self.venv())
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// tiktoken's cache with `cl100k_base`, as `cargo xtask provision` makes
/// it: `TIKTOKEN_CACHE_DIR` when set, else `<target dir>/tiktoken-cache`;
/// `None` when the encoding is not there.
pub fn tiktoken_cache() -> Option<PathBuf> {
    let dir = std::env::var_os("TIKTOKEN_CACHE_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::venv::target_dir().join("tiktoken-cache"));
    dir.join(CL100K_BASE_FILE).is_file().then_some(dir)
}

/// tiktoken's cache key of `cl100k_base` (the sha1 of its download URL).
pub const CL100K_BASE_FILE: &str = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_runs_a_module_of_its_own_venv_on_the_given_port() {
        let args = |version: ServerVersion| -> Vec<String> {
            version
                .server_args(Path::new("/s/run.yaml"), 8321)
                .into_iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            args(ServerVersion::V0_2_18),
            [
                "-m",
                "llama_stack.core.server.server",
                "/s/run.yaml",
                "--port",
                "8321"
            ]
        );
        assert_eq!(
            args(ServerVersion::V0_7_3),
            [
                "-m",
                "llama_stack.cli.llama",
                "stack",
                "run",
                "/s/run.yaml",
                "--port",
                "8321"
            ]
        );
        assert_eq!(
            args(ServerVersion::Ogx1_5),
            [
                "-m",
                "ogx.cli.ogx",
                "run",
                "/s/run.yaml",
                "--port",
                "8321",
                "--insecure"
            ]
        );
    }

    #[test]
    fn only_the_renamed_server_has_its_config_under_ogx() {
        let names = |version: ServerVersion| -> Vec<&str> {
            version
                .server_env(Path::new("/s"), None)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert!(names(ServerVersion::Ogx1_5).contains(&"OGX_CONFIG_DIR"));
        assert!(!names(ServerVersion::V0_7_3).contains(&"OGX_CONFIG_DIR"));
        assert!(names(ServerVersion::V0_7_3).contains(&"LLAMA_STACK_CONFIG_DIR"));
        let with_cache = ServerVersion::V0_7_3.server_env(Path::new("/s"), Some(Path::new("/c")));
        assert!(with_cache.contains(&("TIKTOKEN_CACHE_DIR", "/c".into())));
    }
}
