//! HTTP to a ServiceNow instance: the Table API (`GET /api/now/table/...`,
//! answers `{"result": [...]}`) and the Service Catalog API (`POST
//! /api/sn_sc/servicecatalog/items/{sys_id}/order_now`, answers
//! `{"result": {...}}`). Errors answer `{"error": {"message", "detail"},
//! "status": "failure"}`. An answer is read up to 4 MiB. Retries connection
//! errors and 5xx answers only; a timeout is not retried. Credentials never
//! reach a log line or an error.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::Value;

use crate::{DeskError, ServiceNowAuth, ServiceNowSettings};

/// The most of one answer read: a page of records (at most 100 of a few
/// fields) is far less.
const MAX_ANSWER_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("ServiceNow could not be reached ({0})")]
    Connect(String),
    #[error("ServiceNow did not answer within {0:?}")]
    Timeout(Duration),
    #[error("ServiceNow answered {status}{detail}")]
    Status { status: StatusCode, detail: String },
    #[error("ServiceNow's answer was not what its API documents ({0})")]
    Shape(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Connect(_) => true,
            Failure::Status { status, .. } => status.is_server_error(),
            Failure::Timeout(_) | Failure::Shape(_) => false,
        }
    }
}

impl From<Failure> for DeskError {
    fn from(failure: Failure) -> Self {
        match &failure {
            Failure::Status { status, .. }
                if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN =>
            {
                DeskError::Backend(format!(
                    "{failure}: the server's ServiceNow credentials were refused \
                     (check SERVICENOW_API_KEY or SERVICENOW_USERNAME/SERVICENOW_PASSWORD)"
                ))
            }
            _ => DeskError::Backend(failure.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceNowClient {
    http: reqwest::Client,
    base: String,
    auth: ServiceNowAuth,
    timeout: Duration,
    retries: usize,
}

impl ServiceNowClient {
    pub fn new(settings: &ServiceNowSettings) -> Result<Self, DeskError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|error| DeskError::Backend(format!("HTTP client: {error}")))?;
        Ok(Self {
            http,
            base: settings.instance_url.clone(),
            auth: settings.auth.clone(),
            timeout: settings.timeout,
            retries: settings.retries,
        })
    }

    /// `GET /api/now/table/{table}` with display values: the records.
    pub async fn table(
        &self,
        table: &str,
        query: &str,
        fields: &str,
        limit: u32,
    ) -> Result<Vec<Value>, DeskError> {
        let path = format!("/api/now/table/{table}");
        let limit = limit.to_string();
        let params = [
            ("sysparm_query", query),
            ("sysparm_fields", fields),
            ("sysparm_limit", limit.as_str()),
            ("sysparm_display_value", "true"),
            ("sysparm_exclude_reference_link", "true"),
        ];
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params)
            .map_err(|error| Failure::Shape(format!("query: {error}")))?;
        let answer = self
            .send(Method::GET, &path, url, |request| request)
            .await?;
        match answer.get("result") {
            Some(Value::Array(records)) => Ok(records.clone()),
            _ => Err(Failure::Shape(format!("{table}: no result list")).into()),
        }
    }

    /// `POST /api/sn_sc/servicecatalog/items/{item}/order_now`: the order's
    /// `result` object.
    pub async fn order_now(&self, item: &str, body: &Value) -> Result<Value, DeskError> {
        let path = format!("/api/sn_sc/servicecatalog/items/{item}/order_now");
        let url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|error| Failure::Shape(format!("item: {error}")))?;
        let answer = self
            .send(Method::POST, &path, url, |request| request.json(body))
            .await?;
        match answer.get("result") {
            Some(result @ Value::Object(_)) => Ok(result.clone()),
            _ => Err(Failure::Shape("order_now: no result object".into()).into()),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        url: reqwest::Url,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Value, Failure> {
        let attempt = || async {
            let request = self
                .authenticated(self.http.request(method.clone(), url.clone()))
                .header(reqwest::header::ACCEPT, "application/json");
            let response = build(request)
                .send()
                .await
                .map_err(|error| self.transport(error))?;
            let status = response.status();
            let body = self.body(response).await?;
            if !status.is_success() {
                return Err(Failure::Status {
                    status,
                    detail: error_detail(&String::from_utf8_lossy(&body)),
                });
            }
            serde_json::from_slice::<Value>(&body)
                .map_err(|error| Failure::Shape(error.to_string()))
        };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(2))
                    .with_max_times(self.retries)
                    .with_jitter(),
            )
            .when(Failure::retryable)
            .notify(|failure, pause| {
                tracing::warn!(%method, path, %failure, retry_in_ms = pause.as_millis() as u64, "ServiceNow request failed, retrying");
            })
            .await
            .inspect_err(|failure| tracing::warn!(%method, path, %failure, "ServiceNow request failed"))
    }

