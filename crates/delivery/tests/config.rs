//! Config validation: every refused config names its field.

use delivery::{IntegrationType, ValidConfig, validate};
use serde_json::{Value, json};

const URL: &str = "https://hooks.example.com/ssa";

fn problem(kind: IntegrationType, config: Value) -> String {
    match validate(kind, &config) {
        Ok(valid) => panic!("accepted {config}: {valid:?}"),
        Err(problem) => problem.to_string(),
    }
}

fn webhook(extra: Value) -> Value {
    let mut config = json!({ "url": URL });
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

#[test]
fn every_bad_email_config_names_its_field() {
    let cases = [
        (json!({}), "email_address: required"),
        (
            json!({"email_address": " "}),
            "email_address: must not be empty",
        ),
        (
            json!({"email_address": 7}),
            "email_address: must be a string",
        ),
        (
            json!({"email_address": "bob.example.com"}),
            "email_address: not an email address (user@domain)",
        ),
        (
            json!({"email_address": "Bob <bob@example.com>"}),
            "email_address: not an email address (user@domain)",
        ),
        (json!("bob@example.com"), "config: must be a JSON object"),
    ];
    for (config, expected) in cases {
        assert_eq!(
            problem(IntegrationType::Email, config.clone()),
            expected,
            "{config}"
        );
    }
}

#[test]
fn every_bad_webhook_config_names_its_field() {
    let cases = [
        (json!({}), "url: required"),
        (
            json!({"url": "ftp://files.example.com/x"}),
            "url: must be an http or https URL",
        ),
        (
            json!({"url": "hooks.example.com/x"}),
            "url: not a URL (relative URL without a base)",
        ),
        (
            webhook(json!({"method": "GET"})),
            "method: must be POST, PUT or PATCH",
        ),
        (
            webhook(json!({"headers": ["X-A"]})),
            "headers: must be a JSON object",
        ),
        (
            webhook(json!({"headers": {"X-A": 1}})),
            "headers.X-A: must be a string",
        ),
        (
            webhook(json!({"headers": {"X-A": "a\r\nX-B: c"}})),
            "headers.X-A: must not contain CR or LF",
        ),
        (
            webhook(json!({"headers": {"X A": "a"}})),
            "headers.X A: not a valid header name",
        ),
        (
            webhook(json!({"headers": {"Webhook-Signature": "v1,x"}})),
            "headers.Webhook-Signature: set by the service, not by a config",
        ),
        (
            webhook(json!({"auth": "token"})),
            "auth: must be a JSON object",
        ),
        (webhook(json!({"auth": {}})), "auth.type: required"),
        (
            webhook(json!({"auth": {"type": "oauth"}})),
            "auth.type: must be bearer, api_key or basic",
        ),
        (
            webhook(json!({"auth": {"type": "bearer"}})),
            "auth.token: required",
        ),
        (
            webhook(json!({"auth": {"type": "bearer", "token": "a\nb"}})),
            "auth.token: must not contain CR or LF",
        ),
        (
            webhook(json!({"auth": {"type": "api_key", "key": "k"}})),
            "auth.header: required",
        ),
        (
            webhook(json!({"auth": {"type": "api_key", "header": "X-Key"}})),
            "auth.key: required",
        ),
        (
            webhook(json!({"auth": {"type": "basic", "password": "p"}})),
            "auth.username: required",
        ),
        (
            webhook(json!({"auth": {"type": "basic", "username": "u"}})),
            "auth.password: required",
        ),
        (
            webhook(json!({"signing_secret": "topsecret"})),
            "signing_secret: must be whsec_ followed by the base64 of 24 to 64 bytes",
        ),
        (
            webhook(json!({"signing_secret": 5})),
            "signing_secret: must be a string",
        ),
        (
            webhook(json!({"verify_ssl": "no"})),
            "verify_ssl: must be true or false",
        ),
        (
            webhook(json!({"timeout_seconds": 0})),
            "timeout_seconds: must be more than 0 and at most 120",
        ),
        (
            webhook(json!({"timeout_seconds": "10"})),
            "timeout_seconds: must be a number",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(
            problem(IntegrationType::Webhook, config.clone()),
            expected,
            "{config}"
        );
    }
}

#[test]
fn a_complete_webhook_config_is_accepted() {
    let config = webhook(json!({
        "method": "PATCH",
        "headers": {"X-Team": "it", "Authorization": "Token abc"},
        "auth": {"type": "api_key", "header": "X-Api-Key", "key": "k-1"},
        "signing_secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "verify_ssl": false,
        "timeout_seconds": 2.5,
    }));
    let Ok(ValidConfig::Webhook(valid)) = validate(IntegrationType::Webhook, &config) else {
        panic!("refused");
    };
    assert_eq!(valid.method, delivery::WebhookMethod::Patch);
    assert_eq!(valid.headers.len(), 2);
    assert!(!valid.verify_ssl);
    assert_eq!(valid.timeout, Some(std::time::Duration::from_millis(2500)));
}

#[test]
fn fields_of_the_python_system_are_left_alone() {
    let config = json!({"email_address": "bob@example.com", "include_agent_info": true});
    assert!(validate(IntegrationType::Email, &config).is_ok());
}

#[test]
fn test_configs_may_be_anything() {
    for config in [json!(null), json!("x"), json!({"any": ["thing"]})] {
        assert!(validate(IntegrationType::Test, &config).is_ok(), "{config}");
    }
}

#[test]
fn a_refused_secret_is_not_echoed() {
    let message = problem(
        IntegrationType::Webhook,
        webhook(json!({"signing_secret": "whsec_bm90LWxvbmctZW5vdWdo"})),
    );
    assert!(message.contains("found 15 bytes"), "{message}");
    assert!(!message.contains("bm90LWxvbmctZW5vdWdo"), "{message}");
}
