//! A TCP proxy on 127.0.0.1 in front of a server, on a thread of its own
//! (so it outlives the runtimes of the tests that use it):
//!
//! - it records the head of every HTTP/1.1 request that passes (method,
//!   path, headers), in the order they arrive: what an MCP server was sent;
//! - [`Proxy::restart_as`] is what a restart of the server looks like to a
//!   client: every open connection closes at once (mid-stream for a
//!   streamed answer), and the next connections reach another server.

#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What one connection may hold of a request not yet complete: the
/// requests of the tests are small; anything larger is not recorded.
const MAX_PENDING: usize = 8 * 1024 * 1024;

/// The head of a request that passed the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    /// Names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// Every value of header `name` (any case).
    pub fn values(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(header, _)| *header == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

struct Shared {
    target: Mutex<SocketAddr>,
    /// Bumped by a restart: every connection of an earlier generation closes.
    generation: tokio::sync::watch::Sender<u64>,
    requests: Mutex<Vec<RequestHead>>,
}

pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Proxy {
    /// A proxy to `target` (`127.0.0.1:<port>`).
    pub fn start(target: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            generation: tokio::sync::watch::channel(0).0,
            requests: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        let serving = shared.clone();
        std::thread::Builder::new()
            .name(format!("proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("the proxy's listener");
                    tokio::select! {
                        _ = accept(listener, serving) => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("the proxy's thread");
        Self {
            addr,
            shared,
            stop: Some(stop),
        }
    }

    /// A proxy to the server at `url` (`http://127.0.0.1:<port>[/...]`).
    pub fn to_url(url: &str) -> Self {
        Self::start(address_of(url))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every open connection, as a server that stops does, and sends
    /// the next ones to the server at `url`.
    pub fn restart_as(&self, url: &str) {
        *self
            .shared
            .target
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = address_of(url);
        self.shared
            .generation
            .send_modify(|generation| *generation += 1);
    }

    /// The requests that passed so far, oldest first.
    pub fn requests(&self) -> Vec<RequestHead> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests passed so far (for [`requests`](Self::requests)
    /// of one step: `requests()[before..]`).
    pub fn request_count(&self) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `127.0.0.1:<port>` of `http://127.0.0.1:<port>[/...]`.
fn address_of(url: &str) -> SocketAddr {
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("not an http URL: {url}"));
    authority
        .parse()
        .unwrap_or_else(|_| panic!("not 127.0.0.1:<port>: {url}"))
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(relay(client, shared.clone()));
    }
}

/// Carries one connection both ways until either side closes it or a
/// restart ends it.
async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let mut generation = shared.generation.subscribe();
    generation.mark_unchanged();
    let target = *shared.target.lock().unwrap_or_else(PoisonError::into_inner);
    let Ok(server) = TcpStream::connect(target).await else {
        // refused: the client's connection closes too
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let upstream = async {
        let mut pending = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            if pending.len() + read <= MAX_PENDING {
                pending.extend_from_slice(&buffer[..read]);
                record_complete(&mut pending, &shared.requests);
            } else {
                pending.clear();
            }
            if to_server.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        let _ = to_server.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::select! {
        _ = async { tokio::join!(upstream, downstream) } => {}
        _ = generation.changed() => {}
    }
}

/// Moves every complete request at the start of `pending` into `requests`.
fn record_complete(pending: &mut Vec<u8>, requests: &Mutex<Vec<RequestHead>>) {
    while let Some((head, length)) = parse_request(pending) {
        requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(head);
        pending.drain(..length);
    }
}

/// The request at the start of `bytes` and its length (head and body),
/// once all of it is there.
fn parse_request(bytes: &[u8]) -> Option<(RequestHead, usize)> {
    let head_end = find(bytes, b"\r\n\r\n")?;
    let text = String::from_utf8_lossy(&bytes[..head_end]);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let head = RequestHead {
        method,
        path,
        headers,
    };
    let body_start = head_end + 4;
    let chunked = head
        .values("transfer-encoding")
        .iter()
        .any(|value| value.eq_ignore_ascii_case("chunked"));
    let body_length = if chunked {
        chunked_length(&bytes[body_start..])?
    } else {
        head.values("content-length")
            .first()
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let length = body_start + body_length;
    (bytes.len() >= length).then_some((head, length))
}

/// The length of a chunked body at the start of `bytes` (its last chunk
/// and trailer included), once all of it is there.
fn chunked_length(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + find(&bytes[at..], b"\r\n")?;
        let size_text = String::from_utf8_lossy(&bytes[at..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // the trailer: header lines up to an empty one
            loop {
                let end = at + find(&bytes[at..], b"\r\n")?;
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Some(at);
                }
            }
        }
        at += size + 2;
        if at > bytes.len() {
            return None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_whole_whatever_their_body() {
        let bytes = b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nAUTHORITATIVE_USER_ID: a@x\r\n\r\n{}\
            POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n\
            DELETE /mcp HTTP/1.1\r\n\r\nGET /mc";
        let mut pending = bytes.to_vec();
        let requests = Mutex::new(Vec::new());
        record_complete(&mut pending, &requests);
        let requests = requests.into_inner().unwrap();
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert_eq!(requests[0].values("authoritative_user_id"), ["a@x"]);
        assert_eq!(requests[1].method, "POST");
        assert_eq!(requests[2].method, "DELETE");
        assert_eq!(pending, b"GET /mc");
    }
}
