//! Who is calling. Behind a service mesh the caller's identity arrives in a
//! trusted header (`x-user-id`, the default, as existing clients send it);
//! without one, API keys (`Authorization: Bearer <key>`) name the user. A
//! key file line `* <key>` is a service key: it authenticates an
//! integration that acts for the user named in the identity header.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use app_support::ConfigError;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The longest user id the schema stores (`varchar(255)`).
const MAX_USER_ID_LEN: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Identity from the trusted header only.
    Header,
    /// A valid API key is required.
    ApiKey,
    /// An API key when one is sent, else the trusted header.
    HeaderOrApiKey,
    /// An authenticating proxy in front (OpenShift's oauth-proxy, say)
    /// names the user in [`PROXY_HEADERS`]; they are believed only from
    /// the peers of `TRUSTED_PROXIES`.
    Proxy,
}

/// The headers an authenticating proxy names the user in, in order of
/// preference.
pub const PROXY_HEADERS: [&str; 3] = ["x-forwarded-user", "x-remote-user", "x-forwarded-email"];

impl AuthMode {
    pub fn accepts_api_keys(self) -> bool {
        matches!(self, AuthMode::ApiKey | AuthMode::HeaderOrApiKey)
    }
}

impl FromStr for AuthMode {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "header" => Ok(AuthMode::Header),
            "api-key" => Ok(AuthMode::ApiKey),
            "header-or-api-key" => Ok(AuthMode::HeaderOrApiKey),
            "proxy" => Ok(AuthMode::Proxy),
            other => Err(format!(
                "unknown mode '{other}'; expected header, api-key, header-or-api-key or proxy"
            )),
        }
    }
}

/// An authenticated user id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

impl Identity {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A body may name its user (existing clients send `user_id`); it must
    /// be the caller.
    pub fn check_claimed(&self, claimed: Option<&str>) -> Result<(), ApiError> {
        match claimed {
            Some(user) if user != self.0 => Err(ApiError::Forbidden(
                "user_id in the body does not match the authenticated user".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.0)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone)]
enum KeyOwner {
    User(String),
    Service,
}

/// API keys, kept only as SHA-256 digests.
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_digest: HashMap<[u8; 32], KeyOwner>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} keys)", self.by_digest.len())
    }
}

/// What is wrong with a line of the API key file. Never quotes the line:
/// it holds a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("line {line}: expected '<user_id> <key>'")]
    Malformed { line: usize },
    #[error("line {line}: keys must be at least {MIN_KEY_LEN} characters")]
    ShortKey { line: usize },
    #[error("line {line}: the user id is longer than {MAX_USER_ID_LEN} characters")]
    LongUserId { line: usize },
    #[error("line {line}: the user id holds control characters")]
    ControlCharacters { line: usize },
    #[error("line {line}: the same key as line {first}; every key must name one user")]
    DuplicateKey { line: usize, first: usize },
    #[error("no keys")]
    Empty,
}

/// The shortest key accepted.
const MIN_KEY_LEN: usize = 16;

impl ApiKeys {
    /// Reads `<user_id> <key>` lines; blank lines and `#` comments are skipped.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new(format!(
                "API_KEYS_FILE: cannot read {}: {error}",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|problem| {
            ConfigError::new(format!("API_KEYS_FILE: {}: {problem}", path.display()))
        })
    }

    fn parse(text: &str) -> Result<Self, KeyFileError> {
        let mut by_digest = HashMap::new();
        let mut first_line = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(user), Some(key), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(KeyFileError::Malformed { line: number });
            };
            if key.chars().count() < MIN_KEY_LEN {
                return Err(KeyFileError::ShortKey { line: number });
            }
            if user.chars().count() > MAX_USER_ID_LEN {
                return Err(KeyFileError::LongUserId { line: number });
            }
            if user.chars().any(char::is_control) {
                return Err(KeyFileError::ControlCharacters { line: number });
            }
            let owner = match user {
                "*" => KeyOwner::Service,
                user => KeyOwner::User(user.to_owned()),
            };
            let digest = digest(key);
            if let Some(&first) = first_line.get(&digest) {
                return Err(KeyFileError::DuplicateKey {
                    line: number,
                    first,
                });
            }
            first_line.insert(digest, number);
            by_digest.insert(digest, owner);
        }
        if by_digest.is_empty() {
            return Err(KeyFileError::Empty);
        }
        Ok(Self { by_digest })
    }

    fn owner(&self, key: &str) -> Option<&KeyOwner> {
        self.by_digest.get(&digest(key))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Turns request headers into an [`Identity`] per the configured mode.
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AuthMode,
    header: Arc<str>,
    keys: Arc<ApiKeys>,
    /// The peers whose proxy headers are believed ([`AuthMode::Proxy`]).
    trusted_proxies: Arc<[IpAddr]>,
}

