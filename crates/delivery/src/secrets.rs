//! What counts as a secret, and keeping secrets out of texts that leave
//! the crate (reasons, details, log lines).

use url::Url;

/// Field and header names whose values are secrets (lower case; matched
/// as parts of the name).
const SECRET_WORDS: [&str; 10] = [
    "authorization",
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "cookie",
    "signature",
    "credential",
    "session",
];

/// A header whose value must never be shown: `Authorization`,
/// `X-Api-Key`, `Cookie`, `X-Auth-Token`, …
pub(crate) fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "proxy-authorization"
        || name.contains("auth")
        || SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// A config field whose value must never be shown (`token`, `api_key`,
/// `client_secret`, `password`, `bot_token`, …).
pub(crate) fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// `scheme://host[:port]`: all of a URL that logs and details may show
/// (a path can hold a token too, as in chat services' incoming webhooks).
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The parts of `url` that may be credentials: the password, the user
/// name, and every query value.
pub(crate) fn url_secrets(url: &Url) -> Vec<String> {
    let mut secrets: Vec<String> = url
        .query_pairs()
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if let Some(query) = url.query() {
        secrets.push(query.to_owned());
    }
    if let Some(password) = url.password() {
        secrets.push(password.to_owned());
    }
    if !url.username().is_empty() {
        secrets.push(url.username().to_owned());
    }
    secrets
}

/// Replaces every occurrence of each secret in `text` with `***`, longest
/// first so that a secret containing another is removed whole. Empty and
/// one- or two-character values are not scrubbed (they would shred text).
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|secret| secret.len() > 2)
        .collect();
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret) {
            text = text.replace(secret, "***");
        }
    }
    text
}

/// The first `limit` characters of `text`, with `…` when cut.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_recognised_by_name() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "X-Auth-Token",
            "Cookie",
            "x-hub-signature",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        assert!(!is_secret_header("X-Team"));
    }

    #[test]
    fn scrub_removes_a_secret_containing_another_whole() {
        let secrets = ["abcd".to_owned(), "abcdefgh".to_owned()];
        assert_eq!(scrub("x abcdefgh y abcd", &secrets), "x *** y ***");
    }

    #[test]
    fn origin_drops_credentials_path_and_query() {
        let url = Url::parse("https://u:p@hooks.example.com:8443/T1/B2/xyz?token=t")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(origin(&url), "https://hooks.example.com:8443");
    }
}
