//! Where the OpenAI-compatible API (`responses`, `files`, `vector_stores`,
//! `models`) lives on the server: `/v1/openai/v1` on LlamaStack 0.2.18,
//! `/v1` on 0.7.3 and OGX, and right under the URL for a server whose URL
//! already ends in `/v1` (vLLM, OpenAI). Found once per client by asking the
//! server (`docs/llamastack.md`, "Where the API lives"), or given by
//! `LLAMA_STACK_API_BASE`.

use std::fmt;

use super::client::{ApiPath, LlamaStackClient};
use super::error::LlamaStackError;

/// The base path of LlamaStack 0.2.18's OpenAI-compatible API.
pub const LEGACY_BASE: &str = "/v1/openai/v1";
/// The base path of LlamaStack 0.7.3 and OGX.
pub const CURRENT_BASE: &str = "/v1";

/// The base path under which `responses`, `files`, `vector_stores` and
/// `models` live, relative to the configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase {
    /// Without a trailing `/`; empty for the URL itself.
    path: String,
}

impl ApiBase {
    /// `/v1/openai/v1`: LlamaStack 0.2.18.
    pub fn legacy() -> Self {
        Self {
            path: LEGACY_BASE.to_owned(),
        }
    }

    /// `/v1`: LlamaStack 0.7.3 and OGX.
    pub fn current() -> Self {
        Self {
            path: CURRENT_BASE.to_owned(),
        }
    }

    /// The URL itself (`/`): a server whose URL already names its API root.
    pub fn root() -> Self {
        Self {
            path: String::new(),
        }
    }

    /// Parses a base path (`/v1`, `/v1/openai/v1`, `/`): absolute, no
    /// query, no `.` or `..` segment. The error says why, on one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !text.starts_with('/') {
            return Err(format!(
                "expected an absolute path such as /v1, found {text:?}"
            ));
        }
        if text.contains(['?', '#', '\\']) || text.chars().any(char::is_whitespace) {
            return Err("the path must not hold a query, fragment, backslash or space".to_owned());
        }
        let segments: Vec<&str> = text.split('/').filter(|part| !part.is_empty()).collect();
        if segments.iter().any(|part| matches!(*part, "." | "..")) {
            return Err("the path must not hold . or .. segments".to_owned());
        }
        Ok(Self {
            path: segments.iter().map(|part| format!("/{part}")).collect(),
        })
    }

    /// The path: `/v1/openai/v1`, `/v1`, or `/` for the URL itself.
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }

    /// LlamaStack 0.2.18's layout (its `/v1/models` keeps the richer
    /// llama-stack shape, its function tools need a `description`).
    pub fn is_legacy_0_2(&self) -> bool {
        self.path == LEGACY_BASE
    }

    /// `<base>/<parts>` as a request path.
    pub(crate) fn join(&self, parts: &str) -> ApiPath {
        ApiPath::new(&self.path).then(parts)
    }

    /// Where the models are listed: `/v1/models` on 0.2.18 (its llama-stack
    /// shape says which model embeds, and with what dimension), else
    /// `<base>/models`.
    pub(crate) fn models_path(&self) -> ApiPath {
        if self.is_legacy_0_2() {
            ApiPath::new("/v1/models")
        } else {
            self.join("models")
        }
    }
}

impl fmt::Display for ApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// The base a probe answering 200 names.
type Probed = fn() -> ApiBase;

/// The probes, in order: the first path answering 200 names the base. 0.2.18
/// answers the first, 0.7.3 and OGX answer 404 to it and 200 to the second,
/// a vLLM or OpenAI URL ending in `/v1` answers only the third.
const PROBES: [(&str, Probed); 3] = [
    ("/v1/openai/v1/models", ApiBase::legacy),
    ("/v1/models", ApiBase::current),
    ("/models", ApiBase::root),
];

impl LlamaStackClient {
    /// The base of the OpenAI-compatible API: `LLAMA_STACK_API_BASE` when
    /// set, else found once by asking the server and shared by every clone
    /// of this client. A failed discovery is not remembered: the next call
    /// asks again.
    pub async fn api_base(&self) -> Result<ApiBase, LlamaStackError> {
        if let Some(base) = &self.config().api_base {
            return Ok(base.clone());
        }
        self.discovered_base()
            .get_or_try_init(|| self.discover_base())
            .await
            .cloned()
    }

    async fn discover_base(&self) -> Result<ApiBase, LlamaStackError> {
        for (probe, base) in PROBES {
            match self.get_json::<serde_json::Value>(probe, &[]).await {
                Ok(_) => {
                    let base = base();
                    tracing::debug!(target = %self.config().target(), %base, "LlamaStack API base found");
                    return Ok(base);
                }
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error),
            }
        }
        Err(LlamaStackError::Decode {
            method: "GET".into(),
            path: PROBES.map(|(probe, _)| probe).join(", "),
            reason: "every probe answered 404: no OpenAI-compatible API found under this URL \
                     (set LLAMA_STACK_API_BASE)"
                .into(),
        })
    }

    /// `GET /v1/version` → `{"version": "0.2.18"}`: one attempt, `None` on
    /// any failure (vLLM and OpenAI have no such route).
    pub async fn server_version(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Version {
            version: String,
        }
        let version: Version = self.get_json_once("/v1/version").await.ok()?;
        Some(version.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_parse_to_their_canonical_form() {
        assert_eq!(ApiBase::parse("/v1/openai/v1/"), Ok(ApiBase::legacy()));
        assert!(
            ApiBase::parse("/v1/openai/v1")
                .expect("valid")
                .is_legacy_0_2()
        );
        assert_eq!(ApiBase::parse(" /v1 "), Ok(ApiBase::current()));
        assert_eq!(ApiBase::parse("/"), Ok(ApiBase::root()));
        assert_eq!(ApiBase::root().path(), "/");
        assert_eq!(
            ApiBase::parse("//api//v2").expect("valid").path(),
            "/api/v2"
        );
    }

    #[test]
    fn bad_base_paths_say_why() {
        for bad in [
            "v1",
            "",
            "/v1?x=1",
            "/v1/../admin",
            "/v 1",
            "http://host/v1",
        ] {
            assert!(ApiBase::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn models_are_read_where_each_layout_describes_them_best() {
        assert_eq!(ApiBase::legacy().models_path().to_string(), "/v1/models");
        assert_eq!(ApiBase::current().models_path().to_string(), "/v1/models");
        assert_eq!(ApiBase::root().models_path().to_string(), "/models");
        assert_eq!(
            ApiBase::legacy().join("responses").to_string(),
            "/v1/openai/v1/responses"
        );
    }
}
