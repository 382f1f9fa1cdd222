//! EMAIL: `{"email_address": "alice@example.com"}`.

use lettre::Address;
use serde_json::Value;

use super::{ConfigProblem, fields};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// The recipient.
    pub email_address: Address,
}

impl EmailConfig {
    pub(crate) fn from_json(config: &Value) -> Result<Self, ConfigProblem> {
        let object = fields::object(config, "config")?;
        let address = fields::required_str(object, "email_address", "email_address")?;
        // lettre's parser is the one the transport uses: what passes here is
        // what it can send to. It takes a bare address, never a display name.
        let email_address = address.trim().parse::<Address>().map_err(|_| {
            ConfigProblem::new("email_address", "not an email address (user@domain)")
        })?;
        Ok(Self { email_address })
    }
}
