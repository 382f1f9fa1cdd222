//! YAML files into typed values, errors naming the file and the field.
//!
//! serde_yaml_ng hands the whole file to libyaml, whose work grows with the
//! square of the nesting depth (200 000 levels: over 30 s), and expands
//! every alias into a copy (a 1 MB anchor named 300 times is 300 MB). So
//! each file is first walked as a stream of events (saphyr-parser, pulled
//! one at a time) and refused as soon as it nests deeper than
//! [`MAX_YAML_DEPTH`] or its aliases expand it past the per-file size
//! limit: the work done on a hostile file stays bounded by the limits, not
//! by the file. A file this walk cannot parse is refused with its syntax
//! error, so libyaml only ever sees files that were checked.

use std::collections::HashMap;

use std::path::Path;

use saphyr_parser::{Event, Parser};
use serde::de::DeserializeOwned;

use crate::error::AssetError;
use crate::limits::MAX_YAML_DEPTH;

/// Longest serde message kept in an error (it may quote a whole value).
const MAX_MESSAGE_CHARS: usize = 200;

/// Parses `text` (the content of `file`) into `T`; with its aliases
/// expanded, the document may hold `max_bytes` (`ASSET_MAX_FILE_BYTES`).
pub(crate) fn parse<T: DeserializeOwned>(
    file: &Path,
    text: &str,
    max_bytes: u64,
) -> Result<T, AssetError> {
    if text.trim().is_empty() {
        return Err(AssetError::InvalidFile {
            file: file.to_path_buf(),
            message: "the file is empty".into(),
        });
    }
    check_shape(text, MAX_YAML_DEPTH, max_bytes).map_err(|message| AssetError::InvalidFile {
        file: file.to_path_buf(),
        message,
    })?;
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = brief(&error.inner().to_string());
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
/// deeper than `max_depth`, when the document with its aliases expanded
/// would hold more than `max_bytes` (scalar bytes, plus one per node), or
/// when the text is not YAML.
fn check_shape(text: &str, max_depth: usize, max_bytes: u64) -> Result<(), String> {
    let too_deep = |line: usize| format!("nested deeper than {max_depth} levels (line {line})");
    // Size of the expanded document so far; an anchored node weighs what
    // the size grew by between its start and its end.
    let mut size = 0u64;
    let mut open: Vec<(usize, u64)> = Vec::new(); // (anchor id or 0, size at start)
    let mut anchored: HashMap<usize, u64> = HashMap::new();
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
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() == max_depth {
                    return Err(too_deep(span.start.line()));
                }
                open.push((anchor, size));
                size += 1;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop().filter(|(anchor, _)| *anchor != 0) {
                    anchored.insert(anchor, size - start);
                }
            }
            Event::Scalar(value, _, anchor, _) => {
                let weight = value.len() as u64 + 1;
                size = size.saturating_add(weight);
                if anchor != 0 {
                    anchored.insert(anchor, weight);
                }
            }
            Event::Alias(anchor) => {
                size = size.saturating_add(anchored.get(&anchor).copied().unwrap_or(1));
            }
            _ => {}
        }
        if size > max_bytes {
            return Err(format!(
                "its aliases expand it past ASSET_MAX_FILE_BYTES ({max_bytes} bytes) (line {})",
                span.start.line()
            ));
        }
    }
    Ok(())
}

/// `message` cut to [`MAX_MESSAGE_CHARS`], so that an error stays one short line.
pub(crate) fn brief(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
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
        assert_eq!(check_shape("a:\n  b: [1, {c: 2}]\n", 4, 1000), Ok(()));
        let error = check_shape("a:\n  b: [1, {c: 2}]\n", 3, 1000).expect_err("too deep");
        assert_eq!(error, "nested deeper than 3 levels (line 2)");
    }

    #[test]
    fn flow_nesting_past_the_scanners_own_bound_is_a_depth_error() {
        let text = format!("a: {}{}", "[".repeat(1000), "]".repeat(1000));
        let error = check_shape(&text, 64, 1_000_000).expect_err("too deep");
        assert_eq!(error, "nested deeper than 64 levels (line 1)");
    }

    #[test]
    fn aliases_count_as_often_as_they_are_named() {
        let text = format!(
            "a: &s {}\nb: [{}]\n",
            "x".repeat(100),
            ["*s"; 20].join(", ")
        );
        assert_eq!(check_shape(&text, 64, 3000), Ok(()));
        let error = check_shape(&text, 64, 2000).expect_err("too big");
        assert_eq!(
            error,
            "its aliases expand it past ASSET_MAX_FILE_BYTES (2000 bytes) (line 2)"
        );
    }

    #[test]
    fn nested_aliases_multiply() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let names = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{names}]\n"));
        }
        let error = check_shape(&text, 64, 8 << 20).expect_err("a billion laughs");
        assert!(error.starts_with("its aliases expand it past"), "{error}");
    }

    #[test]
    fn a_long_message_is_cut() {
        let message = brief(&"é".repeat(500));
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn malformed_yaml_is_an_error_of_the_depth_walk() {
        let error = check_shape("name: [unclosed\n", 64, 1000).expect_err("malformed");
        assert!(!error.starts_with("nested"), "{error}");
    }
}
