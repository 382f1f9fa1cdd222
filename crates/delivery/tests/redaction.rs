//! No secret in what `redact` returns, nor in `Debug` output.

mod common;

use delivery::{IntegrationType, redact, validate};
use serde_json::{Value, json};

const SIGNING: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// Every secret of [`full_config`].
const SECRETS: [&str; 6] = [
    SIGNING,
    "C2FVsBQIhrscChlQIMV",
    "tok-51c7e7",
    "hdr-secret-77",
    "url-pass-93",
    "qtoken-12",
];

fn full_config() -> Value {
    json!({
        "url": "https://ssa:url-pass-93@hooks.example.com/in/it?token=qtoken-12&team=it",
        "headers": {"Authorization": "Token hdr-secret-77", "X-Team": "it-ops"},
        "auth": {"type": "bearer", "token": "tok-51c7e7"},
        "signing_secret": SIGNING,
        "verify_ssl": true,
    })
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn redacted_webhook_configs_hold_no_secret() {
    assert_no_secret(&redact(IntegrationType::Webhook, &full_config()).to_string());
}

#[test]
fn redaction_keeps_what_is_not_secret() {
    let shown = redact(IntegrationType::Webhook, &full_config());
    assert_eq!(shown["signing_secret"], "whsec_…b7oD");
    assert_eq!(shown["auth"], json!({"type": "bearer", "token": "***"}));
    assert_eq!(
        shown["headers"],
        json!({"Authorization": "***", "X-Team": "it-ops"})
    );
    assert_eq!(
        shown["url"],
        "https://ssa:***@hooks.example.com/in/it?token=***&team=***"
    );
    assert_eq!(shown["verify_ssl"], true);
}

#[test]
fn secret_looking_fields_of_other_types_are_masked() {
    let slack = json!({"bot_token": "xoxb-1-2-abc", "channel": "#it", "extra": "xoxp-9"});
    let shown = redact(IntegrationType::Slack, &slack);
    assert_eq!(
        shown,
        json!({"bot_token": "***", "channel": "#it", "extra": "***"})
    );
}

#[test]
fn valid_configs_debug_print_no_secret() {
    let valid = validate(IntegrationType::Webhook, &full_config()).unwrap();
    assert_no_secret(&format!("{valid:?}"));
}

#[test]
fn deliveries_debug_print_no_secret() {
    let attempt = common::Attempt::new(IntegrationType::Webhook, full_config());
    let printed = format!("{:?}", attempt.delivery());
    assert_no_secret(&printed);
    assert!(printed.contains("4242"), "{printed}");
}
