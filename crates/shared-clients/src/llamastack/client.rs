//! The HTTP core of the LlamaStack client: URLs, authentication, retries
//! with backoff, bounded reads, and turning answers into values or
//! [`LlamaStackError`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Response, Url};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::base::ApiBase;
use super::config::LlamaStackConfig;
use super::error::{LlamaStackError, snippet};

/// The most of an error answer's body that is read (its start is kept).
pub(crate) const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The most of a JSON answer that is read.
pub(crate) const MAX_JSON_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A typed client for the LlamaStack API subset of `docs/llamastack.md`:
/// the Responses API, files and vector stores, models, and the legacy
/// listings of 0.2.18. Cheap to clone: one connection pool and one
/// discovered API base shared by all clones.
#[derive(Clone)]
pub struct LlamaStackClient {
    pub(crate) http: reqwest::Client,
    config: Arc<LlamaStackConfig>,
    discovered: Arc<OnceCell<ApiBase>>,
}

/// What a request carries; rebuilt for every attempt.
pub(crate) enum Body<'a> {
    Empty,
    Json(Vec<u8>),
    File {
        filename: &'a str,
        content: &'a [u8],
        purpose: &'a str,
    },
}

/// A path under the base URL: fixed parts and ids. Each id becomes exactly
/// one path segment (percent-encoded by [`Url::path_segments_mut`]), so an
/// id holding `/` or `?` cannot reach another route. Displayed unencoded,
/// for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiPath(Vec<String>);

