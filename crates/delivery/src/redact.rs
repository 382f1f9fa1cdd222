//! A config as it may be shown: in API answers and in logs.

use serde_json::{Map, Value};
use url::Url;

use crate::IntegrationType;

/// What replaces a secret value.
pub const MASK: &str = "***";

/// `config` with every secret replaced: `signing_secret` by
/// `whsec_…<last 4>`, tokens, passwords, keys and secret-looking fields by
/// `***`, header values under secret-looking names (`Authorization`,
/// `X-Api-Key`, …) by `***`, and in a `url` the password and every query
/// value by `***`. Strings that look like credentials wherever they are
/// (`whsec_…`, `Bearer …`, Slack's `xox…-` tokens) are masked too. The
/// rules are the same for every type, so a channel added later (SLACK) is
/// covered; `kind` is there for rules of one type.
pub fn redact(kind: IntegrationType, config: &Value) -> Value {
    let _ = kind;
    redact_value(None, config)
}

fn redact_value(key: Option<&str>, value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let headers = key.is_some_and(|key| key.eq_ignore_ascii_case("headers"));
            Value::Object(redact_object(object, headers))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(key, v)).collect()),
        Value::String(text) if looks_like_credential(text) => Value::from(MASK),
        other => other.clone(),
    }
}

fn redact_object(object: &Map<String, Value>, headers: bool) -> Map<String, Value> {
    object
        .iter()
        .map(|(key, value)| {
            let shown = if key == "signing_secret" {
                signing_secret_hint(value)
            } else if is_secret(headers, key) {
                masked(value)
            } else if key == "url" {
                match value {
                    Value::String(text) => Value::from(redact_url(text)),
                    other => redact_value(Some(key), other),
                }
            } else {
                redact_value(Some(key), value)
            };
            (key.clone(), shown)
        })
        .collect()
}

/// In a `headers` object the names are header names; elsewhere field names.
fn is_secret(headers: bool, key: &str) -> bool {
    if headers {
        crate::secrets::is_secret_header(key)
    } else {
        crate::secrets::is_secret_field(key)
    }
}

/// Secrets that are objects or arrays are masked whole; `null` stays
/// (it says "not set").
fn masked(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        _ => Value::from(MASK),
    }
}

/// `whsec_…a1b2`: enough to tell two secrets apart, not to use one.
fn signing_secret_hint(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) if text.len() >= 16 && text.is_ascii() => {
            Value::from(format!("whsec_…{}", &text[text.len() - 4..]))
        }
        _ => Value::from(MASK),
    }
}

fn looks_like_credential(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("whsec_")
        || lower.starts_with("bearer ")
        || lower.starts_with("basic ")
        || ["xoxb-", "xoxp-", "xoxa-", "xoxe-", "xapp-"]
            .iter()
            .any(|prefix| lower.starts_with(prefix))
}

/// The URL with its password and query values masked; text that does not
/// parse is masked whole (it may be anything).
fn redact_url(text: &str) -> String {
    let Ok(mut url) = Url::parse(text.trim()) else {
        return MASK.to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some(MASK));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, _)| (name.into_owned(), MASK.to_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}
