//! YAML files into typed values, errors naming the file and the field.
//!
//! serde_yaml_ng hands the whole file to libyaml, whose work grows with the
//! square of the nesting depth (200 000 levels: over 30 s). So each file is
//! first walked as a stream of events (saphyr-parser, pulled one at a time)
//! and refused as soon as it nests deeper than [`MAX_YAML_DEPTH`]: the work
//! done on a hostile file stays bounded by the limit, not by the file. A
//! file this walk cannot parse is refused with its syntax error, so libyaml
//! only ever sees files whose depth was checked.

use std::path::Path;

use saphyr_parser::{Event, Parser};
use serde::de::DeserializeOwned;

use crate::error::AssetError;
use crate::limits::MAX_YAML_DEPTH;

/// Parses `text` (the content of `file`) into `T`.
pub(crate) fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, AssetError> {
    if text.trim().is_empty() {
        return Err(AssetError::InvalidFile {
            file: file.to_path_buf(),
            message: "the file is empty".into(),
        });
    }
    check_depth(text, MAX_YAML_DEPTH).map_err(|message| AssetError::InvalidFile {
        file: file.to_path_buf(),
        message,
    })?;
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let field = if path == "." {
            named_field(&message)
        } else {
            Some(path)
        };
        match field {
            Some(field) => AssetError::Invalid {
                file: file.to_path_buf(),
                field,
                message,
            },
            None => AssetError::InvalidFile {
                file: file.to_path_buf(),
                message,
            },
        }
    })
}

/// Walks the events of `text`; an error when mappings and sequences nest
/// deeper than `limit` or the text is not YAML.
fn check_depth(text: &str, limit: usize) -> Result<(), String> {
    let too_deep = |line: usize| format!("nested deeper than {limit} levels (line {line})");
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| {
            // The scanner's own bound on flow nesting (`[[[[...`).
            if error.info() == "recursion limit exceeded" {
                too_deep(error.marker().line())
            } else {
                error.to_string()
            }
        })?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > limit {
                    return Err(too_deep(span.start.line()));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The field a serde message is about (`missing field `name``, `unknown field `x``).
fn named_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_owned)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_depth_limit_counts_mappings_and_sequences() {
        // the document's mapping, a's mapping, b's sequence, {c: 2}
        assert_eq!(check_depth("a:\n  b: [1, {c: 2}]\n", 4), Ok(()));
        let error = check_depth("a:\n  b: [1, {c: 2}]\n", 3).expect_err("too deep");
        assert_eq!(error, "nested deeper than 3 levels (line 2)");
    }

    #[test]
    fn flow_nesting_past_the_scanners_own_bound_is_a_depth_error() {
        let text = format!("a: {}{}", "[".repeat(1000), "]".repeat(1000));
        let error = check_depth(&text, 64).expect_err("too deep");
        assert_eq!(error, "nested deeper than 64 levels (line 1)");
    }

    #[test]
    fn malformed_yaml_is_an_error_of_the_depth_walk() {
        let error = check_depth("name: [unclosed\n", 64).expect_err("malformed");
        assert!(!error.starts_with("nested"), "{error}");
    }
}