    /// The answer's body, refused past [`MAX_ANSWER_BYTES`].
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let too_large = || {
            Failure::Shape(format!(
                "the answer is larger than {} MiB",
                MAX_ANSWER_BYTES >> 20
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport(error))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn authenticated(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            ServiceNowAuth::ApiKey { header, key } => {
                let mut value = reqwest::header::HeaderValue::from_str(key.expose_secret())
                    .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
                value.set_sensitive(true);
                request.header(header.as_str(), value)
            }
            ServiceNowAuth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
        }
    }

    fn transport(&self, error: reqwest::Error) -> Failure {
        if error.is_timeout() {
            Failure::Timeout(self.timeout)
        } else if error.is_connect() || error.is_request() {
            Failure::Connect(describe(&error))
        } else {
            Failure::Shape(describe(&error))
        }
    }
}

/// The error's own words, without the URL (it is never echoed).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<instance>");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `": <message> (<detail>)"` from ServiceNow's error body, when it has one.
fn error_detail(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return String::new();
    };
    let error = &value["error"];
    match (error["message"].as_str(), error["detail"].as_str()) {
        (Some(message), Some(detail)) if !detail.is_empty() => format!(": {message} ({detail})"),
        (Some(message), _) => format!(": {message}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_body_is_quoted() {
        let body = r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#;
        assert_eq!(
            error_detail(body),
            ": User Not Authenticated (Required to provide Auth information)"
        );
        assert_eq!(error_detail("<html>"), "");
    }

    /// A client of a server on 127.0.0.1 that answers every request with
    /// `answer` (the raw HTTP answer) and closes.
    async fn client_of(answer: Vec<u8>) -> ServiceNowClient {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(&answer).await;
            }
        });
        ServiceNowClient::new(&ServiceNowSettings {
            instance_url: format!("http://{addr}"),
            auth: ServiceNowAuth::ApiKey {
                header: "x-sn-apikey".into(),
                key: "k".into(),
            },
            laptop_refresh_id: None,
            timeout: Duration::from_secs(5),
            retries: 0,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn an_answer_past_the_bound_is_refused_with_or_without_its_length() {
        let body = format!(r#"{{"result": ["{}"]}}"#, "x".repeat(MAX_ANSWER_BYTES));
        let announced = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let unannounced = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{body}"
        );
        for answer in [announced, unannounced] {
            let client = client_of(answer.into_bytes()).await;
            let error = client
                .table("sys_user", "email=a@x", "sys_id", 1)
                .await
                .unwrap_err();
            assert!(error.to_string().contains("larger than 4 MiB"), "{error}");
        }
    }

    #[test]
    fn only_connection_errors_and_5xx_are_retried() {
        let status = |code| Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            detail: String::new(),
        };
        assert!(status(503).retryable());
        assert!(!status(401).retryable());
        assert!(!status(404).retryable());
        assert!(Failure::Connect("refused".into()).retryable());
        assert!(!Failure::Timeout(Duration::from_secs(1)).retryable());
    }
}
