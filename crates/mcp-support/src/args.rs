//! Tool arguments: parsed from the call's JSON object into a struct whose
//! derived schema is also the one `tools/list` shows, so the two cannot
//! drift.
//!
//! LlamaStack 0.2.18 presents every parameter to the model as required and
//! reads each one's `type` as a single string (`list_mcp_tools` in its
//! `providers/utils/tools/mcp.py`). Schemars would type `Option<String>` as
//! `["string", "null"]`, so optional arguments are [`OptionalText`]: plain
//! `"string"`, not required, an empty string counting as absent.

use std::borrow::Cow;

use rmcp::model::JsonObject;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use crate::tools::ToolError;

/// A text argument that may be left out (use it with `#[serde(default)]`):
/// absent, `null` and `""` (after trimming) are all `None`. Its default is
/// shown as `""`, so the schema stays a plain string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionalText(pub Option<String>);

impl Serialize for OptionalText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_deref().unwrap_or_default())
    }
}

impl OptionalText {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for OptionalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Option::<String>::deserialize(deserializer)?;
        Ok(Self(
            value
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty()),
        ))
    }
}

impl JsonSchema for OptionalText {
    fn schema_name() -> Cow<'static, str> {
        "OptionalText".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// A text argument that must be given and not be blank (trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequiredText(pub String);

impl RequiredText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RequiredText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(D::Error::custom("must not be empty"));
        }
        Ok(Self(text.to_owned()))
    }
}

impl JsonSchema for RequiredText {
    fn schema_name() -> Cow<'static, str> {
        "RequiredText".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "minLength": 1})
    }
}

/// Parses a call's arguments into `A`; a problem becomes one sentence naming
/// the argument (`employee_name: must not be empty`).
pub fn parse_arguments<A: DeserializeOwned>(
    tool: &str,
    arguments: JsonObject,
) -> Result<A, ToolError> {
    serde_path_to_error::deserialize(serde_json::Value::Object(arguments)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let problem = if path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        };
        ToolError::InvalidArgument(format!("Invalid arguments for {tool}: {problem}."))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A sample employee.
    #[derive(Debug, Deserialize, JsonSchema)]
    struct Sample {
        /// Optional.
        #[serde(default)]
        employee_id: OptionalText,
        /// Required.
        employee_name: RequiredText,
    }

    fn parse(value: serde_json::Value) -> Result<Sample, ToolError> {
        let serde_json::Value::Object(object) = value else {
            unreachable!("an object")
        };
        parse_arguments("sample", object)
    }

    #[test]
    fn optional_text_is_a_plain_string_and_not_required() {
        let schema = rmcp::handler::server::tool::schema_for_input::<Sample>().unwrap();
        assert_eq!(schema["properties"]["employee_id"]["type"], "string");
        assert_eq!(schema["properties"]["employee_id"]["default"], "");
        assert_eq!(
            schema["properties"]["employee_id"]["description"],
            "Optional."
        );
        assert_eq!(schema["properties"]["employee_name"]["type"], "string");
        assert_eq!(schema["required"], json!(["employee_name"]));
    }

    #[test]
    fn an_empty_optional_argument_is_absent() {
        let sample = parse(json!({"employee_id": "  ", "employee_name": " Ann "})).unwrap();
        assert_eq!(sample.employee_id, OptionalText(None));
        assert_eq!(sample.employee_name.as_str(), "Ann");
        let sample = parse(json!({"employee_id": null, "employee_name": "Ann"})).unwrap();
        assert_eq!(sample.employee_id, OptionalText(None));
    }

    #[test]
    fn a_missing_required_argument_is_named() {
        let error = parse(json!({"employee_id": "1001"})).unwrap_err();
        assert!(error.to_string().contains("employee_name"), "{error}");
    }

    #[test]
    fn a_blank_required_argument_is_named() {
        let error = parse(json!({"employee_name": " "})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid arguments for sample: employee_name: must not be empty."
        );
    }

    #[test]
    fn a_mistyped_argument_is_named() {
        let error = parse(json!({"employee_name": 42})).unwrap_err();
        assert!(
            error.to_string().contains("employee_name: invalid type"),
            "{error}"
        );
    }
}
