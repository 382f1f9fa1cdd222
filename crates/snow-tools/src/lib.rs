//! The snow MCP server: opens and lists laptop refresh requests in the
//! ticket desk of [`service_desk`] (ServiceNow, or the demo's memory), for
//! the authenticated user (the employee is found as the employee-info
//! server finds them: [`employee_info_tools::find_employee`]).

use std::sync::Arc;

use app_support::Fatal;
use employee_info_tools::{desk_error, find_employee};
use mcp_support::{
    Health, OptionalText, RequiredText, ServerSettings, Tool, ToolCall, ToolError, ToolSet,
    parse_arguments, tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use service_desk::{
    Backend, BackendSettings, Employee, EmployeeDirectory, LaptopOrder, LaptopRefresh, Opened,
    RefreshRequest,
};

pub const SERVER_NAME: &str = "mcp-snow";
pub const OPEN_LAPTOP_REFRESH_TICKET: &str = "open_laptop_refresh_ticket";
pub const GET_LAPTOP_REFRESH_TICKETS: &str = "get_laptop_refresh_tickets";

/// Arguments of `open_laptop_refresh_ticket`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct OpenTicketArguments {
    /// Optional: leave empty to act for the authenticated user. The employee id (e.g. '1001') or email address. Naming anyone other than the authenticated user is refused, unless the server runs in help-desk mode.
    #[serde(default)]
    pub employee_id: OptionalText,
    /// The employee's full name, as the employee information gives it (the ticket carries the name the employee directory has).
    pub employee_name: RequiredText,
    /// Why the employee needs a new laptop, e.g. 'the laptop is 5 years old and out of warranty'.
    pub business_justification: RequiredText,
    /// The laptop model the employee chose from their region's catalogue, e.g. 'Apple MacBook Air 13"'.
    pub preferred_model: RequiredText,
}

/// Arguments of `get_laptop_refresh_tickets`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTicketsArguments {
    /// Optional: leave empty to act for the authenticated user. The employee id (e.g. '1001') or email address. Naming anyone other than the authenticated user is refused, unless the server runs in help-desk mode.
    #[serde(default)]
    pub employee_id: OptionalText,
}

pub struct Snow {
    directory: Arc<dyn EmployeeDirectory>,
    refresh: LaptopRefresh,
}

impl Snow {
    pub fn new(directory: Arc<dyn EmployeeDirectory>, refresh: LaptopRefresh) -> Self {
        Self { directory, refresh }
    }

    async fn open_ticket(&self, call: ToolCall) -> Result<String, ToolError> {
        let arguments: OpenTicketArguments =
            parse_arguments(OPEN_LAPTOP_REFRESH_TICKET, call.arguments.clone())?;
        let employee = find_employee(
            self.directory.as_ref(),
            &call,
            arguments.employee_id.as_deref(),
        )
        .await?;
        let order = LaptopOrder {
            preferred_model: arguments.preferred_model.0,
            business_justification: arguments.business_justification.0,
        };
        let opened = self
            .refresh
            .open(&employee, &order)
            .await
            .map_err(desk_error)?;
        Ok(match opened {
            Opened::New(request) => {
                tracing::info!(employee = %employee.id, number = %request.number, "laptop refresh ticket opened");
                ticket_text(
                    "ServiceNow Ticket Created Successfully!",
                    &employee,
                    &request,
                )
            }
            Opened::Existing(request) => ticket_text(
                "An open laptop refresh ticket for this model already exists; no new ticket was opened.",
                &employee,
                &request,
            ),
        })
    }

    async fn list_tickets(&self, call: ToolCall) -> Result<String, ToolError> {
        let arguments: ListTicketsArguments =
            parse_arguments(GET_LAPTOP_REFRESH_TICKETS, call.arguments.clone())?;
        let employee = find_employee(
            self.directory.as_ref(),
            &call,
            arguments.employee_id.as_deref(),
        )
        .await?;
        let requests = self
            .refresh
            .desk()
            .open_requests(&employee)
            .await
            .map_err(desk_error)?;
        if requests.is_empty() {
            return Ok(format!(
                "{} ({}) has no open laptop refresh tickets.",
                employee.name, employee.id
            ));
        }
        let mut lines = vec![format!(
            "Open laptop refresh tickets for {} ({}): {}",
            employee.name,
            employee.id,
            requests.len()
        )];
        lines.extend(requests.iter().map(|request| {
            format!(
                "- {}: {}, status {}, opened {}",
                request.number,
                or_unknown(Some(&request.preferred_model).filter(|m| !m.is_empty())),
                request.status,
                or_unknown(request.created.as_ref())
            )
        }));
        Ok(lines.join("\n"))
    }
}

impl ToolSet for Snow {
    fn server_name(&self) -> &'static str {
        SERVER_NAME
    }

    fn tools(&self) -> Vec<Tool> {
        vec![
            tool::<OpenTicketArguments>(
                OPEN_LAPTOP_REFRESH_TICKET,
                "Open a laptop refresh ticket (a ServiceNow catalog request) for the \
                 authenticated employee, for the laptop model they chose. Answers the ticket \
                 number, status, priority, preferred model, justification, created and expected \
                 completion dates and the assigned group. Calling it again with the same model \
                 answers the ticket already opened instead of opening a second one.",
                false,
            ),
            tool::<ListTicketsArguments>(
                GET_LAPTOP_REFRESH_TICKETS,
                "List the employee's open laptop refresh tickets with their number, model and \
                 status. Without employee_id it answers for the authenticated user.",
                true,
            ),
        ]
    }

    async fn call(&self, name: &str, call: ToolCall) -> Option<Result<String, ToolError>> {
        match name {
            OPEN_LAPTOP_REFRESH_TICKET => Some(self.open_ticket(call).await),
            GET_LAPTOP_REFRESH_TICKETS => Some(self.list_tickets(call).await),
            _ => None,
        }
    }
}

fn or_unknown(value: Option<&String>) -> &str {
    value.map_or("not set", String::as_str)
}

/// The ticket, line by line as the Python server wrote it.
fn ticket_text(headline: &str, employee: &Employee, request: &RefreshRequest) -> String {
    [
        headline.to_owned(),
        String::new(),
        format!("Ticket Number: {}", request.number),
        format!("Employee: {} (ID: {})", employee.name, employee.id),
        "Request Type: Laptop Refresh".to_owned(),
        format!("Status: {}", request.status),
        format!("Priority: {}", or_unknown(request.priority.as_ref())),
        format!("Preferred Model: {}", request.preferred_model),
        format!(
            "Business Justification: {}",
            or_unknown(request.business_justification.as_ref())
        ),
        format!("Created Date: {}", or_unknown(request.created.as_ref())),
        format!(
            "Expected Completion: {}",
            or_unknown(request.expected_completion.as_ref())
        ),
        format!(
            "Assigned Group: {}",
            or_unknown(request.assigned_group.as_ref())
        ),
    ]
    .join("\n")
}

/// The server: settings from the environment, the backend they choose,
/// served until SIGTERM.
pub async fn run() -> Result<(), Fatal> {
    let (settings, backend_settings) =
        mcp_support::both(ServerSettings::from_env(), BackendSettings::from_env())?;
    let backend = Backend::from_settings(&backend_settings)?;
    let refresh = LaptopRefresh::new(backend.ticket_desk()?, backend_settings.refresh);
    let tools = Arc::new(Snow::new(Arc::clone(&backend.directory), refresh));
    let health = Health::default()
        .with("server", SERVER_NAME)
        .with("backend", backend.name);
    mcp_support::serve(settings, tools, health).await
}
