//! Which failures of `POST /responses` a caller must tell apart, read from
//! what each server says (`docs/llamastack.md`, "When a response fails").
//! The servers report them as an HTTP answer (non-streamed, or before the
//! stream starts) or as an error event in a stream answered 200:
//!
//! | failure | 0.2.18 | 0.7.3 | OGX 1.5.0 |
//! |---|---|---|---|
//! | unknown `previous_response_id` | 400 `Invalid value: Response with id X not found` | 404 `Response 'X' not found. …` | same as 0.7.3 |
//! | unknown model | 404 `Model 'x' not found. …` | same | same |
//! | MCP server unreachable | 500, generic | 502 `Failed to connect to MCP server at <url>…` | same as 0.7.3 |
//! | … in a stream | `{"error": {"message": "500: Internal server error…"}}` right after `response.mcp_list_tools.in_progress` | `{"error": {"message", "code": "500"}}`, same place | `{"type": "error", "code": "server_error", …}`, same place |

use super::request::{CreateResponse, redacted_url};

/// What went wrong with a response, as far as the caller acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsesFailure {
    /// An MCP server of the request could not be reached. `server_url` is
    /// the request's URL of that server (without credentials) when the
    /// server's answer tells which.
    McpUnreachable {
        server_url: Option<String>,
    },
    /// `previous_response_id` names no stored response (a new server, a
    /// wiped store), or one the server cannot continue: start a new chain.
    UnknownPreviousResponse,
    /// A vector store the request or call names does not exist.
    UnknownVectorStore,
    /// The model is not served (under that id).
    UnknownModel,
    Other,
}

/// What the stream told of MCP tool listing before it failed.
#[derive(Debug, Default, Clone)]
pub(crate) struct McpListing {
    /// `response.mcp_list_tools.in_progress` events seen.
    pub started: usize,
    /// `response.mcp_list_tools.completed`/`.failed` events seen.
    pub finished: usize,
    /// Labels of the `mcp_list_tools` items seen.
    pub listed: Vec<String>,
}

impl McpListing {
    /// The server was listing a server's tools when it failed.
    fn was_listing(&self) -> bool {
        self.started > self.finished
    }
}

/// Classifies a failure of `request`: an HTTP answer (`status`) or an
/// in-stream error (`status` `None`), with the server's `message` and, for
/// a stream, what it had told of MCP listing.
pub(crate) fn classify(
    request: &CreateResponse,
    status: Option<u16>,
    message: &str,
    listing: Option<&McpListing>,
) -> ResponsesFailure {
    let not_found = message.contains("not found") || message.contains("Not Found");
    if let Some(url) = message_mcp_url(message) {
        return ResponsesFailure::McpUnreachable {
            server_url: request_url_of(request, &url).or_else(|| redacted_url(&url)),
        };
    }
    if let Some(listing) = listing.filter(|listing| listing.was_listing()) {
        // The servers list MCP tools in request order; the one failing is the
        // first not listed in this stream.
        let failing = request
            .mcp_tools()
            .find(|(label, _)| !listing.listed.iter().any(|listed| listed == label));
        return ResponsesFailure::McpUnreachable {
            server_url: failing.and_then(|(_, url)| redacted_url(url)),
        };
    }
    let previous = request
        .previous_response_id
        .as_deref()
        .filter(|id| !id.is_empty());
    if not_found
        && (message.contains("Response with id ")
            || message.contains("Response '")
            || previous.is_some_and(|id| message.contains(id)))
    {
        return ResponsesFailure::UnknownPreviousResponse;
    }
    if not_found
        && (message.contains("Model '") || message.contains(&format!("'{}'", request.model)))
    {
        return ResponsesFailure::UnknownModel;
    }
    if not_found && names_a_vector_store(message) {
        return ResponsesFailure::UnknownVectorStore;
    }
    // 0.2.18 answers a request whose MCP server it cannot reach with a bare 500.
    if status == Some(500) && generic(message) && request.mcp_tools().next().is_some() {
        return ResponsesFailure::McpUnreachable { server_url: None };
    }
    ResponsesFailure::Other
}

/// A streamed `request` that failed with a generic error before its
/// response began (no `response.created`), while reading its input: with a
/// `previous_response_id`, the chain is one the server cannot continue
/// (LlamaStack 0.2.18 fails converting a chain that holds MCP items back
/// into messages), so it is begun anew as an unknown one would be.
pub(crate) fn unusable_chain(request: &CreateResponse, message: &str) -> ResponsesFailure {
    let chained = request
        .previous_response_id
        .as_deref()
        .is_some_and(|id| !id.is_empty());
    if chained && generic(message) {
        ResponsesFailure::UnknownPreviousResponse
    } else {
        ResponsesFailure::Other
    }
}

/// Classifies a failed call other than `POST /responses` from its answer.
pub(crate) fn classify_answer(status: u16, body: &str) -> ResponsesFailure {
    let not_found = body.contains("not found") || body.contains("Not Found");
    if !(400..500).contains(&status) || !not_found {
        return ResponsesFailure::Other;
    }
    if body.contains("Model '") {
        ResponsesFailure::UnknownModel
    } else if names_a_vector_store(body) {
        ResponsesFailure::UnknownVectorStore
    } else if body.contains("Response with id ") || body.contains("Response '") {
        ResponsesFailure::UnknownPreviousResponse
    } else {
        ResponsesFailure::Other
    }
}

