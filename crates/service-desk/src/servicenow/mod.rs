//! The ServiceNow backend. Calls, fields and answer shapes relied on are
//! listed in `docs/mcp-servers.md`; `crates/test-support/src/fake_servicenow/`
//! serves the same shapes for the tests, and the Python system's mock
//! ServiceNow is tested too (`bins/mcp-*/tests/servicenow_mock.rs`).

mod client;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::{Value, json};

pub use client::ServiceNowClient;

use crate::{
    DeskError, Employee, EmployeeDirectory, Laptop, LaptopOrder, RefreshRequest, TicketDesk,
};

const USER_FIELDS: &str = "sys_id,name,email,employee_number,location";
const COMPUTER_FIELDS: &str =
    "sys_id,name,serial_number,model_id,purchase_date,warranty_expiration,assigned_to";
/// The most computers read for one user (a user has one or two).
const COMPUTERS_READ: u32 = 100;
const ITEM_FIELDS: &str = "sys_id,number,request,state,priority,opened_at,due_date,assignment_group,variables.laptop_choices";

/// `sys_user` and `cmdb_ci_computer`.
#[derive(Debug, Clone)]
pub struct ServiceNowDirectory {
    client: Arc<ServiceNowClient>,
}

impl ServiceNowDirectory {
    pub fn new(client: Arc<ServiceNowClient>) -> Self {
        Self { client }
    }
}

#[async_trait]
impl EmployeeDirectory for ServiceNowDirectory {
    async fn find(&self, key: &str) -> Result<Option<Employee>, DeskError> {
        let users = self
            .client
            .table("sys_user", &user_query(key)?, USER_FIELDS, 1)
            .await?;
        let Some(user) = users.first() else {
            return Ok(None);
        };
        let sys_id = text(user, "sys_id");
        if sys_id.is_empty() {
            return Err(DeskError::Backend(
                "ServiceNow returned a user without sys_id".into(),
            ));
        }
        if query_value(&sys_id).is_err() {
            return Err(DeskError::Backend(
                "ServiceNow returned a user whose sys_id is not an identifier".into(),
            ));
        }
        let email = text(user, "email");
        let number = text(user, "employee_number");
        let computers = self
            .client
            .table(
                "cmdb_ci_computer",
                &format!("assigned_to={sys_id}"),
                COMPUTER_FIELDS,
                COMPUTERS_READ,
            )
            .await?;
        Ok(Some(Employee {
            id: if number.is_empty() {
                email.clone()
            } else {
                number
            },
            name: text(user, "name"),
            email,
            location: text(user, "location"),
            laptop: newest(&computers),
            record_ref: sys_id,
        }))
    }
}

/// The `sys_user` query for an employee id or email, in the only forms the
/// Python system's MCP server sends and its mock ServiceNow understands:
/// `email=<email>`, else `employee_number=<id>` (one term, no `^OR`).
fn user_query(key: &str) -> Result<String, DeskError> {
    let key = query_value(key)?;
    if key.is_empty() {
        return Err(DeskError::Refused(
            "an employee id or email is required".into(),
        ));
    }
    Ok(if key.contains('@') {
        format!("email={key}")
    } else {
        format!("employee_number={key}")
    })
}

/// The laptop of the newest purchase among a user's computers. They are
/// sorted here, not by an `ORDERBY` term: the mock ServiceNow answers
/// nothing to a query with one.
fn newest(computers: &[Value]) -> Option<Laptop> {
    computers
        .iter()
        .filter_map(laptop)
        .max_by_key(|laptop| laptop.purchase_date)
}

/// A computer as a laptop; `None` without a purchase date that can be read.
fn laptop(computer: &Value) -> Option<Laptop> {
    Some(Laptop {
        model: Some(text(computer, "model_id"))
            .filter(|model| !model.is_empty())
            .unwrap_or_else(|| text(computer, "name")),
        serial_number: text(computer, "serial_number"),
        purchase_date: date(&text(computer, "purchase_date"))?,
        warranty_expiry: date(&text(computer, "warranty_expiration")),
    })
}

/// `sc_req_item` and the catalog item `SERVICENOW_LAPTOP_REFRESH_ID`.
#[derive(Debug, Clone)]
pub struct ServiceNowDesk {
    client: Arc<ServiceNowClient>,
    item: String,
}

impl ServiceNowDesk {
    pub fn new(client: Arc<ServiceNowClient>, laptop_refresh_id: String) -> Self {
        Self {
            client,
            item: laptop_refresh_id,
        }
    }

    async fn items(&self, query: &str, limit: u32) -> Result<Vec<RefreshRequest>, DeskError> {
        let items = self
            .client
            .table("sc_req_item", query, ITEM_FIELDS, limit)
            .await?;
        Ok(items.iter().map(request).collect())
    }
}

#[async_trait]
impl TicketDesk for ServiceNowDesk {
    async fn open_requests(&self, employee: &Employee) -> Result<Vec<RefreshRequest>, DeskError> {
        let query = format!(
            "cat_item={}^requested_for={}^active=true^ORDERBYopened_at",
            self.item, employee.record_ref
        );
        self.items(&query, 100).await
    }

