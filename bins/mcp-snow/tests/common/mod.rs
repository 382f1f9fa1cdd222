//! What the mcp-snow tests share: the tools and the steps of a session.

#![allow(dead_code)] // each test file uses its own subset

use serde_json::{Value, json};
use test_support::mcp::call;

pub const OPEN: &str = "open_laptop_refresh_ticket";
pub const LIST: &str = "get_laptop_refresh_tickets";

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
