//! The interactive chat of `self-service-agent chat` (for `kubectl exec`):
//! each line is a message; `reset` starts a new session, `quit` or `exit`
//! ends. Errors are shown and the chat goes on.

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
            _ => match client.send(message, integration_type).await {
                Ok(answer) => {
                    session_id = Some(answer.session_id);
                    writeln!(output, "agent: {}", answer.response.content)?;
                }
                Err(error) => writeln!(output, "error: {error}")?,
            },
        }
    }
}
