//! Slack for the agent service: employees write to the agent in Slack (a
//! mention, a direct message, the `/it-help` command, two buttons) and are
//! answered there. The contract with Slack is written down in
//! `docs/slack.md`.
//!
//! - [`router`] serves `POST /slack/events`, `/slack/commands` and
//!   `/slack/interactive`. Every request is checked against Slack's v0
//!   signature before anything else ([`SignatureVerifier`]); the Slack user
//!   is resolved to the person (`users.info`, the profile's email,
//!   [`UserDirectory`]); what the employee wrote is handed to a
//!   [`SlackInbox`], which the service implements over its request queue.
//! - [`SlackClient`] calls the Web API (`chat.postMessage`,
//!   `conversations.open`, `users.info`, a `response_url`), with Slack's
//!   errors classified for a dispatcher ([`SlackError`]).
//! - [`answer_message`] lays an agent's answer out as Block Kit within
//!   Slack's limits, Markdown turned into Slack's mrkdwn.
//! - [`SlackSettings`] reads `SLACK_*` from the environment; Slack is
//!   optional, so "not configured" is `Ok(None)`.
//!
//! # Why no Slack SDK crate
//!
//! `slack-morphism` (2.31) was weighed. Its Web API client exists only over
//! its own hyper stack (`hyper-rustls`, with `tokio-tungstenite` for Socket
//! Mode): a second HTTP client beside the workspace's reqwest. Without that
//! feature what remains is its signature verifier, which is a few lines
//! over `hmac`, `sha2` and `subtle` (the same three crates this one uses;
//! `sha2` and `subtle` are already in the image, `hmac` already in the
//! build through sqlx), and its models, which come with dependencies the
//! image does not otherwise have (`serde_with` and `darling`, `jiff` beside
//! chrono, `rvstruct`, `rsb_derive`, `futures-locks`, `async-recursion`, a
//! second `base64`). The handful of payloads the bridge reads are typed
//! here (`src/wire/`), each tolerant of fields Slack adds.

mod blocks;
mod client;
mod identity;
mod inbox;
mod mrkdwn;
mod replies;
mod router;
mod settings;
mod verify;
mod wire;

pub use blocks::{
    ACTIONS_BLOCK_ID, Answer, Block, Button, FALLBACK_TEXT_LIMIT, MESSAGE_BLOCK_LIMIT,
    NEW_SESSION_ACTION, OutgoingMessage, SECTION_TEXT_LIMIT, TextObject, VIEW_SESSION_ACTION,
    answer_message, slack_len, split_sections,
};
pub use client::{Delivered, PostMessage, Posted, Profile, SlackClient, SlackError, UserProfile};
pub use identity::{Lookup, UserDirectory};
pub use inbox::{
    Destination, Identity, InboxError, Origin, ResponseUrl, SessionSummary, SlackInbox,
    SlackMessage, SlackRetry, Submitted,
};
pub use mrkdwn::{escape, to_mrkdwn};
pub use router::{SlackBridge, router};
pub use settings::SlackSettings;
pub use verify::{
    MAX_CLOCK_SKEW_SECONDS, SIGNATURE_HEADER, SignatureVerifier, TIMESTAMP_HEADER, VerifyError,
};

/// The paths the router serves.
pub const EVENTS_PATH: &str = "/slack/events";
pub const COMMANDS_PATH: &str = "/slack/commands";
pub const INTERACTIVE_PATH: &str = "/slack/interactive";
