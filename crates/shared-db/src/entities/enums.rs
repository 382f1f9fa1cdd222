//! The three PostgreSQL enum types of the schema, labels in database order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Channel a request came through (`integrationtype`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "integrationtype")]
#[serde(rename_all = "UPPERCASE")]
pub enum IntegrationType {
    #[sea_orm(string_value = "SLACK")]
    Slack,
    #[sea_orm(string_value = "WEB")]
    Web,
    #[sea_orm(string_value = "CLI")]
    Cli,
    #[sea_orm(string_value = "TOOL")]
    Tool,
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "SMS")]
    Sms,
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
    #[sea_orm(string_value = "TEAMS")]
    Teams,
    #[sea_orm(string_value = "DISCORD")]
    Discord,
    #[sea_orm(string_value = "TEST")]
    Test,
}

impl IntegrationType {
    /// The label, as in the database enum (`EMAIL`).
    pub fn label(self) -> &'static str {
        match self {
            IntegrationType::Slack => "SLACK",
            IntegrationType::Web => "WEB",
            IntegrationType::Cli => "CLI",
            IntegrationType::Tool => "TOOL",
            IntegrationType::Email => "EMAIL",
            IntegrationType::Sms => "SMS",
            IntegrationType::Webhook => "WEBHOOK",
            IntegrationType::Teams => "TEAMS",
            IntegrationType::Discord => "DISCORD",
            IntegrationType::Test => "TEST",
        }
    }
}

impl std::fmt::Display for IntegrationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Life cycle of a request session (`sessionstatus`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "sessionstatus")]
#[serde(rename_all = "UPPERCASE")]
pub enum SessionStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "INACTIVE")]
    Inactive,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    #[sea_orm(string_value = "ARCHIVED")]
    Archived,
}

/// State of a notification delivery (`deliverystatus`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "deliverystatus")]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "RETRYING")]
    Retrying,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}
