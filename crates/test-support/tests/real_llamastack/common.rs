//! The shared servers, a client of their API, and what tests read in
//! their answers.

use std::io::{Read as _, Write as _};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RealLlamaStack;
use test_support::llamastack::ServerVersion;
use test_support::openai_stub::Script;

/// A shared server of `version` and a client of its API, or `None` after a
/// visible skip. The first call starts every provisioned version side by
/// side.
pub async fn server(version: ServerVersion, test: &str) -> Option<Api> {
    if !RealLlamaStack::available_or_skip(version, test) {
        return None;
    }
    static STARTED: OnceLock<()> = OnceLock::new();
    tokio::task::spawn_blocking(|| {
        STARTED.get_or_init(|| {
            let versions: Vec<ServerVersion> = ServerVersion::ALL
                .into_iter()
                .filter(|v| RealLlamaStack::available(*v))
                .collect();
            let begun = Instant::now();
            for stack in RealLlamaStack::shared_all(&versions).into_iter().flatten() {
                stack.stub().set_script(Script::CallTools);
                say(&format!(
                    "{} ready in {:.1} s",
                    stack.version(),
                    stack.startup_time().as_secs_f64()
                ));
            }
            say(&format!(
                "{} servers started side by side in {:.1} s",
                versions.len(),
                begun.elapsed().as_secs_f64()
            ));
        });
    })
    .await
    .expect("start task");
    let stack = RealLlamaStack::shared(version).expect("the server starts");
    Some(Api::new(stack))
}

/// A line on stderr, outside the test harness's capture.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "real_llamastack: {line}");
}

pub struct Api {
    pub stack: &'static RealLlamaStack,
    pub http: reqwest::Client,
}

/// A streamed answer: its status, content type, and the `data:` payloads.
pub struct Streamed {
    pub status: StatusCode,
    pub content_type: String,
    pub events: Vec<Value>,
    /// Lines that are neither `data: {json}` nor blank (`event:`, `[DONE]`).
    pub other_lines: Vec<String>,
}

impl Api {
    pub fn new(stack: &'static RealLlamaStack) -> Self {
        Self {
            stack,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    pub fn version(&self) -> ServerVersion {
        self.stack.version()
    }

    /// `path` below the server's root (`/v1/...`).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.stack.url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST <api base><path>` (the Responses, Files and Vector Stores APIs).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let path = format!("{}{path}", self.stack.api_base());
        self.call(reqwest::Method::POST, &path, Some(body)).await
    }

    /// A non-streamed response that must succeed.
    pub async fn respond(&self, body: Value) -> Value {
        let (status, response) = self.post("/responses", body).await;
        assert_eq!(status, StatusCode::OK, "{}: {response}", self.version());
        assert_eq!(response["status"], "completed", "{response}");
        response
    }

    pub async fn stream(&self, mut body: Value) -> Streamed {
        body["stream"] = json!(true);
        let response = self
            .http
            .post(format!("{}/responses", self.stack.api_url()))
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let content_type = header(&response, reqwest::header::CONTENT_TYPE);
        let text = response.text().await.expect("stream read");
        let mut events = Vec::new();
        let mut other_lines = Vec::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            match line
                .strip_prefix("data: ")
                .map(serde_json::from_str::<Value>)
            {
                Some(Ok(event)) => events.push(event),
                _ => other_lines.push(line.to_owned()),
            }
        }
        Streamed {
            status,
            content_type,
            events,
            other_lines,
        }
    }

    /// Uploads `text` as `name` and attaches it to a new vector store; the
    /// store's id once the file is indexed.
    pub async fn vector_store_with(&self, name: &str, text: &str) -> String {
        let (status, store) = self
            .post("/vector_stores", json!({"name": unique("kb")}))
            .await;
        assert_eq!(status, StatusCode::OK, "{store}");
        let store = store["id"].as_str().expect("store id").to_owned();
        let form = reqwest::multipart::Form::new()
            .text("purpose", "assistants")
            .part(
                "file",
                reqwest::multipart::Part::bytes(text.as_bytes().to_vec())
                    .file_name(name.to_owned())
                    .mime_str("text/plain")
                    .expect("mime"),
            );
        let file: Value = self
            .http
            .post(format!("{}/files", self.stack.api_url()))
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("file JSON");
        let file = file["id"].as_str().expect("file id").to_owned();
        let (status, attached) = self
            .post(
                &format!("/vector_stores/{store}/files"),
                json!({"file_id": file}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{attached}");
        assert_eq!(attached["status"], "completed", "{attached}");
        store
    }
}

pub fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The text of a response's messages (no version sends `output_text`).
pub fn output_text(response: &Value) -> String {
    items(response, "message")
        .iter()
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_owned))
        .collect()
}

/// The output items of `kind`.
pub fn items(response: &Value, kind: &str) -> Vec<Value> {
    response["output"]
        .as_array()
        .map(|output| {
            output
                .iter()
                .filter(|item| item["type"] == kind)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The last chat completion request the stub got whose messages mention
/// `marker`.
pub fn seen_by_the_model(api: &Api, marker: &str) -> Value {
    api.stack
        .stub()
        .chat_requests()
        .into_iter()
        .rev()
        .find(|request| request["messages"].to_string().contains(marker))
        .unwrap_or_else(|| panic!("the model saw no request mentioning {marker}"))
}

/// A message's text: a string, or the parts' texts (0.2.18 sends parts).
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect(),
        _ => String::new(),
    }
}

/// One HTTP/1.1 response with a `Content-Length` body: its status line and
/// body, or what went wrong (the connection closed or reset).
pub fn read_response(socket: &mut std::net::TcpStream) -> Result<(String, String), String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                let status = head.lines().next().unwrap_or_default().to_owned();
                return Ok((status, text[end + 4..end + 4 + length].to_owned()));
            }
        }
        match socket.read(&mut buffer) {
            Ok(0) => return Err("connection closed".to_owned()),
            Ok(n) if received.len() + n <= 1 << 20 => received.extend_from_slice(&buffer[..n]),
            Ok(_) => return Err("answer over 1 MiB".to_owned()),
            Err(error) => return Err(error.kind().to_string()),
        }
    }
}
