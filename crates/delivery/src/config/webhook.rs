//! WEBHOOK: where to send, how, and with which credentials.
//!
//! ```json
//! {"url": "https://hooks.example.com/ssa", "method": "POST",
//!  "headers": {"X-Team": "it"}, "auth": {"type": "bearer", "token": "…"},
//!  "signing_secret": "whsec_…", "verify_ssl": true, "timeout_seconds": 10}
//! ```

use std::fmt;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::{ConfigProblem, fields};
use crate::SigningSecret;

/// The longest `timeout_seconds` accepted: an attempt must end well within
/// the queue's lease on the delivery.
pub const MAX_TIMEOUT_SECONDS: f64 = 120.0;

/// Headers the channel sets itself; a config cannot replace them.
const RESERVED_HEADERS: [&str; 9] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "te",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMethod {
    Post,
    Put,
    Patch,
}

impl WebhookMethod {
    pub fn as_http(self) -> http::Method {
        match self {
            Self::Post => http::Method::POST,
            Self::Put => http::Method::PUT,
            Self::Patch => http::Method::PATCH,
        }
    }
}

/// Credentials sent with every request.
#[derive(Debug, Clone)]
pub enum WebhookAuth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: SecretString },
    /// `<header>: <key>`.
    ApiKey {
        header: HeaderName,
        key: SecretString,
    },
    /// `Authorization: Basic …`.
    Basic {
        username: String,
        password: SecretString,
    },
}

#[derive(Clone)]
pub struct WebhookConfig {
    pub url: Url,
    pub method: WebhookMethod,
    /// Extra headers; those that look secret are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub auth: Option<WebhookAuth>,
    /// Else the service's `WEBHOOK_SIGNING_SECRET`.
    pub signing_secret: Option<SigningSecret>,
    pub verify_ssl: bool,
    /// Else the service's `WEBHOOK_TIMEOUT`.
    pub timeout: Option<Duration>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &crate::secrets::origin(&self.url))
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("auth", &self.auth)
            .field("signing_secret", &self.signing_secret)
            .field("verify_ssl", &self.verify_ssl)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl WebhookConfig {
    pub(crate) fn from_json(config: &Value) -> Result<Self, ConfigProblem> {
        let object = fields::object(config, "config")?;
        let url = parse_url(fields::required_str(object, "url", "url")?)?;
        let method = match fields::optional_str(object, "method", "method")? {
            None => WebhookMethod::Post,
            Some(method) => match method.trim().to_ascii_uppercase().as_str() {
                "POST" => WebhookMethod::Post,
                "PUT" => WebhookMethod::Put,
                "PATCH" => WebhookMethod::Patch,
                _ => return Err(ConfigProblem::new("method", "must be POST, PUT or PATCH")),
            },
        };
        let headers = match object.get("headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(headers) => parse_headers(headers)?,
        };
        let auth = match object.get("auth") {
            None | Some(Value::Null) => None,
            Some(auth) => Some(parse_auth(auth)?),
        };
        let signing_secret = fields::optional_str(object, "signing_secret", "signing_secret")?
            .map(|secret| {
                SigningSecret::parse(secret)
                    .map_err(|problem| ConfigProblem::new("signing_secret", problem))
            })
            .transpose()?;
        let verify_ssl = fields::optional_bool(object, "verify_ssl")?.unwrap_or(true);
        let timeout = fields::optional_number(object, "timeout_seconds")?
            .map(|seconds| {
                if seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS {
                    Ok(Duration::from_secs_f64(seconds))
                } else {
                    Err(ConfigProblem::new(
                        "timeout_seconds",
                        format!("must be more than 0 and at most {MAX_TIMEOUT_SECONDS}"),
                    ))
                }
            })
            .transpose()?;
        Ok(Self {
            url,
            method,
            headers,
            auth,
            signing_secret,
            verify_ssl,
            timeout,
        })
    }

    /// Every secret value this config holds, for scrubbing peer answers
    /// and error texts ([`crate::secrets`]).
    pub(crate) fn secret_values(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .headers
            .iter()
            .filter(|(_, value)| value.is_sensitive())
            .filter_map(|(_, value)| value.to_str().ok().map(str::to_owned))
            .collect();
        match &self.auth {
            Some(WebhookAuth::Bearer { token }) => secrets.push(token.expose_secret().to_owned()),
            Some(WebhookAuth::ApiKey { key, .. }) => secrets.push(key.expose_secret().to_owned()),
            Some(WebhookAuth::Basic { password, .. }) => {
                secrets.push(password.expose_secret().to_owned());
            }
            None => {}
        }
        secrets.extend(crate::secrets::url_secrets(&self.url));
        secrets
    }
}

fn parse_url(text: &str) -> Result<Url, ConfigProblem> {
    // The parser's message never echoes the URL, which may hold a token.
    let url = Url::parse(text.trim())
        .map_err(|error| ConfigProblem::new("url", format!("not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigProblem::new("url", "must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigProblem::new("url", "must name a host"));
    }
    Ok(url)
}

fn parse_headers(headers: &Value) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigProblem> {
    let object = fields::object(headers, "headers")?;
    let mut parsed = Vec::with_capacity(object.len());
    for (name, value) in object {
        let field = format!("headers.{name}");
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigProblem::new(&field, "not a valid header name"))?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(ConfigProblem::new(
                &field,
                "set by the service, not by a config",
            ));
        }
        let Value::String(text) = value else {
            return Err(ConfigProblem::new(&field, "must be a string"));
        };
        let mut value = header_value(text, &field)?;
        value.set_sensitive(crate::secrets::is_secret_header(header.as_str()));
        parsed.push((header, value));
    }
    Ok(parsed)
}

fn header_value(text: &str, field: &str) -> Result<HeaderValue, ConfigProblem> {
    if text.contains(['\r', '\n']) {
        return Err(ConfigProblem::new(field, "must not contain CR or LF"));
    }
    HeaderValue::from_str(text)
        .map_err(|_| ConfigProblem::new(field, "must be visible ASCII, spaces or tabs"))
}

fn parse_auth(auth: &Value) -> Result<WebhookAuth, ConfigProblem> {
    let object = fields::object(auth, "auth")?;
    let secret = |key: &str| -> Result<SecretString, ConfigProblem> {
        let field = format!("auth.{key}");
        let value = fields::required_str(object, key, &field)?;
        header_value(value, &field)?;
        Ok(SecretString::from(value.to_owned()))
    };
    match fields::required_str(object, "type", "auth.type")? {
        "bearer" => Ok(WebhookAuth::Bearer {
            token: secret("token")?,
        }),
        "api_key" => {
            let name = fields::required_str(object, "header", "auth.header")?;
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigProblem::new("auth.header", "not a valid header name"))?;
            if RESERVED_HEADERS.contains(&header.as_str()) {
                return Err(ConfigProblem::new(
                    "auth.header",
                    "set by the service, not by a config",
                ));
            }
            Ok(WebhookAuth::ApiKey {
                header,
                key: secret("key")?,
            })
        }
        "basic" => {
            let username = fields::required_str(object, "username", "auth.username")?;
            if username.contains(':') || username.contains(['\r', '\n']) {
                return Err(ConfigProblem::new(
                    "auth.username",
                    "must not contain ':', CR or LF",
                ));
            }
            Ok(WebhookAuth::Basic {
                username: username.to_owned(),
                password: secret("password")?,
            })
        }
        _ => Err(ConfigProblem::new(
            "auth.type",
            "must be bearer, api_key or basic",
        )),
    }
}
