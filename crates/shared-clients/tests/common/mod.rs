//! What the client tests share: clients pointed at a mock, the recorded
//! wire of the real servers (`tests/data/`), and a raw TCP peer for what a
//! mock cannot do (reset a kept-alive connection, stall a stream).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared_clients::llamastack::{ApiBase, LlamaStackClient, LlamaStackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::{MockServer, ResponseTemplate};

/// A client of `url` with quick retries and a 5 s timeout.
pub fn client_of(url: &str) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(url)
        .expect("test URL")
        .with_retries(3, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(5));
    LlamaStackClient::new(config).expect("client")
}

/// A client of the mock with the API base given (no discovery requests).
pub fn client_for(server: &MockServer, base: ApiBase) -> LlamaStackClient {
    let config = LlamaStackConfig::for_url(&server.uri())
        .expect("mock URL")
        .with_retries(3, Duration::from_millis(5))
        .with_timeout(Duration::from_secs(5))
        .with_api_base(base);
    LlamaStackClient::new(config).expect("client")
}

/// A recorded file of `tests/data/`.
pub fn recorded(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A `text/event-stream` answer with `body`.
pub fn sse_answer(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream; charset=utf-8")
        .set_body_string(body.into())
}

/// `data: {json}` events, each followed by a blank line.
pub fn sse_of(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect()
}

/// What a [`RawPeer`] does with one request on a connection.
#[derive(Clone)]
pub enum Step {
    /// Answer with these bytes (a whole HTTP/1.1 answer) and keep the
    /// connection open.
    Answer(Vec<u8>),
    /// Read the request, then reset the connection (RST) unanswered.
    Reset,
    /// Answer with these bytes and then neither send nor close.
    Stall(Vec<u8>),
}

/// A TCP peer speaking just enough HTTP/1.1: each accepted connection
/// plays the next script of steps, one per request.
pub struct RawPeer {
    pub url: String,
    /// Requests received, per connection: (connection index, request head).
    pub received: Arc<Mutex<Vec<(usize, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawPeer {
    pub async fn start(scripts: Vec<Vec<Step>>) -> Self {
        Self::bind(0, scripts).await
    }

    /// A peer on this port of 127.0.0.1 (0: any free one).
    pub async fn bind(port: u16, scripts: Vec<Vec<Step>>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut connections = Vec::new();
            for (index, script) in scripts.into_iter().enumerate() {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = Arc::clone(&log);
                connections.push(tokio::spawn(play(index, stream, script, log)));
            }
            // Further connections are held open unanswered.
            let mut idle = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                idle.push(stream);
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    pub fn requests(&self) -> Vec<(usize, String)> {
        self.received.lock().expect("log").clone()
    }
}

async fn play(
    index: usize,
    mut stream: TcpStream,
    script: Vec<Step>,
    log: Arc<Mutex<Vec<(usize, String)>>>,
) {
    for step in script {
        let Some(head) = read_request(&mut stream).await else {
            return;
        };
        log.lock().expect("log").push((index, head));
        match step {
            Step::Answer(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::Reset => {
                // Closing with linger 0 sends RST instead of FIN.
                let _ = stream.set_zero_linger();
                drop(stream);
                return;
            }
            Step::Stall(bytes) => {
                let _ = stream.write_all(&bytes).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        }
    }
    // Read until the client closes.
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// Reads one request (head and a `content-length` body); its head.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
    }
    Some(head)
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A whole HTTP/1.1 answer with a JSON body.
pub fn json_answer(status: u16, body: &serde_json::Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A whole HTTP/1.1 event-stream answer with `body`, closed after it.
pub fn stream_answer(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The head of an event-stream answer whose body never ends, and `body`.
pub fn open_stream(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{body}").into_bytes()
}
