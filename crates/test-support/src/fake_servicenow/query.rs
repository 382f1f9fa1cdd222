//! The Table API's query parameters as the fake applies them.

use serde_json::{Map, Value};

/// Whether `row` of `table` is selected by the encoded `query`. `sys_user`
/// and `cmdb_ci_computer` are as strict as the Python system's mock
/// ServiceNow (`docs/mcp-servers.md`, "The Python system's mock
/// ServiceNow"): a query must start with one of the forms it knows
/// (`email=`, for us also `employee_number=`; `assigned_to=`), and all that
/// follows is the value; anything else selects nothing. The other tables
/// take encoded queries as an instance does ([`matches`]).
pub(super) fn selects(table: &str, row: &Map<String, Value>, query: &str) -> bool {
    let strict: &[&str] = match table {
        "sys_user" => &["email", "employee_number"],
        "cmdb_ci_computer" => &["assigned_to"],
        _ => return matches(row, query),
    };
    strict.iter().any(|field| {
        query
            .strip_prefix(field)
            .and_then(|rest| rest.strip_prefix('='))
            .is_some_and(|value| {
                !value.is_empty()
                    && row.get(*field).is_some_and(|stored| {
                        // the mock looks emails up lower-cased
                        let stored = raw(stored);
                        if *field == "email" {
                            stored.eq_ignore_ascii_case(value)
                        } else {
                            stored == value
                        }
                    })
            })
    })
}

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
    fn users_and_computers_are_selected_only_by_the_mocks_forms() {
        let Value::Object(user) = json!({"email": "a@x", "employee_number": "1", "sys_id": "s1"})
        else {
            unreachable!()
        };
        assert!(selects("sys_user", &user, "email=a@x"));
        assert!(selects("sys_user", &user, "email=A@X"));
        assert!(selects("sys_user", &user, "employee_number=1"));
        assert!(!selects(
            "sys_user",
            &user,
            "email=a@x^ORemployee_number=a@x"
        ));
        assert!(!selects("sys_user", &user, "employee_number=1^active=true"));
        assert!(!selects("sys_user", &user, "sys_id=s1"));
        assert!(!selects("sys_user", &user, ""));
        let Value::Object(computer) = json!({"assigned_to": {"value": "s1", "display_value": "A"}})
        else {
            unreachable!()
        };
        assert!(selects("cmdb_ci_computer", &computer, "assigned_to=s1"));
        assert!(!selects(
            "cmdb_ci_computer",
            &computer,
            "assigned_to=s1^ORDERBYDESCpurchase_date"
        ));
        assert!(!selects("cmdb_ci_computer", &computer, ""));
    }

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
