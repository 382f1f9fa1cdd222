//! How much of an asset directory the loader is willing to read. Every
//! limit is checked before the bytes are read, so a huge file, a device or
//! a directory of millions of files ends the run with an error naming the
//! path and the limit instead of exhausting memory or time.

use app_support::{ConfigError, from_env};
use serde::Deserialize;

/// Nesting levels a YAML file may have (mappings and sequences); the
/// directory's files need four at most. Deeper files are refused before
/// they are parsed: libyaml's cost grows with the square of the depth.
pub const MAX_YAML_DEPTH: usize = 64;

/// Directory levels below a knowledge base.
pub const MAX_DIRECTORY_DEPTH: usize = 32;

/// Size and count limits of the loader (`ASSET_MAX_*`: the variables are
/// the serde names of the fields, upper-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes of one file (`ASSET_MAX_FILE_BYTES`).
    #[serde(rename = "asset_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Bytes of all files read, together (`ASSET_MAX_TOTAL_BYTES`).
    #[serde(rename = "asset_max_total_bytes")]
    pub max_total_bytes: u64,
    /// Entries (files, directories, links) the loader lists (`ASSET_MAX_FILES`).
    #[serde(rename = "asset_max_files")]
    pub max_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 8 * 1024 * 1024,
            max_total_bytes: 32 * 1024 * 1024,
            max_files: 10_000,
        }
    }
}

impl Limits {
    /// Reads the limits from `ASSET_MAX_*`; every bad variable is named.
    pub fn from_env() -> Result<Self, ConfigError> {
        let limits: Self = from_env()?;
        let problems = [
            ("ASSET_MAX_FILE_BYTES", limits.max_file_bytes),
            ("ASSET_MAX_TOTAL_BYTES", limits.max_total_bytes),
            ("ASSET_MAX_FILES", limits.max_files),
        ]
        .into_iter()
        .filter(|(_, value)| *value == 0)
        .map(|(var, _)| format!("{var}: must be at least 1"))
        .collect();
        ConfigError::check(problems)?;
        Ok(limits)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment's error
mod tests {
    use super::*;

    #[test]
    fn every_variable_sets_its_limit() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ASSET_MAX_FILE_BYTES", "10");
            jail.set_env("ASSET_MAX_TOTAL_BYTES", "20");
            jail.set_env("ASSET_MAX_FILES", "30");
            let limits = Limits::from_env().map_err(|e| e.to_string())?;
            assert_eq!(
                limits,
                Limits {
                    max_file_bytes: 10,
                    max_total_bytes: 20,
                    max_files: 30
                }
            );
            Ok(())
        });
    }

    #[test]
    fn unset_variables_keep_the_defaults() {
        figment::Jail::expect_with(|_| {
            assert_eq!(Limits::from_env(), Ok(Limits::default()));
            Ok(())
        });
    }

    #[test]
    fn a_non_numeric_limit_is_named_with_its_value() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ASSET_MAX_FILE_BYTES", "8MiB");
            let error = Limits::from_env().expect_err("invalid").to_string();
            assert!(error.contains("ASSET_MAX_FILE_BYTES"), "{error}");
            assert!(error.contains("8MiB"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_zero_limit_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ASSET_MAX_FILES", "0");
            let error = Limits::from_env().expect_err("invalid").to_string();
            assert!(
                error.contains("ASSET_MAX_FILES: must be at least 1"),
                "{error}"
            );
            Ok(())
        });
    }
}