impl ApiPath {
    /// A fixed path such as `/v1/models`.
    pub(crate) fn new(fixed: &str) -> Self {
        Self(
            fixed
                .split('/')
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// This path with `id` as its next segment.
    pub(crate) fn id(mut self, id: &str) -> Self {
        self.0.push(id.to_owned());
        self
    }

    /// This path with the fixed `parts` appended.
    pub(crate) fn then(mut self, parts: &str) -> Self {
        self.0.extend(Self::new(parts).0);
        self
    }
}

impl From<&str> for ApiPath {
    fn from(fixed: &str) -> Self {
        Self::new(fixed)
    }
}

impl From<&ApiPath> for ApiPath {
    fn from(path: &ApiPath) -> Self {
        path.clone()
    }
}

impl std::fmt::Display for ApiPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for part in &self.0 {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

/// How long an idle connection to the server is kept for the next call:
/// less than the 5 s after which LlamaStack and OGX close it.
const IDLE_CONNECTION: Duration = Duration::from_secs(3);

impl LlamaStackClient {
    pub fn new(config: LlamaStackConfig) -> Result<Self, LlamaStackError> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = &config.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| {
                    app_support::ConfigError::new(
                        "LLAMA_STACK_API_KEY: contains characters not allowed in a header",
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout.min(config.timeout))
            // The servers (uvicorn) close a connection idle for 5 s; one kept
            // longer is reset when reused (docs/llamastack.md).
            .pool_idle_timeout(IDLE_CONNECTION)
            .user_agent(concat!("self-service-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                app_support::ConfigError::new(format!(
                    "LlamaStack HTTP client: {}",
                    describe(&error)
                ))
            })?;
        Ok(Self {
            http,
            config: Arc::new(config),
            discovered: Arc::new(OnceCell::new()),
        })
    }

    /// Reads the settings from the environment ([`LlamaStackConfig::from_env`]).
    pub fn from_env() -> Result<Self, LlamaStackError> {
        Self::new(LlamaStackConfig::from_env()?)
    }

    pub fn config(&self) -> &LlamaStackConfig {
        &self.config
    }

    pub(crate) fn discovered_base(&self) -> &OnceCell<ApiBase> {
        &self.discovered
    }

    /// `GET /v1/health` within the configured timeout, no retries.
    pub async fn health(&self) -> Result<(), LlamaStackError> {
        self.ping(self.config.timeout).await
    }

    /// One `GET /v1/health`, no retries, at most `timeout`: for readiness probes.
    pub async fn ping(&self, timeout: Duration) -> Result<(), LlamaStackError> {
        let api_path = ApiPath::new("/v1/health");
        let path = "/v1/health";
        let request = self
            .http
            .get(self.url(&api_path, &[]))
            .timeout(timeout.min(self.config.timeout));
        let response = request
            .send()
            .await
            .map_err(|error| connect_error(&Method::GET, path, &error))?;
        let answer: serde_json::Value = read_json(
            &Method::GET,
            path,
            check(&Method::GET, path, response).await?,
        )
        .await?;
        match answer.get("status").and_then(|status| status.as_str()) {
            Some(status) if status.eq_ignore_ascii_case("ok") => Ok(()),
            other => Err(LlamaStackError::Status {
                method: "GET".into(),
                path: path.into(),
                status: 503,
                body: format!("health status {}", other.unwrap_or("missing")),
            }),
        }
    }

    /// Waits until [`ping`](Self::ping) succeeds, with backoff, for at most `timeout`.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<(), LlamaStackError> {
        let started = Instant::now();
        let remaining = || timeout.saturating_sub(started.elapsed());
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff.max(Duration::from_millis(50)))
            .with_max_delay(Duration::from_secs(2))
            .without_max_times();
        (|| self.ping(remaining().max(Duration::from_millis(100))))
            .retry(backoff)
            .when(|error: &LlamaStackError| error.is_unavailable() && !remaining().is_zero())
            // the last pause ends at the deadline, not past it
            .adjust(|_, pause| pause.map(|pause| pause.min(remaining())))
            .notify(|error, _| {
                tracing::debug!(target = %self.config.target(), %error, "LlamaStack not ready yet");
            })
            .await
            .map_err(|error| {
                if error.is_unavailable() {
                    LlamaStackError::Unavailable {
                        target: self.config.target(),
                        waited: started.elapsed(),
                        reason: error.to_string(),
                    }
                } else {
                    error
                }
            })
    }

    pub(crate) fn url(&self, path: &ApiPath, query: &[(&str, &str)]) -> Url {
        let mut url = self.config.base_url.clone();
        // http(s) URLs always have path segments.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&path.0);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One attempt: the answer when its status is a success, else the error
    /// it makes (its body read, bounded).
    pub(crate) async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: &Body<'_>,
    ) -> Result<Response, LlamaStackError> {
        let request = self.http.request(method.clone(), url.clone());
        let request = match body {
            Body::Empty => request,
            Body::Json(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::File {
                filename,
                content,
                purpose,
            } => {
                let part = reqwest::multipart::Part::bytes(content.to_vec())
                    .file_name(filename.to_string())
                    .mime_str("text/plain")
                    .map_err(|error| connect_error(method, path, &error))?;
                let form = reqwest::multipart::Form::new()
                    .text("purpose", purpose.to_string())
                    .part("file", part);
                request.multipart(form)
            }
        };
        let response = request
            .send()
            .await
            .map_err(|error| connect_error(method, path, &error))?;
        check(method, path, response).await
    }

    /// Sends a request, retrying connection errors and 5xx answers with
    /// exponential backoff; a 4xx is returned at once.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: impl Into<ApiPath>,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Response, LlamaStackError> {
        let api_path = path.into();
        let url = self.url(&api_path, query);
        let path = api_path.to_string();
        (|| self.attempt(&method, &url, &path, &body))
            .retry(self.backoff())
            .when(LlamaStackError::is_retryable)
            .notify(|error, pause| {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "LlamaStack request failed, retrying");
            })
            .await
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(self.config.retries as usize)
            .with_jitter()
    }

    /// GET with retries, the answer read as JSON.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: impl Into<ApiPath>,
        query: &[(&str, &str)],
    ) -> Result<T, LlamaStackError> {
        let path = path.into();
        let response = self.send(Method::GET, &path, query, Body::Empty).await?;
        read_json(&Method::GET, &path.to_string(), response).await
    }

    /// One GET, no retries, the answer read as JSON.
    pub(crate) async fn get_json_once<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, LlamaStackError> {
        let api_path = ApiPath::new(path);
        let url = self.url(&api_path, &[]);
        let path = api_path.to_string();
        let response = self
            .attempt(&Method::GET, &url, &path, &Body::Empty)
            .await?;
        read_json(&Method::GET, &path, response).await
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: impl Into<ApiPath>,
        body: &B,
    ) -> Result<T, LlamaStackError> {
        let path = path.into();
        let bytes = json_bytes(&path.to_string(), body)?;
        let response = self
            .send(Method::POST, &path, &[], Body::Json(bytes))
            .await?;
        read_json(&Method::POST, &path.to_string(), response).await
    }

    pub(crate) async fn delete(&self, path: impl Into<ApiPath>) -> Result<(), LlamaStackError> {
        self.send(Method::DELETE, path, &[], Body::Empty)
            .await
            .map(drop)
    }
}

