//! The interactive chat of `self-service-agent chat` (for `kubectl exec`):
//! each line is a message, its answer printed as it streams; `reset`
//! starts a new session, `quit` or `exit` ends. Errors are shown and the
//! chat goes on.

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::RequestApiClient;

/// How a chat ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatOutcome {
    Quit,
    EndOfInput,
}

/// Runs the chat on `input` and `output` until `quit` or end of input.
pub async fn chat_loop(
    client: &RequestApiClient,
    integration_type: &str,
    input: impl AsyncBufRead + Unpin,
    mut output: impl Write,
) -> std::io::Result<ChatOutcome> {
    writeln!(
        output,
        "Chat with the self-service agent at {} as {}. Type 'reset' for a new session, 'quit' to leave.",
        client.base_url(),
        client.user_id()
    )?;
    let mut session_id: Option<String> = None;
    let mut lines = input.lines();
    loop {
        write!(output, "> ")?;
        output.flush()?;
        let Some(line) = lines.next_line().await? else {
            writeln!(output)?;
            return Ok(ChatOutcome::EndOfInput);
        };
        let message = line.trim();
        match message.to_ascii_lowercase().as_str() {
            "" => continue,
            "quit" | "exit" => {
                writeln!(output, "bye!")?;
                return Ok(ChatOutcome::Quit);
            }
            "reset" => match session_id.take() {
                None => writeln!(output, "No session yet; the next message starts one.")?,
                Some(id) => match client.reset_session(&id).await {
                    Ok(()) => {
                        writeln!(output, "Session reset; the next message starts a new one.")?
                    }
                    Err(error) => {
                        session_id = Some(id);
                        writeln!(output, "error: {error}")?;
                    }
                },
            },
            _ => {
                // The answer is printed as it streams ("agent: " before its
                // first piece).
                let mut streamed = false;
                let mut failed = None;
                let answer = client
                    .send_streaming(message, integration_type, |text| {
                        let prefix = if streamed { "" } else { "agent: " };
                        streamed = true;
                        if let Err(error) =
                            write!(output, "{prefix}{text}").and_then(|()| output.flush())
                        {
                            failed.get_or_insert(error);
                        }
                    })
                    .await;
                if let Some(error) = failed {
                    return Err(error);
                }
                match answer {
                    Ok(answer) => {
                        session_id = Some(answer.session_id);
                        if streamed {
                            writeln!(output)?;
                        } else {
                            writeln!(output, "agent: {}", answer.response.content)?;
                        }
                    }
                    Err(error) if streamed => writeln!(output, "\nerror: {error}")?,
                    Err(error) => writeln!(output, "error: {error}")?,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const PAUSE: Duration = Duration::from_millis(300);

    /// What the chat wrote, each write with when it came.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<(Instant, String)>>>);

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let text = String::from_utf8_lossy(bytes).into_owned();
            self.0.lock().unwrap().push((Instant::now(), text));
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A server answering one request with a stream: "Hel", a pause, "lo",
    /// then the whole answer.
    async fn streaming_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 64 * 1024];
            let _ = socket.read(&mut request).await.unwrap();
            let event = |name: &str, data: &str| format!("event: {name}\ndata: {data}\n\n");
            let chunk = |text: String| format!("{:x}\r\n{text}\r\n", text.len());
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            socket.write_all(head.as_bytes()).await.unwrap();
            let first = chunk(event("delta", r#"{"text":"Hel"}"#));
            socket.write_all(first.as_bytes()).await.unwrap();
            tokio::time::sleep(PAUSE).await;
            let done = r#"{"request_id":"r","session_id":"s","status":"completed","response":{"content":"Hello","agent_id":"a","metadata":{},"processing_time_ms":1}}"#;
            let rest = chunk(event("delta", r#"{"text":"lo"}"#)) + &chunk(event("done", done));
            socket.write_all(rest.as_bytes()).await.unwrap();
            socket.write_all(b"0\r\n\r\n").await.unwrap();
        });
        url
    }

    #[tokio::test]
    async fn the_chat_prints_the_answer_as_it_streams() {
        let url = streaming_server().await;
        let client = RequestApiClient::new(&url, "alice", None, Duration::from_secs(10)).unwrap();
        let output = Recorded::default();

        let outcome = chat_loop(&client, "CLI", &b"hello\n"[..], output.clone())
            .await
            .unwrap();

        assert_eq!(outcome, ChatOutcome::EndOfInput);
        let writes = output.0.lock().unwrap().clone();
        let text: String = writes.iter().map(|(_, text)| text.as_str()).collect();
        assert!(text.contains("> agent: Hello\n"), "{text}");
        let at = |piece: &str| writes.iter().find(|(_, text)| text == piece).unwrap().0;
        assert!(
            at("lo") - at("Hel") >= PAUSE - Duration::from_millis(50),
            "the first piece was printed before the rest arrived: {writes:?}"
        );
    }
}
