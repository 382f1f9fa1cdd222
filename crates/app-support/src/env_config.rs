//! Settings from environment variables (Kubernetes hands them over that way),
//! through figment. Defaults live on the settings type (`#[serde(default)]`),
//! and the variables are its field names in upper case: the list is derived
//! from the type, so a field cannot be added without its variable being read.
//! Every problem is reported with the variable's name, all of them at once.

use std::collections::BTreeMap;

use figment::Figment;
use figment::providers::Serialized;
use serde::de::DeserializeOwned;

/// Invalid settings: one entry per bad variable, each naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", problems.join("; "))]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    /// A single problem, e.g. `"DB_POOL_SIZE: must be at least 1"`.
    pub fn new(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }

    /// Collects validation problems; `Ok(())` when there are none.
    pub fn check(problems: Vec<String>) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self { problems })
        }
    }

    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl crate::HasExitStatus for ConfigError {
    fn exit_status(&self) -> crate::ExitStatus {
        crate::ExitStatus::Config
    }
}

/// The environment variables [`from_env`] reads for `T`: its field names
/// in upper case.
pub fn env_vars<T: DeserializeOwned>() -> Vec<String> {
    serde_aux::serde_introspection::serde_introspect::<T>()
        .iter()
        .map(|field| field.to_ascii_uppercase())
        .collect()
}

/// Reads `T` from the environment: each field from the variable of its name
/// in upper case; missing ones take `T`'s defaults.
///
/// Values stay the strings they are: `001` is a revision, `123456` may be a
/// password. They become numbers or booleans only where `T` asks for one.
pub fn from_env<T: DeserializeOwned>() -> Result<T, ConfigError> {
    let present: BTreeMap<String, String> = env_vars::<T>()
        .iter()
        .filter_map(|var| Some((var.to_ascii_lowercase(), std::env::var(var).ok()?)))
        .collect();
    Figment::from(Serialized::defaults(present))
        .extract_lossy()
        .map_err(|error| ConfigError {
            problems: error.into_iter().map(describe).collect(),
        })
}

fn describe(error: figment::Error) -> String {
    let var = error.path.join("_").to_ascii_uppercase();
    let what = match &error.kind {
        figment::error::Kind::InvalidType(actual, expected)
        | figment::error::Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found {actual}")
        }
        kind => kind.to_string(),
    };
    if var.is_empty() {
        what
    } else {
        format!("{var}: {what}")
    }
}

#[cfg(test)]
// figment::Jail's closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(default)]
    struct Sample {
        sample_port: u16,
        sample_name: String,
    }

    impl Default for Sample {
        fn default() -> Self {
            Self {
                sample_port: 5432,
                sample_name: "default".into(),
            }
        }
    }

    #[test]
    fn a_bad_variable_is_named_in_the_error() {
        // figment::Jail isolates the process environment for the test.
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_PORT", "not-a-port");
            let error = from_env::<Sample>().expect_err("a non-numeric port is invalid");
            let message = error.to_string();
            assert!(message.contains("SAMPLE_PORT"), "{message}");
            assert!(message.contains("not-a-port"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn values_that_look_like_numbers_stay_strings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_NAME", "001");
            jail.set_env("SAMPLE_PORT", "6543");
            let sample: Sample = from_env().map_err(|e| e.to_string())?;
            assert_eq!(sample.sample_name, "001");
            assert_eq!(sample.sample_port, 6543);
            Ok(())
        });
    }

    #[test]
    fn the_variables_are_the_fields_in_upper_case() {
        assert_eq!(env_vars::<Sample>(), ["SAMPLE_PORT", "SAMPLE_NAME"]);
    }

    #[test]
    fn variables_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SAMPLE_NAME", "from-env");
            let sample: Sample = from_env().map_err(|e| e.to_string())?;
            assert_eq!(sample.sample_name, "from-env");
            assert_eq!(sample.sample_port, 5432);
            Ok(())
        });
    }
}