    async fn order(
        &self,
        employee: &Employee,
        order: &LaptopOrder,
    ) -> Result<RefreshRequest, DeskError> {
        let body = json!({
            "sysparm_quantity": "1",
            "sysparm_requested_for": employee.record_ref,
            "variables": {
                "laptop_choices": order.preferred_model,
                "who_is_this_request_for": employee.record_ref,
            },
        });
        let ordered = self.client.order_now(&self.item, &body).await?;
        let number = text(&ordered, "request_number");
        let number = if number.is_empty() {
            text(&ordered, "number")
        } else {
            number
        };
        let request_id = text(&ordered, "request_id");
        let request_id = if request_id.is_empty() {
            text(&ordered, "sys_id")
        } else {
            request_id
        };
        if number.is_empty() {
            return Err(DeskError::Backend(
                "ServiceNow accepted the order but returned no request number \
                 (is the catalog set up for two-step checkout?)"
                    .into(),
            ));
        }
        // The order's answer has only the request's number and id (the mock
        // ServiceNow adds `opened_at`); its item says the state, priority and
        // group. The mock has no items: the answer alone is shown then.
        let items = match query_value(&request_id) {
            Ok(id) if !id.is_empty() => self.items(&format!("request={id}"), 1).await?,
            _ => Vec::new(),
        };
        let mut request = items.into_iter().next().unwrap_or_else(|| RefreshRequest {
            number: number.clone(),
            status: "Submitted".into(),
            priority: None,
            preferred_model: order.preferred_model.clone(),
            business_justification: None,
            created: Some(text(&ordered, "opened_at")).filter(|at| !at.is_empty()),
            expected_completion: None,
            assigned_group: None,
        });
        request.number = number;
        request.business_justification = Some(order.business_justification.clone());
        if request.preferred_model.is_empty() {
            request.preferred_model = order.preferred_model.clone();
        }
        Ok(request)
    }
}

/// An `sc_req_item` record as a request: numbered by its request (`REQ...`,
/// the number the order gave), else by itself.
fn request(item: &Value) -> RefreshRequest {
    let number = Some(text(item, "request"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| text(item, "number"));
    let optional = |field: &str| Some(text(item, field)).filter(|value| !value.is_empty());
    RefreshRequest {
        number,
        status: optional("state").unwrap_or_else(|| "Open".into()),
        priority: optional("priority"),
        preferred_model: text(item, "variables.laptop_choices"),
        business_justification: None,
        created: optional("opened_at"),
        expected_completion: optional("due_date"),
        assigned_group: optional("assignment_group"),
    }
}

/// A field as text: a display value string, or a reference's
/// `display_value` when the instance sends an object.
fn text(record: &Value, field: &str) -> String {
    match &record[field] {
        Value::String(text) => text.trim().to_owned(),
        Value::Object(reference) => reference
            .get("display_value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

/// Dates as instances display them: `2021-03-15`, `03/15/2021`,
/// `15/03/2021`, or a date-time whose date comes first.
fn date(text: &str) -> Option<NaiveDate> {
    let day = text.split_whitespace().next()?;
    ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d-%m-%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(day, format).ok())
}

/// A value put into an encoded query: `^` (and `,` `=` `@` for operators)
/// would let an argument widen the query, so only plain identifier and email
/// characters are accepted.
fn query_value(value: &str) -> Result<&str, DeskError> {
    let value = value.trim();
    let plain = value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '_' | '-' | '+' | '\''));
    if plain && value.len() <= 254 {
        Ok(value)
    } else {
        Err(DeskError::Refused(format!(
            "'{value}' is not an employee id or email (only letters, digits and @ . _ - + ' are allowed)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_would_widen_the_query_is_refused() {
        assert!(query_value("1001^ORactive=true").is_err());
        assert!(query_value("alice.johnson@example.com").is_ok());
    }

    #[test]
    fn users_are_asked_for_by_email_or_by_employee_number_alone() {
        assert_eq!(
            user_query(" Alice.Johnson@company.com ").unwrap(),
            "email=Alice.Johnson@company.com"
        );
        assert_eq!(user_query("1001").unwrap(), "employee_number=1001");
        assert!(user_query("").is_err());
        assert!(user_query("a@x^ORactive=true").is_err());
    }

    #[test]
    fn the_laptop_is_the_newest_purchase_whatever_the_order_of_the_answer() {
        let computer = |model: &str, purchased: &str| {
            json!({"model_id": {"display_value": model, "value": "m"}, "serial_number": "s",
                   "purchase_date": purchased, "warranty_expiration": ""})
        };
        let computers = [
            computer("Old", "2018-05-01"),
            computer("New", "2022-06-01"),
            computer("Undated", ""),
            computer("Middle", "2020-01-01"),
        ];
        assert_eq!(newest(&computers).unwrap().model, "New");
        assert_eq!(newest(&computers[2..3]), None);
        assert_eq!(newest(&[]), None);
    }

    #[test]
    fn displayed_dates_are_read_in_the_usual_formats() {
        let expected = NaiveDate::from_ymd_opt(2021, 3, 15);
        assert_eq!(date("2021-03-15"), expected);
        assert_eq!(date("03/15/2021"), expected);
        assert_eq!(date("2021-03-15 08:00:00"), expected);
        assert_eq!(date(""), None);
    }

    #[test]
    fn a_reference_is_read_by_its_display_value() {
        let record = json!({"location": {"display_value": "EMEA", "link": "x"}, "name": "Ann"});
        assert_eq!(text(&record, "location"), "EMEA");
        assert_eq!(text(&record, "name"), "Ann");
        assert_eq!(text(&record, "missing"), "");
    }
}
