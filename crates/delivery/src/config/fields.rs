//! Reading one field of a JSON object, with the problem naming it.

use serde_json::{Map, Value};

use super::ConfigProblem;

pub(super) fn object<'a>(
    value: &'a Value,
    field: &str,
) -> Result<&'a Map<String, Value>, ConfigProblem> {
    value
        .as_object()
        .ok_or_else(|| ConfigProblem::new(field, "must be a JSON object"))
}

pub(super) fn optional_str<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a str>, ConfigProblem> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ConfigProblem::new(field, "must be a string")),
    }
}

/// A string that must be present and not blank.
pub(super) fn required_str<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, ConfigProblem> {
    match optional_str(object, key, field)? {
        None => Err(ConfigProblem::required(field)),
        Some(text) if text.trim().is_empty() => Err(ConfigProblem::new(field, "must not be empty")),
        Some(text) => Ok(text),
    }
}

pub(super) fn optional_bool(
    object: &Map<String, Value>,
    key: &str,
) -> Result<Option<bool>, ConfigProblem> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(ConfigProblem::new(key, "must be true or false")),
    }
}

pub(super) fn optional_number(
    object: &Map<String, Value>,
    key: &str,
) -> Result<Option<f64>, ConfigProblem> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_f64()
            .map(Some)
            .ok_or_else(|| ConfigProblem::new(key, "must be a number")),
        Some(_) => Err(ConfigProblem::new(key, "must be a number")),
    }
}
