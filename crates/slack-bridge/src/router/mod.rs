//! The three routes Slack posts to. Each request is read up to
//! `SLACK_MAX_BODY_BYTES` (a larger declared length is refused before the
//! body is read) and checked against its signature before anything else;
//! only then is its body parsed and the inbox called.

mod commands;
mod error;
mod events;
mod interactive;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, header};
use tokio::task::JoinHandle;

use crate::client::{SlackClient, SlackError};
use crate::identity::UserDirectory;
use crate::inbox::SlackInbox;
use crate::settings::SlackSettings;
use crate::verify::SignatureVerifier;
use crate::{COMMANDS_PATH, EVENTS_PATH, INTERACTIVE_PATH};

pub(crate) use error::BridgeError;

/// What the routes share: the verifier, the Web API client, the user
/// directory and the settings they use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SlackBridge {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    verifier: SignatureVerifier,
    client: SlackClient,
    directory: UserDirectory,
    command: String,
    max_body_bytes: usize,
    ack_timeout: Duration,
    /// Event ids being handled by this process right now.
    in_flight: Mutex<HashSet<String>>,
}

impl SlackBridge {
    pub fn new(settings: &SlackSettings) -> Result<Self, SlackError> {
        let client = SlackClient::new(settings)?;
        Ok(Self {
            inner: Arc::new(Shared {
                verifier: SignatureVerifier::new(&settings.signing_secret),
                directory: UserDirectory::new(client.clone(), settings.user_cache_ttl),
                client,
                command: settings.command.clone(),
                max_body_bytes: settings.max_body_bytes,
                ack_timeout: settings.ack_timeout,
                in_flight: Mutex::default(),
            }),
        })
    }

    /// The Web API client (the dispatcher delivers answers with it).
    pub fn client(&self) -> &SlackClient {
        &self.inner.client
    }

    pub fn directory(&self) -> &UserDirectory {
        &self.inner.directory
    }

    /// Marks `event_id` as being handled here; `None` when it already is.
    fn claim(&self, event_id: &str) -> Option<InFlight> {
        let mut in_flight = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        in_flight.insert(event_id.to_owned()).then(|| InFlight {
            bridge: self.clone(),
            event_id: event_id.to_owned(),
        })
    }

    /// The raw body of `request`, once its signature checked out.
    async fn verified_body(&self, request: Request) -> Result<(HeaderMap, Bytes), BridgeError> {
        let limit = self.inner.max_body_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(BridgeError::TooLarge(limit));
        }
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| BridgeError::TooLarge(limit))?;
        self.inner
            .verifier
            .verify(&parts.headers, &bytes)
            .map_err(BridgeError::Unauthorized)?;
        Ok((parts.headers, bytes))
    }
}

/// Removes its event id from the in-flight set when the work ends.
struct InFlight {
    bridge: SlackBridge,
    event_id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.bridge
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.event_id);
    }
}

/// The router's state: the bridge and the service's inbox.
#[derive(Clone)]
pub(crate) struct AppState<I> {
    bridge: SlackBridge,
    inbox: I,
}

/// `POST /slack/events`, `/slack/commands`, `/slack/interactive`, for
/// merging into the service's router.
pub fn router<I: SlackInbox>(bridge: SlackBridge, inbox: I) -> Router {
    Router::new()
        .route(
            EVENTS_PATH,
            post(events::handle::<I>).fallback(method_not_allowed),
        )
        .route(
            COMMANDS_PATH,
            post(commands::handle::<I>).fallback(method_not_allowed),
        )
        .route(
            INTERACTIVE_PATH,
            post(interactive::handle::<I>).fallback(method_not_allowed),
        )
        .with_state(AppState { bridge, inbox })
}

async fn method_not_allowed() -> Response {
    BridgeError::MethodNotAllowed.into_response()
}

/// The outcome of work given `deadline` to finish.
enum Waited<T> {
    Done(T),
    /// Still running; it goes on, and this handle gets its outcome.
    Late(JoinHandle<T>),
    /// The work panicked (logged by tokio's hook); treated as a failure.
    Failed,
}

async fn wait_for<T>(deadline: Duration, mut work: JoinHandle<T>) -> Waited<T> {
    match tokio::time::timeout(deadline, &mut work).await {
        Ok(Ok(outcome)) => Waited::Done(outcome),
        Ok(Err(_)) => Waited::Failed,
        Err(_) => Waited::Late(work),
    }
}

/// The media type of a request, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn require_media_type(headers: &HeaderMap, expected: &'static str) -> Result<(), BridgeError> {
    if media_type(headers) == expected {
        Ok(())
    } else {
        Err(BridgeError::UnsupportedMediaType(expected))
    }
}
