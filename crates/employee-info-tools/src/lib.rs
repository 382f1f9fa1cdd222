//! The employee-info MCP server: one tool, `get_employee_laptop_info`, over
//! the employee directory of [`service_desk`] (demo or ServiceNow). It acts
//! for the authenticated user (`AUTHORITATIVE_USER_ID`, see
//! `mcp_support::IdentityPolicy`). [`find_employee`] is that rule applied to
//! a directory, shared with the snow server.

use std::sync::Arc;

use app_support::Fatal;
use chrono::{Local, NaiveDate};
use mcp_support::{
    Health, OptionalText, ServerSettings, Tool, ToolCall, ToolError, ToolSet, parse_arguments, tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use service_desk::{Backend, BackendSettings, DeskError, Employee, EmployeeDirectory, age_text};

pub const SERVER_NAME: &str = "mcp-employee-info";
pub const GET_EMPLOYEE_LAPTOP_INFO: &str = "get_employee_laptop_info";

/// Arguments of `get_employee_laptop_info`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LaptopInfoArguments {
    /// Optional: leave empty to act for the authenticated user. The employee id (e.g. '1001') or email address. Naming anyone other than the authenticated user is refused, unless the server runs in help-desk mode.
    #[serde(default)]
    pub employee_id: OptionalText,
}

/// The employee-info tools over a directory.
pub struct EmployeeInfo {
    directory: Arc<dyn EmployeeDirectory>,
}

impl EmployeeInfo {
    pub fn new(directory: Arc<dyn EmployeeDirectory>) -> Self {
        Self { directory }
    }

    async fn laptop_info(&self, call: ToolCall) -> Result<String, ToolError> {
        let arguments: LaptopInfoArguments =
            parse_arguments(GET_EMPLOYEE_LAPTOP_INFO, call.arguments.clone())?;
        let employee = find_employee(
            self.directory.as_ref(),
            &call,
            arguments.employee_id.as_deref(),
        )
        .await?;
        Ok(laptop_info_text(&employee, Local::now().date_naive()))
    }
}

impl ToolSet for EmployeeInfo {
    fn server_name(&self) -> &'static str {
        SERVER_NAME
    }

    fn tools(&self) -> Vec<Tool> {
        vec![tool::<LaptopInfoArguments>(
            GET_EMPLOYEE_LAPTOP_INFO,
            "Return the laptop details of an employee: name, employee id, location (region), \
             laptop model, serial number, purchase date, age (years and months), warranty expiry \
             date and warranty status (Active or Expired). Without employee_id it answers for the \
             authenticated user.",
            true,
        )]
    }

    async fn call(&self, name: &str, call: ToolCall) -> Option<Result<String, ToolError>> {
        match name {
            GET_EMPLOYEE_LAPTOP_INFO => Some(self.laptop_info(call).await),
            _ => None,
        }
    }
}

/// The employee a call acts for: the authenticated user (an argument naming
/// someone else is refused), or in help-desk mode or without an
/// authenticated user the `employee_id` argument.
pub async fn find_employee(
    directory: &dyn EmployeeDirectory,
    call: &ToolCall,
    employee_id: Option<&str>,
) -> Result<Employee, ToolError> {
    let subject = call.policy.subject(&call.caller, employee_id)?;
    let found = directory.find(&subject.lookup).await.map_err(desk_error)?;
    let Some(employee) = found else {
        return Err(ToolError::NotFound(if subject.from_caller {
            format!(
                "The authenticated user '{}' is not in the employee directory.",
                subject.lookup
            )
        } else {
            format!(
                "No employee with id or email '{}' was found.",
                subject.lookup
            )
        }));
    };
    subject.check_claim(&employee.id, &employee.email)?;
    Ok(employee)
}

/// A backend failure as a tool error.
pub fn desk_error(error: DeskError) -> ToolError {
    match error {
        DeskError::Refused(message) => ToolError::Refused(message),
        DeskError::Backend(message) => ToolError::Backend(message),
    }
}

/// The tool's answer, line by line as the Python server wrote it.
pub fn laptop_info_text(employee: &Employee, today: NaiveDate) -> String {
    let mut lines = vec![
        format!("Employee Name: {}", employee.name),
        format!("Employee ID: {}", employee.id),
        format!("Employee Email: {}", employee.email),
        format!("Employee Location: {}", employee.location),
    ];
    match &employee.laptop {
        Some(laptop) => {
            let expiry = laptop
                .warranty_expiry
                .map_or_else(|| "unknown".to_owned(), |date| date.to_string());
            lines.extend([
                format!("Laptop Model: {}", laptop.model),
                format!("Laptop Serial Number: {}", laptop.serial_number),
                format!("Laptop Purchase Date: {}", laptop.purchase_date),
                format!("Laptop Age: {}", age_text(laptop.purchase_date, today)),
                format!("Laptop Warranty Expiry Date: {expiry}"),
                format!("Laptop Warranty: {}", laptop.warranty_status(today)),
            ]);
        }
        None => lines.push("Laptop: none assigned in the asset register".into()),
    }
    lines.join("\n")
}

/// The server: settings from the environment, the backend they choose,
/// served until SIGTERM.
pub async fn run() -> Result<(), Fatal> {
    let (settings, backend_settings) =
        mcp_support::both(ServerSettings::from_env(), BackendSettings::from_env())?;
    let backend = Backend::from_settings(&backend_settings)?;
    let tools = Arc::new(EmployeeInfo::new(Arc::clone(&backend.directory)));
    let health = Health::default()
        .with("server", SERVER_NAME)
        .with("backend", backend.name);
    mcp_support::serve(settings, tools, health).await
}

#[cfg(test)]
mod tests {
    use mcp_support::{Caller, IdentityPolicy, JsonObject};
    use service_desk::demo::DemoDirectory;

    use super::*;

    fn call(user: Option<&str>, help_desk: bool) -> ToolCall {
        ToolCall {
            arguments: JsonObject::new(),
            caller: Caller {
                user: user.map(str::to_owned),
            },
            policy: IdentityPolicy {
                allow_any_employee: help_desk,
            },
        }
    }

    #[tokio::test]
    async fn the_answer_has_every_line_of_the_python_server() {
        let directory = DemoDirectory::builtin();
        let alice = find_employee(&directory, &call(Some("1001"), false), None)
            .await
            .unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            laptop_info_text(&alice, today),
            "Employee Name: Alice Johnson\nEmployee ID: 1001\nEmployee Email: alice.johnson@example.com\n\
             Employee Location: EMEA\nLaptop Model: Dell Latitude 7420\nLaptop Serial Number: DL7420-58231\n\
             Laptop Purchase Date: 2021-03-15\nLaptop Age: 5 years and 8 months\n\
             Laptop Warranty Expiry Date: 2024-03-15\nLaptop Warranty: Expired"
        );
    }

    #[tokio::test]
    async fn an_unknown_argument_and_an_unknown_caller_are_told_apart() {
        let directory = DemoDirectory::builtin();
        let argument = find_employee(&directory, &call(None, false), Some("9999"))
            .await
            .unwrap_err();
        assert!(
            argument.to_string().starts_with("No employee"),
            "{argument}"
        );
        let caller = find_employee(&directory, &call(Some("9999"), false), None)
            .await
            .unwrap_err();
        assert!(
            caller.to_string().contains("authenticated user"),
            "{caller}"
        );
    }
}
