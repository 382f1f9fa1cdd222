//! Standard Webhooks signatures: `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`, the key
//! being the base64-decoded part of a `whsec_<base64>` secret. Written on
//! hmac + sha2 + base64 (`docs/delivery.md` says why not the
//! `standardwebhooks` crate); the tests check it against the official
//! Python library (`crates/test-support/python/webhook_receiver.py`).

use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// The key lengths the specification asks for.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Padded or not, as the official libraries accept.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A signing key. Never shown: `Debug` prints `[REDACTED]`.
#[derive(Clone)]
pub struct SigningSecret {
    key: SecretSlice<u8>,
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

impl SigningSecret {
    /// `whsec_<base64>` of 24 to 64 bytes. The problem never echoes the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = "must be whsec_ followed by the base64 of 24 to 64 bytes";
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| expected.to_owned())?;
        let key = LENIENT
            .decode(encoded)
            .map_err(|_| format!("{expected} (not base64)"))?;
        if !KEY_BYTES.contains(&key.len()) {
            return Err(format!("{expected} (found {} bytes)", key.len()));
        }
        Ok(Self { key: key.into() })
    }
}

/// The `webhook-id` of a delivery: the same for every attempt.
pub fn webhook_id(delivery_id: i64) -> String {
    format!("msg_{delivery_id}")
}

/// The `webhook-signature` value for one attempt.
pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    // The key length is free for HMAC; `new_from_slice` cannot fail here.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.key.expose_secret()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the official libraries test their signing with.
    #[test]
    fn the_reference_example_signs_alike() {
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn unpadded_secrets_are_accepted() {
        let padded = SigningSecret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==").unwrap();
        let bare = SigningSecret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA").unwrap();
        assert_eq!(sign(&padded, "m", 1, b"{}"), sign(&bare, "m", 1, b"{}"));
    }

    #[test]
    fn a_secret_without_the_prefix_or_too_short_is_refused() {
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        let short = SigningSecret::parse("whsec_c2hvcnQ=").unwrap_err();
        assert!(short.contains("found 5 bytes"), "{short}");
        assert!(!short.contains("c2hvcnQ"), "{short}");
    }
}