fn names_a_vector_store(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    ["vector_db", "vector store", "vector_store", "vectorstore"]
        .iter()
        .any(|name| lower.contains(name))
}

fn generic(message: &str) -> bool {
    message.contains("Internal server error") || message.contains("An unexpected error")
}

/// The URL of `Failed to connect to MCP server at <url>: …` (0.7.3, OGX).
fn message_mcp_url(message: &str) -> Option<String> {
    const SAID: &str = "MCP server at ";
    let start = message.find(SAID)? + SAID.len();
    let rest = &message[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
        .unwrap_or(rest.len());
    let url = rest[..end].trim_end_matches([':', ',', '.', ';']);
    (!url.is_empty()).then(|| url.to_owned())
}

/// The request's URL of the MCP server `said` names, without credentials.
fn request_url_of(request: &CreateResponse, said: &str) -> Option<String> {
    let said = redacted_url(said)?;
    request
        .mcp_tools()
        .filter_map(|(_, url)| redacted_url(url))
        .find(|url| *url == said)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::request::{InputItem, Tool};
    use super::*;

    fn request_with_mcp() -> CreateResponse {
        let mut request = CreateResponse::new("vllm/stub-llm", vec![InputItem::user("hi")]);
        request.previous_response_id = Some("resp_123".into());
        request.tools = vec![
            Tool::mcp("info", "http://info:8000/mcp", BTreeMap::new()),
            Tool::mcp(
                "snow",
                "http://tok:secret@snow:8000/mcp?k=1",
                BTreeMap::new(),
            ),
        ];
        request
    }

    #[test]
    fn a_chained_request_failing_before_its_response_began_begins_the_chain_anew() {
        let chained = request_with_mcp();
        let generic = "500: Internal server error: An unexpected error occurred.";
        assert_eq!(
            unusable_chain(&chained, generic),
            ResponsesFailure::UnknownPreviousResponse
        );
        let mut fresh = chained.clone();
        fresh.previous_response_id = None;
        assert_eq!(unusable_chain(&fresh, generic), ResponsesFailure::Other);
        assert_eq!(
            unusable_chain(&chained, "400: input must not be empty"),
            ResponsesFailure::Other
        );
    }

    #[test]
    fn an_unknown_previous_response_is_recognised_on_every_server() {
        let request = request_with_mcp();
        for (status, message) in [
            (
                Some(400),
                "Invalid value: Response with id resp_123 not found",
            ),
            (
                None,
                "400: Invalid value: Response with id resp_123 not found",
            ),
            (
                Some(404),
                "Response 'resp_123' not found. Use 'client.responses.list()' to list available Responses.",
            ),
        ] {
            assert_eq!(
                classify(&request, status, message, None),
                ResponsesFailure::UnknownPreviousResponse,
                "{message}"
            );
        }
    }

    #[test]
    fn an_unknown_model_is_recognised() {
        let message =
            "Model 'stub-llm' not found. Use 'client.models.list()' to list available Models.";
        assert_eq!(
            classify(&request_with_mcp(), Some(404), message, None),
            ResponsesFailure::UnknownModel
        );
    }

    #[test]
    fn a_502_names_the_request_url_of_the_unreachable_server_without_credentials() {
        let message = "Failed to connect to MCP server at http://tok:secret@snow:8000/mcp?k=1: Connection refused";
        assert_eq!(
            classify(&request_with_mcp(), Some(502), message, None),
            ResponsesFailure::McpUnreachable {
                server_url: Some("http://snow:8000/mcp".into())
            }
        );
    }

    #[test]
    fn a_stream_failing_while_listing_names_the_first_unlisted_server() {
        let listing = McpListing {
            started: 2,
            finished: 1,
            listed: vec!["info".into()],
        };
        let message = "Internal server error: An unexpected error occurred.";
        assert_eq!(
            classify(&request_with_mcp(), None, message, Some(&listing)),
            ResponsesFailure::McpUnreachable {
                server_url: Some("http://snow:8000/mcp".into())
            }
        );
        let done = McpListing {
            started: 2,
            finished: 2,
            listed: vec!["info".into(), "snow".into()],
        };
        assert_eq!(
            classify(&request_with_mcp(), None, message, Some(&done)),
            ResponsesFailure::Other,
            "a failure after listing is not the MCP server's"
        );
    }

    #[test]
    fn a_bare_500_on_a_request_with_mcp_tools_is_an_unreachable_mcp_server() {
        let message = "Internal server error: An unexpected error occurred.";
        assert_eq!(
            classify(&request_with_mcp(), Some(500), message, None),
            ResponsesFailure::McpUnreachable { server_url: None }
        );
        let plain = CreateResponse::new("m", vec![InputItem::user("hi")]);
        assert_eq!(
            classify(&plain, Some(500), message, None),
            ResponsesFailure::Other
        );
    }

    #[test]
    fn vector_store_answers_are_recognised() {
        assert_eq!(
            classify_answer(
                400,
                "{\"detail\":\"Invalid value: Vector_db 'vs_x' not found\"}"
            ),
            ResponsesFailure::UnknownVectorStore
        );
        assert_eq!(
            classify_answer(404, "{\"detail\":\"Vector Store 'vs_x' not found.\"}"),
            ResponsesFailure::UnknownVectorStore
        );
        assert_eq!(classify_answer(500, "not found"), ResponsesFailure::Other);
    }
}
