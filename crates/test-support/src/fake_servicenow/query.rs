//! The Table API's query parameters as the fake applies them.

use serde_json::{Map, Value};

/// An encoded query's `field=value` terms: `^` is AND, `^OR` is OR with
/// the term before; ORDERBY terms do not filter.
pub(super) fn matches(row: &Map<String, Value>, query: &str) -> bool {
    let mut all = true;
    let mut any_of_group: Option<bool> = None;
    for term in query.split('^').filter(|term| !term.is_empty()) {
        if term.starts_with("ORDERBY") {
            continue;
        }
        let (or, term) = match term.strip_prefix("OR") {
            Some(rest) => (true, rest),
            None => (false, term),
        };
        let hit = term.split_once('=').is_some_and(|(field, value)| {
            row.get(field).is_some_and(|stored| raw(stored) == value)
        });
        if or {
            any_of_group = Some(any_of_group.unwrap_or(false) || hit);
        } else {
            if let Some(group) = any_of_group.take() {
                all &= group;
            }
            any_of_group = Some(hit);
        }
    }
    all && any_of_group.unwrap_or(true)
}

pub(super) fn raw(value: &Value) -> String {
    match value {
        Value::Object(reference) => reference
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(super) fn project(row: &Map<String, Value>, fields: Option<&[&str]>, display: bool) -> Value {
    let shown = |value: &Value| match value {
        Value::Object(reference) if display => reference
            .get("display_value")
            .cloned()
            .unwrap_or(Value::Null),
        other => Value::String(raw(other)),
    };
    let mut out = Map::new();
    for (key, value) in row {
        if fields.is_none_or(|fields| fields.contains(&key.as_str())) {
            out.insert(key.clone(), shown(value));
        }
    }
    if let Some(fields) = fields {
        for field in fields {
            out.entry((*field).to_owned())
                .or_insert_with(|| Value::String(String::new()));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encoded_queries_and_or_alternatives() {
        let Value::Object(row) = json!({"email": "a@x", "employee_number": "1", "active": "true"})
        else {
            unreachable!()
        };
        assert!(matches(&row, "email=b@x^ORemployee_number=1"));
        assert!(matches(
            &row,
            "email=a@x^active=true^ORDERBYDESCpurchase_date"
        ));
        assert!(!matches(&row, "email=a@x^active=false"));
        assert!(!matches(&row, "email=b@x^ORemployee_number=2"));
    }
}
