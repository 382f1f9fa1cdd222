//! An encrypted credential an integration channel needs.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::IntegrationType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "integration_credentials")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub integration_type: IntegrationType,
    pub credential_name: String,
    /// Stored encrypted by the writer; never logged.
    #[sea_orm(column_type = "Text")]
    #[serde(skip_serializing)]
    pub encrypted_value: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
