//! Durations in settings: a number of seconds (fractions allowed), from an
//! environment variable or a flag, bounded so that no setting can overflow
//! a deadline computed from it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// The longest duration any setting accepts: one week.
pub const MAX_SECONDS: u64 = 7 * 24 * 60 * 60;

/// A duration given in seconds, between 0 and [`MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seconds(Duration);

impl Seconds {
    /// `seconds`, capped at [`MAX_SECONDS`] (for defaults in code).
    pub const fn new(seconds: u64) -> Self {
        let capped = if seconds > MAX_SECONDS {
            MAX_SECONDS
        } else {
            seconds
        };
        Self(Duration::from_secs(capped))
    }

    pub const fn duration(self) -> Duration {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    fn expected() -> String {
        format!("a number of seconds from 0 to {MAX_SECONDS}")
    }

    fn parse_number(seconds: f64) -> Option<Self> {
        (seconds.is_finite() && (0.0..=MAX_SECONDS as f64).contains(&seconds))
            .then(|| Self(Duration::from_secs_f64(seconds)))
    }
}

impl From<Seconds> for Duration {
    fn from(seconds: Seconds) -> Self {
        seconds.0
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse::<f64>()
            .ok()
            .and_then(Self::parse_number)
            .ok_or_else(|| format!("expected {}, found '{text}'", Self::expected()))
    }
}

impl<'de> serde::Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;

        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&Seconds::expected())
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Seconds, E> {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(Seconds::parse_number)
                    .ok_or_else(|| E::invalid_value(Unexpected::Str(text), &self))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Seconds, E> {
                (value <= MAX_SECONDS)
                    .then(|| Seconds(Duration::from_secs(value)))
                    .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Seconds, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
                    .and_then(|value| self.visit_u64(value))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Seconds, E> {
                Seconds::parse_number(value)
                    .ok_or_else(|| E::invalid_value(Unexpected::Float(value), &self))
            }
        }

        deserializer.deserialize_any(SecondsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_fractional_seconds_parse() {
        assert_eq!("30".parse(), Ok(Seconds::new(30)));
        assert_eq!(
            "0.5".parse::<Seconds>().map(Seconds::duration),
            Ok(Duration::from_millis(500))
        );
        assert_eq!("0".parse(), Ok(Seconds::new(0)));
    }

    #[test]
    fn values_past_a_week_negative_or_not_numbers_are_refused() {
        for bad in [
            "18446744073709551615",
            "604801",
            "-1",
            "NaN",
            "inf",
            "soon",
            "",
        ] {
            let error = bad.parse::<Seconds>().expect_err(bad);
            assert!(error.contains("from 0 to 604800"), "{bad}: {error}");
        }
    }

    #[test]
    fn defaults_in_code_are_capped() {
        assert_eq!(Seconds::new(u64::MAX).duration().as_secs(), MAX_SECONDS);
    }
}
