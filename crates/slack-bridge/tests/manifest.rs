//! `slack-app-manifest.json` (repository root) against the parts of
//! Slack's app manifest schema it uses: the structure follows the schema
//! types of Slack's own SDK (deno-slack-sdk `src/manifest/manifest_schema.ts`,
//! unknown keys refused here as Slack refuses them), and the values are
//! the ones the bridge relies on.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde::Deserialize;
use slack_bridge::{COMMANDS_PATH, EVENTS_PATH, INTERACTIVE_PATH};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Manifest {
    #[serde(rename = "_metadata")]
    metadata: Option<Metadata>,
    display_information: DisplayInformation,
    features: Features,
    oauth_config: OauthConfig,
    settings: Settings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Metadata {
    major_version: Option<u32>,
    minor_version: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DisplayInformation {
    name: String,
    description: Option<String>,
    background_color: Option<String>,
    long_description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Features {
    app_home: Option<serde_json::Value>,
    bot_user: BotUser,
    slash_commands: Vec<SlashCommand>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct BotUser {
    display_name: String,
    always_online: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SlashCommand {
    command: String,
    url: Option<String>,
    description: String,
    usage_hint: Option<String>,
    should_escape: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OauthConfig {
    scopes: Scopes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scopes {
    bot: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Settings {
    event_subscriptions: EventSubscriptions,
    interactivity: Interactivity,
    org_deploy_enabled: Option<bool>,
    socket_mode_enabled: Option<bool>,
    token_rotation_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSubscriptions {
    request_url: String,
    bot_events: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Interactivity {
    is_enabled: bool,
    request_url: String,
}

const PLACEHOLDER_HOST: &str = "https://slack.example.com";

fn manifest() -> Manifest {
    let path = test_support::workspace_root().join("slack-app-manifest.json");
    let text = std::fs::read_to_string(&path).expect("slack-app-manifest.json at the root");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_manifest_has_only_keys_of_slacks_schema() {
    manifest();
}

#[test]
fn the_bot_has_exactly_the_scopes_the_bridge_needs() {
    let scopes: BTreeSet<String> = manifest().oauth_config.scopes.bot.into_iter().collect();
    let needed: BTreeSet<String> = [
        "app_mentions:read",
        "chat:write",
        "im:history",
        "im:read",
        "im:write",
        "users:read",
        "users:read.email",
        "commands",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(scopes, needed);
}

#[test]
fn events_reach_the_events_route_for_mentions_and_direct_messages() {
    let events = manifest().settings.event_subscriptions;
    assert_eq!(
        events.request_url,
        format!("{PLACEHOLDER_HOST}{EVENTS_PATH}")
    );
    assert_eq!(events.bot_events, ["app_mention", "message.im"]);
}

#[test]
fn the_slash_command_is_it_help_on_the_commands_route() {
    let features = manifest().features;
    assert_eq!(features.slash_commands.len(), 1);
    let command = &features.slash_commands[0];
    assert_eq!(command.command, "/it-help");
    assert_eq!(
        command.url.as_deref(),
        Some(format!("{PLACEHOLDER_HOST}{COMMANDS_PATH}").as_str())
    );
    assert!(!command.description.is_empty());
    assert!(!features.bot_user.display_name.is_empty());
}

#[test]
fn interactivity_is_on_and_reaches_the_interactive_route() {
    let settings = manifest().settings;
    assert!(settings.interactivity.is_enabled);
    assert_eq!(
        settings.interactivity.request_url,
        format!("{PLACEHOLDER_HOST}{INTERACTIVE_PATH}")
    );
    assert_eq!(
        settings.socket_mode_enabled,
        Some(false),
        "requests come over HTTP"
    );
}

#[test]
fn the_display_name_is_not_empty() {
    assert!(!manifest().display_information.name.trim().is_empty());
}
