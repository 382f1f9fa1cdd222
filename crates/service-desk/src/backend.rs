//! Choosing the backend: ServiceNow when `SERVICENOW_INSTANCE_URL` is set,
//! else the demo.

use std::sync::Arc;

use app_support::ConfigError;

use crate::demo::{DemoDesk, DemoDirectory};
use crate::servicenow::{ServiceNowClient, ServiceNowDesk, ServiceNowDirectory};
use crate::{BackendSettings, EmployeeDirectory, TicketDesk};

pub struct Backend {
    /// `"demo"` or `"servicenow"`, as `/health` reports it.
    pub name: &'static str,
    pub directory: Arc<dyn EmployeeDirectory>,
    servicenow: Option<(Arc<ServiceNowClient>, Option<String>)>,
}

impl Backend {
    pub fn from_settings(settings: &BackendSettings) -> Result<Self, ConfigError> {
        match &settings.servicenow {
            Some(servicenow) => {
                let client = Arc::new(ServiceNowClient::new(servicenow).map_err(|error| {
                    ConfigError::new(format!("SERVICENOW_INSTANCE_URL: {error}"))
                })?);
                tracing::info!(auth = ?servicenow.auth, "backend: ServiceNow");
                Ok(Self {
                    name: "servicenow",
                    directory: Arc::new(ServiceNowDirectory::new(Arc::clone(&client))),
                    servicenow: Some((client, servicenow.laptop_refresh_id.clone())),
                })
            }
            None => {
                let directory = match &settings.employee_data_file {
                    Some(path) => DemoDirectory::load(path).map_err(|error| {
                        ConfigError::new(format!("EMPLOYEE_DATA_FILE: {error}"))
                    })?,
                    None => DemoDirectory::builtin(),
                };
                tracing::info!(
                    employees = directory.len(),
                    data = %settings
                        .employee_data_file
                        .as_ref()
                        .map_or_else(|| "the compiled-in sample".to_owned(), |path| path.display().to_string()),
                    "backend: demo (SERVICENOW_INSTANCE_URL is not set): employees from the data file, tickets in memory"
                );
                Ok(Self {
                    name: "demo",
                    directory: Arc::new(directory),
                    servicenow: None,
                })
            }
        }
    }

    /// Where laptop refresh requests go: ServiceNow needs the catalog item.
    pub fn ticket_desk(&self) -> Result<Arc<dyn TicketDesk>, ConfigError> {
        match &self.servicenow {
            None => Ok(Arc::new(DemoDesk::default())),
            Some((client, Some(item))) => Ok(Arc::new(ServiceNowDesk::new(
                Arc::clone(client),
                item.clone(),
            ))),
            Some((_, None)) => Err(ConfigError::new(
                "SERVICENOW_LAPTOP_REFRESH_ID: required with SERVICENOW_INSTANCE_URL \
                 (the sys_id of the laptop refresh catalog item)",
            )),
        }
    }
}
