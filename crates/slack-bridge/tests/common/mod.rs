//! What the Slack bridge's tests share: a recording inbox, the router
//! wired to a fake Slack, signed requests, and the official Python SDK's
//! signer (`tests/python/sign.py` in `target/venv/slack`).
#![allow(dead_code)]

#[allow(unused_imports)] // not every test binary uses them
pub use test_support::fake_slack::bodies;
pub mod inbox;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use secrecy::SecretString;
use serde_json::Value;
use slack_bridge::{SignatureVerifier, SlackBridge, SlackSettings, router};
use test_support::fake_slack::{BOT_TOKEN, FakeSlack, FakeUser};
use tower::ServiceExt as _;

pub use inbox::RecordingInbox;

pub const SIGNING_SECRET: &str = "e3b0c44298fc1c149afbf4c8996fb924-test-signing-secret";
pub const ALICE: &str = "UALICE0001";
pub const ALICE_EMAIL: &str = "alice.johnson@example.com";
pub const NO_EMAIL_USER: &str = "UNOMAIL001";
pub const GENERAL: &str = "CGENERAL01";
pub const ALICE_DM: &str = "DALICE0001";

/// Time enough for background work (a button's answer, a late reply).
pub const SETTLE: Duration = Duration::from_secs(5);

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The router over a fake Slack that knows Alice (with an email), a user
/// without one, `#general` and Alice's direct-message conversation.
pub struct Harness {
    pub fake: FakeSlack,
    pub inbox: RecordingInbox,
    pub bridge: SlackBridge,
    pub app: Router,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// With settings adjusted by `adjust`.
    pub fn with(adjust: impl FnOnce(&mut SlackSettings)) -> Self {
        let fake = FakeSlack::start().expect("fake Slack");
        fake.add_user(FakeUser::with_email(ALICE, "Alice.Johnson@Example.com "));
        fake.add_user(FakeUser::without_email(NO_EMAIL_USER));
        fake.add_channel(GENERAL);
        fake.add_channel(ALICE_DM);
        let mut settings = settings(&fake);
        adjust(&mut settings);
        let bridge = SlackBridge::new(&settings).expect("bridge");
        let inbox = RecordingInbox::default();
        let app = router(bridge.clone(), inbox.clone());
        Self {
            fake,
            inbox,
            bridge,
            app,
        }
    }

    /// Sends `request` through the router: the status and the JSON body
    /// (`Null` when empty).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        send(&self.app, request).await
    }
}

pub fn settings(fake: &FakeSlack) -> SlackSettings {
    SlackSettings::for_api(&fake.api_url(), BOT_TOKEN, SIGNING_SECRET).expect("settings")
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, json)
}

/// A POST to `path` as Slack sends it: signed now with the test secret.
pub fn signed(path: &str, content_type: &str, body: &str) -> Request<Body> {
    let timestamp = now().to_string();
    let signature = SignatureVerifier::new(&SecretString::from(SIGNING_SECRET))
        .sign(&timestamp, body.as_bytes());
    request(path, content_type, body, Some(&timestamp), Some(&signature))
}

pub fn request(
    path: &str,
    content_type: &str,
    body: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::post(path).header("content-type", content_type);
    if let Some(timestamp) = timestamp {
        builder = builder.header("x-slack-request-timestamp", timestamp);
    }
    if let Some(signature) = signature {
        builder = builder.header("x-slack-signature", signature);
    }
    builder
        .header("content-length", body.len())
        .body(Body::from(body.to_owned()))
        .expect("request")
}

pub fn signed_event(body: &str) -> Request<Body> {
    signed(slack_bridge::EVENTS_PATH, "application/json", body)
}

pub fn signed_form(path: &str, body: &str) -> Request<Body> {
    signed(path, "application/x-www-form-urlencoded", body)
}

/// Signatures of `(timestamp, body)` pairs made by the official Slack SDK
/// for Python (`SignatureVerifier(secret).generate_signature`), or `None`
/// after a visible skip when its venv is not provisioned.
pub fn slack_sdk_signatures(test: &str, items: &[(String, String)]) -> Option<Vec<String>> {
    let Some(python) = slack_python() else {
        test_support::skip_unless_required(
            test,
            "the Slack SDK for Python is not provisioned (target/venv/slack from ci/python/slack.txt; run cargo xtask provision)",
        );
        return None;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sign.py");
    let mut child = Command::new(python)
        .arg(script)
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the Slack SDK signer");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        for (timestamp, body) in items {
            let line = serde_json::json!({"timestamp": timestamp, "body": body});
            writeln!(stdin, "{line}").expect("writing to the signer");
        }
    }
    let output = child.wait_with_output().expect("the signer ends");
    assert!(
        output.status.success(),
        "the signer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signatures: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(signatures.len(), items.len(), "one signature per item");
    Some(signatures)
}

fn slack_python() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| test_support::workspace_root().join("target"));
    let python = target.join("venv/slack/bin/python");
    python.is_file().then_some(python)
}
