//! What the mcp-snow tests share: the tools and the steps of a session.

#![allow(dead_code)] // each test file uses its own subset

use serde_json::{Value, json};
use test_support::mcp::call;

pub const OPEN: &str = "open_laptop_refresh_ticket";
pub const LIST: &str = "get_laptop_refresh_tickets";

/// Lines of the answer to Alice's first [`open_ticket`]`("Dell Latitude
/// 7450")`, whichever the backend (each adds lines of its own).
pub const ALICES_FIRST_TICKET: &[&str] = &[
    "Ticket Number: REQ0010001",
    "Employee: Alice Johnson (ID: 1001)",
    "Status: Open",
    "Preferred Model: Dell Latitude 7450",
];

/// How [`list_tickets`] names that ticket.
pub const ALICES_FIRST_TICKET_LISTED: &str = "REQ0010001: Dell Latitude 7450, status Open";

/// The arguments of a laptop refresh order for Alice Johnson.
pub fn order(model: &str) -> Value {
    json!({
        "employee_name": "Alice Johnson",
        "business_justification": "The laptop is over five years old and out of warranty.",
        "preferred_model": model,
    })
}

/// The step that opens a ticket for [`order`]`(model)`.
pub fn open_ticket(model: &str) -> Value {
    call(OPEN, order(model))
}

/// The step that lists the user's tickets.
pub fn list_tickets() -> Value {
    call(LIST, json!({}))
}