impl Authenticator {
    pub fn new(mode: AuthMode, header: &str, keys: ApiKeys) -> Self {
        Self {
            mode,
            header: header.into(),
            keys: Arc::new(keys),
            trusted_proxies: Arc::from(Vec::new()),
        }
    }

    /// Believes the proxy headers from `peers` only.
    pub fn with_trusted_proxies(mut self, peers: &[IpAddr]) -> Self {
        self.trusted_proxies = Arc::from(peers.to_vec());
        self
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// `Ok(None)`: no credentials at all. `Err`: credentials that are wrong.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Option<Identity>, ApiError> {
        self.identify_from(headers, None)
    }

    /// [`Self::identify`] for a request that came from `peer` (unknown:
    /// not a trusted proxy).
    pub fn identify_from(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Option<Identity>, ApiError> {
        if self.mode == AuthMode::Proxy {
            return self.proxy_identity(headers, peer);
        }
        let bearer = bearer_token(headers)?;
        match (self.mode, bearer) {
            (AuthMode::Header, _) | (AuthMode::HeaderOrApiKey, None) => {
                self.header_identity(headers)
            }
            (AuthMode::ApiKey, None) | (AuthMode::Proxy, _) => Ok(None),
            (AuthMode::ApiKey | AuthMode::HeaderOrApiKey, Some(key)) => {
                match self.keys.owner(key) {
                    Some(KeyOwner::User(user)) => Ok(Some(Identity(user.clone()))),
                    Some(KeyOwner::Service) => {
                        self.header_identity(headers)?.map(Some).ok_or_else(|| {
                            ApiError::Unauthorized(format!(
                                "a service key must name the user in the {} header",
                                self.header
                            ))
                        })
                    }
                    None => Err(ApiError::Unauthorized("invalid API key".into())),
                }
            }
        }
    }

    fn header_identity(&self, headers: &HeaderMap) -> Result<Option<Identity>, ApiError> {
        named_in(headers, self.header.as_ref())
    }

    /// The user an authenticating proxy names, believed only from a
    /// trusted peer; from any other, naming one is refused.
    fn proxy_identity(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Option<Identity>, ApiError> {
        let named = PROXY_HEADERS
            .iter()
            .any(|header| headers.contains_key(*header));
        if !named {
            return Ok(None);
        }
        let trusted = peer.is_some_and(|peer| {
            let peer = peer.to_canonical();
            self.trusted_proxies
                .iter()
                .any(|proxy| proxy.to_canonical() == peer)
        });
        if !trusted {
            return Err(ApiError::Unauthorized(
                "identity headers are believed only from the authenticating proxy (TRUSTED_PROXIES)"
                    .into(),
            ));
        }
        for header in PROXY_HEADERS {
            if let Some(identity) = named_in(headers, header)? {
                return Ok(Some(identity));
            }
        }
        Ok(None)
    }

    pub fn missing_identity_message(&self) -> String {
        match self.mode {
            AuthMode::Proxy => {
                "authentication required: sign in through the authenticating proxy".into()
            }
            AuthMode::Header => format!("authentication required: send the {} header", self.header),
            AuthMode::ApiKey => {
                "authentication required: send Authorization: Bearer <API key>".into()
            }
            AuthMode::HeaderOrApiKey => format!(
                "authentication required: send Authorization: Bearer <API key> or the {} header",
                self.header
            ),
        }
    }
}

/// The header's one value. Given twice (a proxy that appends instead of
/// replacing, say), which one to trust is unknowable: refused.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a axum::http::HeaderValue>, ApiError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (Some(_), Some(_)) => Err(ApiError::BadRequest(format!(
            "the {name} header must be given once, found it more than once"
        ))),
        (None, Some(_)) => Ok(None),
    }
}

