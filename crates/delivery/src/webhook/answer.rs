//! What a webhook's answer (or the lack of one) means for the queue.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::DeliveryError;

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How much of an error answer's body is kept, in characters.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// A non-2xx answer as a failure: 410 and other 4xx permanent (408
/// temporary: the peer timed out reading), 429 and 5xx temporary with
/// the `Retry-After` honoured, 3xx permanent (redirects are not followed).
/// `body` is already scrubbed of the config's secrets.
pub(crate) fn failure(status: StatusCode, headers: &HeaderMap, body: &str) -> DeliveryError {
    let code = status.as_u16();
    let excerpt = crate::secrets::excerpt(body.trim(), BODY_EXCERPT_CHARS);
    let mut details = json!({ "status": code });
    if !excerpt.is_empty() {
        details["body"] = excerpt.clone().into();
    }
    let described = describe(status);
    if status.is_redirection() {
        if let Some(location) = headers
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| url::Url::parse(location).ok())
        {
            details["location_origin"] = crate::secrets::origin(&location).into();
        }
        return DeliveryError::permanent(
            format!("{described}: redirects are not followed; configure the final URL"),
            details,
        );
    }
    let with_body = |what: String| {
        if excerpt.is_empty() {
            what
        } else {
            format!("{what}: {excerpt}")
        }
    };
    match code {
        410 => DeliveryError::permanent(format!("{described}: the endpoint is gone"), details),
        408 | 429 | 500..=599 => {
            let wait = retry_after(headers, SystemTime::now());
            if let Some(wait) = wait {
                details["retry_after_seconds"] = wait.as_secs().into();
            }
            DeliveryError::temporary(with_body(described), details).retry_after(wait)
        }
        _ => DeliveryError::permanent(with_body(described), details),
    }
}

fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), capped at
/// [`MAX_RETRY_AFTER`]; a date in the past means "now" (zero).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, retry_after.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_in_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let wait = retry_after(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now);
        assert_eq!(wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_in_the_past_is_zero_and_garbage_is_none() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let past = retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now);
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
    }

    #[test]
    fn retry_after_is_capped_at_a_day() {
        let wait = retry_after(&headers("999999999"), SystemTime::now());
        assert_eq!(wait, Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn a_redirect_is_permanent_and_shows_only_the_target_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LOCATION,
            "https://other.example.com/x?token=t0ps3cret"
                .parse()
                .unwrap(),
        );
        let error = failure(StatusCode::FOUND, &headers, "");
        assert!(error.is_permanent());
        assert_eq!(
            error.details()["location_origin"],
            "https://other.example.com"
        );
        assert!(!error.details().to_string().contains("t0ps3cret"));
    }

    #[test]
    fn a_long_body_is_cut_to_200_characters() {
        let body = "x".repeat(500);
        let error = failure(StatusCode::BAD_REQUEST, &HeaderMap::new(), &body);
        let kept = error.details()["body"].as_str().unwrap();
        assert_eq!(kept.chars().count(), BODY_EXCERPT_CHARS + 1, "{kept}");
        assert!(error.reason().starts_with("HTTP 400 Bad Request: xxx"));
    }
}
