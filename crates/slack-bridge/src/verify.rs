//! Slack's v0 request signature: `X-Slack-Signature` is `v0=` and the hex
//! HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}` keyed with
//! the app's signing secret. A request signed more than five minutes from
//! now (either way) is refused, so a captured request cannot be replayed
//! later. The comparison is constant-time; neither the secret nor the
//! expected signature ever reaches an error or a log line.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use http::HeaderMap;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// How far the signed timestamp may be from this machine's clock.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 5 * 60;
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Why a request was not accepted as coming from Slack. The messages are
/// for the caller and the log; they hold no secret and no signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the X-Slack-Request-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Slack-Request-Timestamp header is not a Unix time in seconds")]
    MalformedTimestamp,
    #[error(
        "the request was signed {0} s ago, more than {MAX_CLOCK_SKEW_SECONDS} s: too old to be accepted"
    )]
    Stale(i64),
    #[error("the request is signed {0} s in the future, more than {MAX_CLOCK_SKEW_SECONDS} s")]
    Future(i64),
    #[error("the X-Slack-Signature header is missing")]
    MissingSignature,
    #[error("the X-Slack-Signature header is not v0= followed by 64 hex digits")]
    MalformedSignature,
    #[error("the X-Slack-Signature does not match the request body")]
    Mismatch,
}

/// Checks requests against the signing secret, held only as a keyed HMAC
/// state (cloned for each request).
#[derive(Clone)]
pub struct SignatureVerifier {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureVerifier(..)")
    }
}

impl SignatureVerifier {
    pub fn new(signing_secret: &SecretString) -> Self {
        let keyed = Hmac::<Sha256>::new_from_slice(signing_secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { keyed }
    }

    /// Checks the headers and raw body of a request against this
    /// machine's clock.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        self.verify_at(headers, body, unix_now())
    }

    /// [`verify`](Self::verify) at `now` (Unix seconds).
    pub fn verify_at(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let timestamp =
            header_text(headers, TIMESTAMP_HEADER).ok_or(VerifyError::MissingTimestamp)?;
        let signed_at = parse_timestamp(timestamp)?;
        let signature =
            header_text(headers, SIGNATURE_HEADER).ok_or(VerifyError::MissingSignature)?;
        let presented = parse_signature(signature)?;
        let age = now.saturating_sub(signed_at);
        if age > MAX_CLOCK_SKEW_SECONDS {
            return Err(VerifyError::Stale(age));
        }
        if -age > MAX_CLOCK_SKEW_SECONDS {
            return Err(VerifyError::Future(-age));
        }
        let expected = self.digest(timestamp, body);
        if bool::from(expected.ct_eq(&presented)) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }

    /// The `X-Slack-Signature` value Slack would send for `body` signed at
    /// `timestamp` (for the fake Slack, benchmarks and tests).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        format!("v0={}", hex::encode(self.digest(timestamp, body)))
    }

    fn digest(&self, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Digits only (no sign, no fraction), at most 12 of them.
fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    text.parse().map_err(|_| VerifyError::MalformedTimestamp)
}

fn parse_signature(text: &str) -> Result<[u8; 32], VerifyError> {
    let hex_digits = text
        .strip_prefix("v0=")
        .ok_or(VerifyError::MalformedSignature)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut digest).map_err(|_| VerifyError::MalformedSignature)?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    // The worked example of Slack's "Verifying requests from Slack" guide.
    const GUIDE_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const GUIDE_TIMESTAMP: &str = "1531420618";
    const GUIDE_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const GUIDE_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn guide_verifier() -> SignatureVerifier {
        SignatureVerifier::new(&SecretString::from(GUIDE_SECRET))
    }

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        headers
    }

    #[test]
    fn signing_reproduces_the_example_of_slacks_guide() {
        assert_eq!(
            guide_verifier().sign(GUIDE_TIMESTAMP, GUIDE_BODY.as_bytes()),
            GUIDE_SIGNATURE
        );
    }

    #[test]
    fn the_guides_request_is_accepted_at_its_own_time() {
        let now = GUIDE_TIMESTAMP.parse::<i64>().unwrap() + 10;
        let result = guide_verifier().verify_at(
            &headers(GUIDE_TIMESTAMP, GUIDE_SIGNATURE),
            GUIDE_BODY.as_bytes(),
            now,
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn five_minutes_is_the_edge_of_the_window() {
        let signed = GUIDE_TIMESTAMP.parse::<i64>().unwrap();
        let check = |now| {
            guide_verifier().verify_at(
                &headers(GUIDE_TIMESTAMP, GUIDE_SIGNATURE),
                GUIDE_BODY.as_bytes(),
                now,
            )
        };
        assert_eq!(check(signed + 300), Ok(()));
        assert_eq!(check(signed + 301), Err(VerifyError::Stale(301)));
        assert_eq!(check(signed - 300), Ok(()));
        assert_eq!(check(signed - 301), Err(VerifyError::Future(301)));
    }

    #[test]
    fn timestamps_with_signs_fractions_or_letters_are_malformed() {
        for bad in [
            "+1531420618",
            "1531420618.5",
            "-5",
            "",
            "soon",
            "1e9",
            "9999999999999",
        ] {
            let result = guide_verifier().verify_at(
                &headers(bad, GUIDE_SIGNATURE),
                GUIDE_BODY.as_bytes(),
                0,
            );
            assert_eq!(result, Err(VerifyError::MalformedTimestamp), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", guide_verifier()), "SignatureVerifier(..)");
    }
}