/// The user named in `header`, if it is there.
fn named_in(headers: &HeaderMap, header: &str) -> Result<Option<Identity>, ApiError> {
    let Some(value) = single(headers, header)? else {
        return Ok(None);
    };
    let user = value
        .to_str()
        .map_err(|_| ApiError::BadRequest(format!("the {header} header must be text")))?
        .trim();
    if user.is_empty() {
        return Err(ApiError::Unauthorized(format!(
            "the {header} header is empty"
        )));
    }
    if user.chars().count() > MAX_USER_ID_LEN {
        return Err(ApiError::BadRequest(format!(
            "the {header} header is longer than {MAX_USER_ID_LEN} characters"
        )));
    }
    Ok(Some(Identity(user.to_owned())))
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = single(headers, AUTHORIZATION.as_str())? else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <API key>'".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const KEY: &str = "alice-key-0123456789";
    const SERVICE_KEY: &str = "slack-bot-key-0123456789";

    fn keys() -> ApiKeys {
        ApiKeys::parse(&format!("# users\nalice {KEY}\n* {SERVICE_KEY}\n")).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn header_mode_trusts_the_identity_header() {
        let auth = Authenticator::new(AuthMode::Header, "x-user-id", ApiKeys::default());
        let who = auth.identify(&headers(&[("x-user-id", "bob")])).unwrap();
        assert_eq!(who.unwrap().as_str(), "bob");
        assert!(auth.identify(&HeaderMap::new()).unwrap().is_none());
    }

    #[test]
    fn api_key_mode_names_the_key_owner_and_ignores_a_forged_header() {
        let auth = Authenticator::new(AuthMode::ApiKey, "x-user-id", keys());
        let auth_header = format!("Bearer {KEY}");
        let who = auth
            .identify(&headers(&[
                ("authorization", &auth_header),
                ("x-user-id", "mallory"),
            ]))
            .unwrap();
        assert_eq!(who.unwrap().as_str(), "alice");
        assert!(
            auth.identify(&headers(&[("x-user-id", "mallory")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_repeated_identity_or_authorization_header_is_refused() {
        let auth = Authenticator::new(AuthMode::HeaderOrApiKey, "x-user-id", keys());
        let mut twice = HeaderMap::new();
        twice.append("x-user-id", HeaderValue::from_static("alice"));
        twice.append("x-user-id", HeaderValue::from_static("bob"));
        let error = auth.identify(&twice).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains("x-user-id"), "{error}");

        let mut keys_twice = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {KEY}")).unwrap();
        keys_twice.append("authorization", bearer.clone());
        keys_twice.append("authorization", bearer);
        assert_eq!(auth.identify(&keys_twice).unwrap_err().status(), 400);
    }

    #[test]
    fn a_wrong_key_is_rejected_without_echoing_it() {
        let auth = Authenticator::new(AuthMode::ApiKey, "x-user-id", keys());
        let error = auth
            .identify(&headers(&[("authorization", "Bearer not-a-valid-key-123")]))
            .unwrap_err();
        assert_eq!(error.status(), 401);
        assert!(!error.to_string().contains("not-a-valid-key-123"));
    }

    #[test]
    fn a_service_key_acts_for_the_user_in_the_header() {
        let auth = Authenticator::new(AuthMode::HeaderOrApiKey, "x-user-id", keys());
        let auth_header = format!("Bearer {SERVICE_KEY}");
        let who = auth
            .identify(&headers(&[
                ("authorization", &auth_header),
                ("x-user-id", "carol"),
            ]))
            .unwrap();
        assert_eq!(who.unwrap().as_str(), "carol");
        assert!(
            auth.identify(&headers(&[("authorization", &auth_header)]))
                .is_err()
        );
    }

    #[test]
    fn a_key_file_line_without_a_key_is_reported_by_line_number_only() {
        let error = ApiKeys::parse("alice\n").unwrap_err();
        assert_eq!(error.to_string(), "line 1: expected '<user_id> <key>'");
    }

    #[test]
    fn a_user_id_the_schema_cannot_hold_is_refused_at_load() {
        let long = format!("{} {KEY}\n", "u".repeat(256));
        assert_eq!(
            ApiKeys::parse(&long).unwrap_err(),
            KeyFileError::LongUserId { line: 1 }
        );
        let accented = format!("{} {KEY}\n", "é".repeat(255));
        assert!(ApiKeys::parse(&accented).is_ok(), "255 characters fit");
        let nul = format!("al\u{0}ice {KEY}\n");
        assert_eq!(
            ApiKeys::parse(&nul).unwrap_err(),
            KeyFileError::ControlCharacters { line: 1 }
        );
    }

    #[test]
    fn one_key_given_to_two_users_is_refused_naming_both_lines() {
        let text = format!("alice {KEY}\n# bob\nbob {KEY}\n");
        let error = ApiKeys::parse(&text).unwrap_err();
        assert_eq!(error, KeyFileError::DuplicateKey { line: 3, first: 1 });
        assert!(!error.to_string().contains(KEY));
    }
}