/// `body` as JSON bytes, or the error naming the request.
pub(crate) fn json_bytes<B: Serialize>(path: &str, body: &B) -> Result<Vec<u8>, LlamaStackError> {
    serde_json::to_vec(body).map_err(|error| LlamaStackError::Decode {
        method: "POST".into(),
        path: path.to_owned(),
        reason: format!("request body: {error}"),
    })
}

async fn check(
    method: &Method,
    path: &str,
    response: Response,
) -> Result<Response, LlamaStackError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = read_error_body(response).await;
    Err(LlamaStackError::Status {
        method: method.to_string(),
        path: path.to_owned(),
        status: status.as_u16(),
        body: snippet(&body),
    })
}

/// The start of an error answer's body (at most [`MAX_ERROR_BODY_BYTES`]),
/// as text; whatever could be read when reading fails.
pub(crate) async fn read_error_body(response: Response) -> String {
    let bytes = match read_bounded(response, MAX_ERROR_BODY_BYTES).await {
        Ok(Bounded::Whole(bytes) | Bounded::Cut(bytes)) => bytes,
        Err(_) => Vec::new(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A body read up to a limit.
pub(crate) enum Bounded {
    /// The whole body.
    Whole(Vec<u8>),
    /// The first `limit` bytes; the body was longer.
    Cut(Vec<u8>),
}

/// Reads at most `limit` bytes of `response`'s body, chunk by chunk: a
/// hostile or broken server cannot make us hold more.
pub(crate) async fn read_bounded(
    mut response: Response,
    limit: usize,
) -> Result<Bounded, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Bounded::Cut(bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bounded::Whole(bytes))
}

pub(crate) async fn read_json<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    response: Response,
) -> Result<T, LlamaStackError> {
    let bytes = match read_bounded(response, MAX_JSON_BODY_BYTES)
        .await
        .map_err(|error| connect_error(method, path, &error))?
    {
        Bounded::Whole(bytes) => bytes,
        Bounded::Cut(_) => {
            return Err(LlamaStackError::Decode {
                method: method.to_string(),
                path: path.to_owned(),
                reason: format!("the answer is over {MAX_JSON_BODY_BYTES} bytes"),
            });
        }
    };
    serde_json::from_slice(&bytes).map_err(|error| LlamaStackError::Decode {
        method: method.to_string(),
        path: path.to_owned(),
        reason: format!(
            "{error}; body: {}",
            snippet(&String::from_utf8_lossy(&bytes))
        ),
    })
}

pub(crate) fn connect_error(
    method: &Method,
    path: &str,
    error: &(dyn std::error::Error + 'static),
) -> LlamaStackError {
    LlamaStackError::Connect {
        method: method.to_string(),
        path: path.to_owned(),
        reason: describe(error),
    }
}

/// The error and its causes on one line, without the URL reqwest adds.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        let text = match error.downcast_ref::<reqwest::Error>() {
            Some(reqwest_error) if reqwest_error.is_timeout() => "timed out".to_owned(),
            Some(reqwest_error) if reqwest_error.is_connect() => "connection failed".to_owned(),
            Some(reqwest_error) if reqwest_error.is_body() || reqwest_error.is_decode() => {
                "reading the answer failed".to_owned()
            }
            Some(_) => "request failed".to_owned(),
            None => error.to_string(),
        };
        if !parts.iter().any(|part| part == &text) && !text.contains("://") {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_path_segment_each() {
        let config = LlamaStackConfig::for_url("http://host:1").expect("valid");
        let client = LlamaStackClient::new(config).expect("client");
        let url = |path: &ApiPath| client.url(path, &[]).to_string();
        assert_eq!(
            url(&ApiPath::new("/v1/toolgroups").id("mcp::snow")),
            "http://host:1/v1/toolgroups/mcp::snow"
        );
        assert_eq!(
            url(&ApiPath::new("/v1/vector-dbs").id("laptop refresh/2?x")),
            "http://host:1/v1/vector-dbs/laptop%20refresh%2F2%3Fx"
        );
        assert_eq!(
            ApiPath::new("/v1/agents").id("a/b").then("x").to_string(),
            "/v1/agents/a/b/x"
        );
    }

    #[test]
    fn a_base_path_prefix_is_kept() {
        let config = LlamaStackConfig::for_url("http://host:1/llama/").expect("valid");
        let client = LlamaStackClient::new(config).expect("client");
        assert_eq!(
            client
                .url(&ApiPath::new("/v1/models"), &[("limit", "2")])
                .as_str(),
            "http://host:1/llama/v1/models?limit=2"
        );
    }
}
