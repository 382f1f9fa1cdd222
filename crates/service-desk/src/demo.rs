//! The demo backend: employees from a JSON data file (`EMPLOYEE_DATA_FILE`;
//! the project's sample `assets/mcp/employees.json` is compiled in as the
//! default), laptop refresh requests kept in memory for the process's life.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{Days, Local};

use crate::{DeskError, Employee, EmployeeDirectory, LaptopOrder, RefreshRequest, TicketDesk};

/// The project's sample employees (about ten, in the regions of the
/// knowledge base's catalogues, with laptops of different ages).
pub const SAMPLE_EMPLOYEES: &str = include_str!("../../../assets/mcp/employees.json");

/// Employees keyed by id and by email (lower-cased).
#[derive(Debug)]
pub struct DemoDirectory {
    employees: Vec<Employee>,
    index: HashMap<String, usize>,
}

impl DemoDirectory {
    /// The compiled-in sample.
    pub fn builtin() -> Self {
        match Self::parse(SAMPLE_EMPLOYEES) {
            Ok(directory) => directory,
            Err(error) => unreachable!("the sample data is valid (a unit test checks): {error}"),
        }
    }

    /// Reads a data file: a JSON array of employees (see
    /// `assets/mcp/employees.json` for the shape).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Self::parse(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut employees: Vec<Employee> = serde_json::from_str(text)
            .map_err(|error| format!("not a list of employees: {error}"))?;
        let mut index = HashMap::new();
        for (position, employee) in employees.iter_mut().enumerate() {
            if employee.id.trim().is_empty() || employee.email.trim().is_empty() {
                return Err(format!(
                    "employee #{} has no employee_id or email",
                    position + 1
                ));
            }
            employee.record_ref = employee.id.clone();
            for key in [&employee.id, &employee.email] {
                if index.insert(key.to_lowercase(), position).is_some() {
                    return Err(format!("'{key}' names two employees"));
                }
            }
        }
        Ok(Self { employees, index })
    }

    pub fn len(&self) -> usize {
        self.employees.len()
    }

    pub fn is_empty(&self) -> bool {
        self.employees.is_empty()
    }
}

#[async_trait]
impl EmployeeDirectory for DemoDirectory {
    async fn find(&self, key: &str) -> Result<Option<Employee>, DeskError> {
        Ok(self
            .index
            .get(&key.trim().to_lowercase())
            .map(|&position| self.employees[position].clone()))
    }
}

/// Requests in memory, numbered `REQ0010001`, `REQ0010002`, ...
#[derive(Debug, Default)]
pub struct DemoDesk {
    requests: Mutex<Vec<(String, RefreshRequest)>>,
}

/// Working days the hardware team is given, as the expected completion.
const COMPLETION_DAYS: u64 = 5;

#[async_trait]
impl TicketDesk for DemoDesk {
    async fn open_requests(&self, employee: &Employee) -> Result<Vec<RefreshRequest>, DeskError> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        Ok(requests
            .iter()
            .filter(|(owner, _)| *owner == employee.record_ref)
            .map(|(_, request)| request.clone())
            .collect())
    }

    async fn order(
        &self,
        employee: &Employee,
        order: &LaptopOrder,
    ) -> Result<RefreshRequest, DeskError> {
        let today = Local::now().date_naive();
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let request = RefreshRequest {
            number: format!("REQ{:07}", 10_001 + requests.len()),
            status: "Open".into(),
            priority: Some("Medium".into()),
            preferred_model: order.preferred_model.clone(),
            business_justification: Some(order.business_justification.clone()),
            created: Some(today.to_string()),
            expected_completion: today
                .checked_add_days(Days::new(COMPLETION_DAYS))
                .map(|day| day.to_string()),
            assigned_group: Some("IT Hardware Team".into()),
        };
        requests.push((employee.record_ref.clone(), request.clone()));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_about_ten_employees_in_the_catalogue_regions() {
        let directory = DemoDirectory::builtin();
        assert!((10..=12).contains(&directory.len()), "{}", directory.len());
        for employee in &directory.employees {
            assert!(
                ["EMEA", "Americas", "Asia-Pacific"].contains(&employee.location.as_str()),
                "{}: {}",
                employee.id,
                employee.location
            );
        }
    }

    #[tokio::test]
    async fn employees_are_found_by_id_and_by_email_case_blind() {
        let directory = DemoDirectory::builtin();
        let by_id = directory.find("1001").await.unwrap().unwrap();
        let by_email = directory
            .find(" Alice.Johnson@EXAMPLE.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_id, by_email);
        assert!(directory.find("9999").await.unwrap().is_none());
    }

    #[test]
    fn a_data_file_naming_one_key_twice_is_refused() {
        let text = r#"[{"employee_id": "1", "name": "A", "email": "a@x", "location": "EMEA"},
                       {"employee_id": "2", "name": "B", "email": "A@x", "location": "EMEA"}]"#;
        let error = DemoDirectory::parse(text).unwrap_err();
        assert!(error.contains("names two employees"), "{error}");
    }

    #[test]
    fn a_data_file_that_is_not_a_list_is_refused() {
        let error = DemoDirectory::parse(r#"{"employees": []}"#).unwrap_err();
        assert!(error.contains("not a list of employees"), "{error}");
    }
}
