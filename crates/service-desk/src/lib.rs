//! The records the MCP servers' tools work on: employees and the laptop
//! each one has ([`EmployeeDirectory`]), and laptop refresh requests
//! ([`TicketDesk`], with the request rules in [`LaptopRefresh`]).
//!
//! Two backends: [`demo`] (employees from a data file, requests kept in
//! memory; the default, so a fresh install works) and [`servicenow`] (a
//! real instance, through its Table and Service Catalog APIs; what is
//! relied on is written up in `docs/mcp-servers.md`). [`Backend`] picks one
//! from the settings. Knows nothing of MCP or HTTP serving.

mod backend;
pub mod demo;
mod error;
mod model;
mod refresh;
pub mod servicenow;
mod settings;

pub use backend::Backend;
pub use error::DeskError;
pub use model::{Employee, Laptop, LaptopOrder, RefreshRequest, WarrantyStatus, age_text};
pub use refresh::{LaptopRefresh, Opened, RefreshPolicy};
pub use settings::{BackendSettings, ServiceNowAuth, ServiceNowSettings};

use async_trait::async_trait;

/// Finds employees by id or email.
#[async_trait]
pub trait EmployeeDirectory: Send + Sync {
    /// `key` is an employee id or an email (case-blind); `None` when no
    /// employee has it.
    async fn find(&self, key: &str) -> Result<Option<Employee>, DeskError>;
}

/// Where laptop refresh requests are opened and listed.
#[async_trait]
pub trait TicketDesk: Send + Sync {
    /// The employee's open laptop refresh requests, oldest first.
    async fn open_requests(&self, employee: &Employee) -> Result<Vec<RefreshRequest>, DeskError>;

    /// Opens a request (no checks: [`LaptopRefresh`] makes them).
    async fn order(
        &self,
        employee: &Employee,
        order: &LaptopOrder,
    ) -> Result<RefreshRequest, DeskError>;
}
